// Reads screening answers from Observations: a panel (an Observation with hasMember, or coded with an
// instrument's LOINC panel code) and answer Observations (LOINC question code, answer as valueCodeableConcept
// or another value). An Observation with an id is taken to be stored on this server: findings point to it
// instead of copying it. One without an id is new data; a screening response is made from it.
import type { Coding, Observation } from 'fhir/r4';
import { digest, sourceKeyOf } from './finding-identifiers.ts';
import { LOINC } from './sdoh-codes.ts';
import type { AnswerValue, ScreeningAnswer } from './screening-answer.ts';
import { information, warning, type ScreeningIssue } from './screening-issue.ts';
import { SCREENING_INSTRUMENTS } from './screening-instruments.ts';

export interface ScreeningObservation {
  resource: Observation;
  /** The entry's fullUrl when it came in a Bundle (hasMember may point to it). */
  fullUrl?: string;
  /** Where it came from, e.g. `Bundle.entry[2].resource`. */
  expression: string;
}

export interface ObservationAnswers {
  answers: ScreeningAnswer[];
  panels: ScreeningObservation[];
  issues: ScreeningIssue[];
}

const USABLE_STATUS = new Set(['final', 'amended', 'corrected']);
const PANEL_CODES = new Set(SCREENING_INSTRUMENTS.map((instrument) => instrument.panel.code));

export const loincCode = (codings: Coding[] | undefined): string | undefined =>
  codings?.find((coding) => coding?.system === LOINC && typeof coding.code === 'string')?.code;

export function effectiveOf(observation: Observation): string | undefined {
  return observation.effectiveDateTime ?? observation.effectivePeriod?.start ?? observation.effectiveInstant ?? observation.issued;
}

export const isPanel = (observation: Observation): boolean =>
  Boolean(observation.hasMember?.length) || PANEL_CODES.has(loincCode(observation.code?.coding) ?? '');

function observationValue(observation: Observation, question: string, expression: string): AnswerValue | ScreeningIssue {
  if (observation.valueCodeableConcept) {
    const coding = observation.valueCodeableConcept.coding?.find((c) => c?.system === LOINC && c.code);
    if (coding) return { kind: 'coding', coding };
    return warning('code-invalid', `The answer to ${question} has no LOINC answer code: ignored`, `${expression}.valueCodeableConcept`);
  }
  if (observation.valueQuantity) return { kind: 'value', element: 'valueQuantity', value: observation.valueQuantity };
  if (observation.valueInteger !== undefined) return { kind: 'value', element: 'valueInteger', value: observation.valueInteger };
  if (observation.valueString !== undefined) return { kind: 'value', element: 'valueString', value: observation.valueString };
  if (observation.valueBoolean !== undefined) return { kind: 'value', element: 'valueBoolean', value: observation.valueBoolean };
  if (observation.valueDateTime !== undefined) return { kind: 'value', element: 'valueDateTime', value: observation.valueDateTime };
  if (observation.valueTime !== undefined) return { kind: 'value', element: 'valueTime', value: observation.valueTime };
  const other = Object.keys(observation).find((key) => key.startsWith('value'));
  if (other) return warning('not-supported', `The answer to ${question} is a ${other}: ignored`, expression);
  return information('incomplete', `Question ${question} has no answer${observation.dataAbsentReason ? ' (dataAbsentReason)' : ''}: no finding`, expression);
}

export function observationAnswers(observations: ScreeningObservation[]): ObservationAnswers {
  const result: ObservationAnswers = { answers: [], panels: [], issues: [] };
  for (const input of observations) {
    const { resource: observation, expression } = input;
    if (!USABLE_STATUS.has(observation.status)) {
      const diagnostics = `Observation with status '${observation.status}' is not a completed screening response: ignored`;
      result.issues.push(warning('business-rule', diagnostics, `${expression}.status`));
      continue;
    }
    if (isPanel(observation)) {
      result.panels.push(input);
      continue;
    }
    const question = loincCode(observation.code?.coding);
    if (!question) {
      result.issues.push(warning('not-supported', 'Observation has no LOINC code: ignored', `${expression}.code`));
      continue;
    }
    const effective = effectiveOf(observation);
    if (!effective) {
      result.issues.push(warning('required', `The answer to ${question} has no effective date: ignored`, `${expression}.effective[x]`));
      continue;
    }
    const value = observationValue(observation, question, expression);
    if ('severity' in value) {
      result.issues.push(value);
      continue;
    }
    const storedReference = observation.id ? `Observation/${observation.id}` : undefined;
    const sourceKey =
      sourceKeyOf(observation.identifier?.[0], storedReference) ??
      `content:${digest({ subject: observation.subject?.reference, effective, question, value })}`;
    result.answers.push({
      question,
      value,
      expression,
      effective,
      ...(observation.performer?.length ? { performer: observation.performer } : {}),
      sourceKey,
      ...(storedReference ? { storedReference } : { observation }),
    });
  }
  return result;
}
