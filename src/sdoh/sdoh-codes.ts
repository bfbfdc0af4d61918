// Code systems, fixed codings and profile URLs of screening findings (HL7 SDOH Clinical Care IG STU 3.0.0,
// US Core 7.0.0). The shapes follow the IG's examples: Observation-SDOHCC-ObservationResponse*Example and
// Condition-SDOHCC-Condition*Example.
import type { CodeableConcept, Coding } from 'fhir/r4';

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const ICD_10_CM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const SDOHCC_CODES = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
export const UCUM = 'http://unitsofmeasure.org';

export const SDOHCC_BASE = 'http://hl7.org/fhir/us/sdoh-clinicalcare';
export const OSR_PROFILE = `${SDOHCC_BASE}/StructureDefinition/SDOHCC-ObservationScreeningResponse`;
export const CONDITION_PROFILE = `${SDOHCC_BASE}/StructureDefinition/SDOHCC-Condition`;

/** Identifier system of every resource this module derives, so a second run finds the first one's resources. */
export const FINDING_IDENTIFIER_SYSTEM = 'urn:cch:sdoh-finding';

/** The hub's concept maps (terminology/), read through the TerminologyService. */
const HUB = 'http://cch-fhir-server.example.org/fhir';
export const ANSWER_TO_CATEGORY_MAP = `${HUB}/ConceptMap/hub-screening-answer-to-sdoh-category`;
export const ANSWER_TO_CONDITION_MAP = `${HUB}/ConceptMap/hub-screening-answer-to-condition`;
export const CATEGORY_TO_CONDITION_MAP = `${HUB}/ConceptMap/hub-sdoh-category-to-condition`;
export const HEADER_TO_BILLABLE_MAP = `${HUB}/ConceptMap/hub-icd-10-cm-header-to-billable`;

/** The SDOHCC domain for a question that belongs to none (IG PRAPARE StructureMap). */
export const UNSPECIFIED_CATEGORY = 'sdoh-category-unspecified';

const concept = (coding: Coding): CodeableConcept => ({ coding: [coding] });

export const SURVEY_CATEGORY = concept({ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey', display: 'Survey' });
export const SOCIAL_HISTORY_CATEGORY = concept({
  system: 'http://terminology.hl7.org/CodeSystem/observation-category',
  code: 'social-history',
  display: 'Social History',
});
/** Required by SDOH-Obs-4 (Observation) and SDOH-Con-3 (Condition). */
export const SDOH_CATEGORY = concept({ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category', code: 'sdoh', display: 'SDOH' });
/** Screening-derived Conditions are health concerns until the care team reviews them (SDOH-Con-2). */
export const HEALTH_CONCERN_CATEGORY = concept({
  system: 'http://hl7.org/fhir/us/core/CodeSystem/condition-category',
  code: 'health-concern',
  display: 'Health Concern',
});

export const CLINICAL_STATUS_ACTIVE = concept({
  system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  code: 'active',
  display: 'Active',
});
export const VERIFICATION_UNCONFIRMED = concept({
  system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  code: 'unconfirmed',
  display: 'Unconfirmed',
});
/** The IG flags answers that indicate a possible need with POS, and never uses NEG. */
export const POSITIVE_INTERPRETATION = concept({
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  code: 'POS',
  display: 'Positive',
});

/**
 * LOINC answers that decline the question: a coded response that says nothing about a need.
 * LA30122-8 "I choose not to answer this question" (PRAPARE), LA15775-2 "Don't know/refused" (HVS).
 */
export const DECLINED_ANSWERS: ReadonlySet<string> = new Set(['LA30122-8', 'LA15775-2']);

/** A LOINC code (question, panel or answer list item). */
export const isLoincQuestionCode = (code: string): boolean => /^\d{1,7}-\d$/.test(code);

export const sdohCategory = (code: string, display?: string): CodeableConcept =>
  concept({ system: SDOHCC_CODES, code, ...(display ? { display } : {}) });
