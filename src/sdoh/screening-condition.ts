// Builds an SDOHCC Condition from positive screening answers. Derived from a screening, it is an unconfirmed
// health concern (clinicalStatus active, verificationStatus unconfirmed, category health-concern + sdoh + the
// SDOHCC domain) until the care team reviews it; code = SNOMED CT + billable ICD-10-CM Z code; evidence.detail
// points to the screening responses; onset and recordedDate are the screening date.
import type { Coding, Condition, Identifier, Reference } from 'fhir/r4';
import {
  CLINICAL_STATUS_ACTIVE,
  CONDITION_PROFILE,
  HEALTH_CONCERN_CATEGORY,
  SDOH_CATEGORY,
  sdohCategory,
  VERIFICATION_UNCONFIRMED,
} from './sdoh-codes.ts';
import { reference } from './screening-response.ts';
import type { ScreeningTerminology } from './screening-terminology.ts';

export interface ScreeningConditionInput {
  identifier: Identifier;
  category: string;
  codings: Coding[];
  subject: Reference;
  /** The earliest screening date among the evidence. */
  onset: string;
  evidence: Reference[];
}

export function screeningCondition(input: ScreeningConditionInput, terminology: ScreeningTerminology): Condition {
  return {
    resourceType: 'Condition',
    meta: { profile: [CONDITION_PROFILE] },
    identifier: [input.identifier],
    clinicalStatus: CLINICAL_STATUS_ACTIVE,
    verificationStatus: VERIFICATION_UNCONFIRMED,
    category: [HEALTH_CONCERN_CATEGORY, SDOH_CATEGORY, sdohCategory(input.category, terminology.categoryDisplay(input.category))],
    code: { coding: input.codings },
    subject: reference(input.subject),
    onsetDateTime: input.onset,
    recordedDate: input.onset,
    evidence: [{ detail: input.evidence }],
  };
}
