// Reads the answers of a QuestionnaireResponse. Items are linked to LOINC question codes by their linkId (the
// last path segment: `/93042-0/71802-3` → 71802-3, as the IG's Questionnaires do), by `definition` ending in a
// LOINC code, or by a `code` Coding list some form fillers copy from the Questionnaire onto the item. Groups
// (panels, PRAPARE sections) are walked; nested answer items too.
import type { Coding, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from 'fhir/r4';
import { isLoincQuestionCode, LOINC } from './sdoh-codes.ts';
import type { AnswerValue } from './screening-answer.ts';
import { information, warning, type ScreeningIssue } from './screening-issue.ts';

export interface ItemAnswer {
  question: string;
  value: AnswerValue;
  expression: string;
}

export interface QuestionnaireResponseAnswers {
  answers: ItemAnswer[];
  /** LOINC codes of items that group others (a panel code here names the instrument). */
  groupCodes: string[];
  issues: ScreeningIssue[];
}

const lastSegment = (text: string): string => text.split(/[/#]/).filter(Boolean).pop() ?? '';

/** The LOINC code an item stands for, if it names one. */
export function itemQuestionCode(item: QuestionnaireResponseItem): string | undefined {
  const coded = (item as { code?: Coding[] }).code;
  if (Array.isArray(coded)) {
    const loinc = coded.find((coding) => coding?.system === LOINC && typeof coding.code === 'string');
    if (loinc?.code) return loinc.code;
  }
  const fromLinkId = typeof item.linkId === 'string' ? lastSegment(item.linkId) : '';
  if (isLoincQuestionCode(fromLinkId)) return fromLinkId;
  const fromDefinition = typeof item.definition === 'string' ? /(\d{1,7}-\d)$/.exec(item.definition)?.[1] : undefined;
  return fromDefinition;
}

function answerValue(answer: QuestionnaireResponseItemAnswer): AnswerValue | string {
  if (answer.valueCoding) return { kind: 'coding', coding: answer.valueCoding };
  if (answer.valueInteger !== undefined) return { kind: 'value', element: 'valueInteger', value: answer.valueInteger };
  if (answer.valueDecimal !== undefined) return { kind: 'value', element: 'valueQuantity', value: { value: answer.valueDecimal } };
  if (answer.valueQuantity) return { kind: 'value', element: 'valueQuantity', value: answer.valueQuantity };
  if (answer.valueString !== undefined) return { kind: 'value', element: 'valueString', value: answer.valueString };
  if (answer.valueBoolean !== undefined) return { kind: 'value', element: 'valueBoolean', value: answer.valueBoolean };
  if (answer.valueDate !== undefined) return { kind: 'value', element: 'valueDateTime', value: answer.valueDate };
  if (answer.valueDateTime !== undefined) return { kind: 'value', element: 'valueDateTime', value: answer.valueDateTime };
  if (answer.valueTime !== undefined) return { kind: 'value', element: 'valueTime', value: answer.valueTime };
  const element = Object.keys(answer).find((key) => key.startsWith('value'));
  return element ?? 'no value';
}

export function questionnaireResponseAnswers(response: QuestionnaireResponse): QuestionnaireResponseAnswers {
  const result: QuestionnaireResponseAnswers = { answers: [], groupCodes: [], issues: [] };
  const walk = (items: QuestionnaireResponseItem[] | undefined, at: string) => {
    (items ?? []).forEach((item, index) => {
      const path = `${at}.item[${index}]`;
      const code = itemQuestionCode(item);
      const answers = item.answer ?? [];
      if (answers.length === 0) {
        if (item.item?.length) {
          if (code) result.groupCodes.push(code);
          walk(item.item, path);
        } else if (code) {
          result.issues.push(information('incomplete', `Question ${code} is not answered: no finding`, path));
        }
        return;
      }
      answers.forEach((answer, answerIndex) => {
        const expression = `${path}.answer[${answerIndex}]`;
        const value = answerValue(answer);
        if (!code) {
          result.issues.push(warning('not-supported', `Item '${item.linkId}' names no LOINC question (linkId, definition or code): ignored`, expression));
        } else if (typeof value === 'string') {
          result.issues.push(warning('not-supported', `Answer to ${code} has an unsupported ${value}: ignored`, expression));
        } else {
          result.answers.push({ question: code, value, expression });
        }
        walk(answer.item, expression);
      });
      walk(item.item, path);
    });
  };
  walk(response.item, 'QuestionnaireResponse');
  return result;
}
