// One answer to one screening question, whatever carried it (a QuestionnaireResponse item or an Observation),
// with the value already in the form an Observation records it.
import type { Coding, Observation, Quantity, Reference } from 'fhir/r4';
import { digest } from './finding-identifiers.ts';

export type ObservationValueElement = 'valueInteger' | 'valueQuantity' | 'valueString' | 'valueBoolean' | 'valueDateTime' | 'valueTime';

export type AnswerValue =
  | { kind: 'coding'; coding: Coding }
  | { kind: 'value'; element: ObservationValueElement; value: string | number | boolean | Quantity };

export interface ScreeningAnswer {
  /** LOINC question code. */
  question: string;
  value: AnswerValue;
  /** Where it was read, e.g. `QuestionnaireResponse.item[0].item[1].answer[0]`. */
  expression: string;
  effective: string;
  performer?: Reference[];
  /** Key of the source this answer's screening response is derived from (identifiers hash it). */
  sourceKey: string;
  /** The Observation already stored on this server that records this answer (no new one is made). */
  storedReference?: string;
  /** The inline Observation this answer came from, if any (its identifiers are kept on the new response). */
  observation?: Observation;
}

/** Identity of an answer within its question: the answer code, or a digest of any other value. */
export function answerKey(value: AnswerValue): string {
  return value.kind === 'coding' ? (value.coding.code ?? '') : `v${digest({ [value.element]: value.value }, 12)}`;
}

/** The date of service (YYYY-MM-DD) of a dateTime, when it has day precision. */
export function serviceDate(effective: string): string | undefined {
  const day = effective.slice(0, 10);
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(day)) ? day : undefined;
}

export function numericValue(value: AnswerValue): number | undefined {
  if (value.kind !== 'value') return undefined;
  if (typeof value.value === 'number') return value.value;
  if (typeof value.value === 'object' && typeof value.value.value === 'number') return value.value.value;
  return undefined;
}

export function describeValue(value: AnswerValue): string {
  if (value.kind === 'coding') return `${value.coding.code}${value.coding.display ? ` "${value.coding.display}"` : ''}`;
  return typeof value.value === 'object' ? `${value.value.value ?? ''} ${value.value.unit ?? ''}`.trim() : String(value.value);
}
