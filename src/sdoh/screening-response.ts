// Builds an SDOHCC Observation Screening Response: one answered question (code = LOINC question, value = the
// answer), or the grouping Observation of a screening (code = LOINC panel, hasMember = the answers). Categories:
// social-history and survey (observation-category), sdoh (us-core-category, SDOH-Obs-4) and the SDOHCC domain(s).
import type { CodeableConcept, Identifier, Observation, Reference } from 'fhir/r4';
import {
  LOINC,
  OSR_PROFILE,
  POSITIVE_INTERPRETATION,
  SDOH_CATEGORY,
  sdohCategory,
  SOCIAL_HISTORY_CATEGORY,
  SURVEY_CATEGORY,
} from './sdoh-codes.ts';
import type { AnswerValue } from './screening-answer.ts';
import type { ScreeningTerminology } from './screening-terminology.ts';

export interface ScreeningResponseInput {
  identifiers: Identifier[];
  code: string;
  display?: string;
  /** Absent for a grouping Observation. */
  value?: AnswerValue;
  /** SDOHCC domain codes, in order. */
  categories: string[];
  positive: boolean;
  subject: Reference;
  effective: string;
  performer?: Reference[];
  derivedFrom?: Reference[];
  hasMember?: Reference[];
}

/** A Reference with only the elements that are set. */
export function reference(from: Reference): Reference {
  return {
    ...(from.reference !== undefined ? { reference: from.reference } : {}),
    ...(from.type !== undefined ? { type: from.type } : {}),
    ...(from.identifier !== undefined ? { identifier: from.identifier } : {}),
    ...(from.display !== undefined ? { display: from.display } : {}),
  };
}

function valueElement(value: AnswerValue, terminology: ScreeningTerminology): Partial<Observation> {
  if (value.kind === 'coding') {
    const { code, display } = value.coding;
    const shown = display ?? terminology.loincDisplay(code!);
    const valueCodeableConcept: CodeableConcept = { coding: [{ system: LOINC, code, ...(shown ? { display: shown } : {}) }] };
    return { valueCodeableConcept };
  }
  return { [value.element]: value.value } as Partial<Observation>;
}

export function screeningResponse(input: ScreeningResponseInput, terminology: ScreeningTerminology): Observation {
  const display = input.display ?? terminology.loincDisplay(input.code);
  return {
    resourceType: 'Observation',
    meta: { profile: [OSR_PROFILE] },
    identifier: input.identifiers,
    status: 'final',
    category: [
      SOCIAL_HISTORY_CATEGORY,
      SURVEY_CATEGORY,
      SDOH_CATEGORY,
      ...input.categories.map((code) => sdohCategory(code, terminology.categoryDisplay(code))),
    ],
    code: { coding: [{ system: LOINC, code: input.code, ...(display ? { display } : {}) }] },
    subject: reference(input.subject),
    effectiveDateTime: input.effective,
    ...(input.performer?.length ? { performer: input.performer.map(reference) } : {}),
    ...(input.value ? valueElement(input.value, terminology) : {}),
    ...(input.positive ? { interpretation: [POSITIVE_INTERPRETATION] } : {}),
    ...(input.hasMember?.length ? { hasMember: input.hasMember } : {}),
    ...(input.derivedFrom?.length ? { derivedFrom: input.derivedFrom } : {}),
  };
}
