// Builders for screening inputs (QuestionnaireResponses, answer and panel Observations) and readers for the
// findings, shared by the SDOH tests. Inputs are written from the instruments' LOINC codes, not copied from
// anywhere: the repository needs nothing beside it.
import type { Condition, Observation, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from 'fhir/r4';
import type { ScreeningFindings } from '../../src/sdoh/screening-findings.ts';
import { TerminologyService } from '../../src/terminology/terminology-service.ts';

export const terminology = TerminologyService.load();

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
export const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
export const FINDING = 'urn:cch:sdoh-finding';
export const HVS_QUESTIONNAIRE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnaireHungerVitalSign';
export const PRAPARE_QUESTIONNAIRE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnairePRAPARE';
export const AHC_QUESTIONNAIRE = 'http://loinc.org/q/96777-8';

/** A date in FY2026 (every current code billable). */
export const AUTHORED = '2026-01-15T10:30:00Z';

export type Given = string | number | QuestionnaireResponseItemAnswer;

const toAnswer = (given: Given): QuestionnaireResponseItemAnswer =>
  typeof given === 'string' ? { valueCoding: { system: LOINC, code: given } } : typeof given === 'number' ? { valueInteger: given } : given;

/** `[question, ...answers]`; no answers: an unanswered item. */
export type ItemSpec = [string, ...Given[]];

export function item([question, ...answers]: ItemSpec, linkPrefix = ''): QuestionnaireResponseItem {
  return { linkId: `${linkPrefix}/${question}`, ...(answers.length ? { answer: answers.map(toAnswer) } : {}) };
}

export interface QrOptions {
  id?: string;
  identifier?: QuestionnaireResponse['identifier'];
  questionnaire?: string;
  status?: QuestionnaireResponse['status'];
  subject?: string | null;
  authored?: string | null;
}

export function questionnaireResponse(items: Array<ItemSpec | QuestionnaireResponseItem>, options: QrOptions = {}): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    ...(options.id ? { id: options.id } : {}),
    ...(options.identifier ? { identifier: options.identifier } : {}),
    ...(options.questionnaire !== undefined ? { questionnaire: options.questionnaire } : {}),
    status: options.status ?? 'completed',
    ...(options.subject === null ? {} : { subject: { reference: options.subject ?? 'Patient/pat-1' } }),
    ...(options.authored === null ? {} : { authored: options.authored ?? AUTHORED }),
    source: { reference: options.subject ?? 'Patient/pat-1' },
    item: items.map((spec) => (Array.isArray(spec) ? item(spec) : spec)),
  };
}

export const hvs = (items: ItemSpec[], options: QrOptions = {}) => questionnaireResponse(items, { questionnaire: HVS_QUESTIONNAIRE, id: 'hvs-1', ...options });
export const ahc = (items: ItemSpec[], options: QrOptions = {}) => questionnaireResponse(items, { questionnaire: AHC_QUESTIONNAIRE, id: 'ahc-1', ...options });
export const prapare = (items: ItemSpec[], options: QrOptions = {}) =>
  questionnaireResponse(items, { questionnaire: PRAPARE_QUESTIONNAIRE, id: 'prapare-1', ...options });

export interface ObservationOptions {
  id?: string;
  identifier?: string;
  effective?: string;
  subject?: string;
  status?: Observation['status'];
}

/** An answer Observation: LOINC question, LOINC answer code (string) or integer score. */
export function answerObservation(question: string, answer: string | number, options: ObservationOptions = {}): Observation {
  return {
    resourceType: 'Observation',
    ...(options.id ? { id: options.id } : {}),
    ...(options.identifier ? { identifier: [{ system: 'http://clinic.example.org/obs', value: options.identifier }] } : {}),
    status: options.status ?? 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
    code: { coding: [{ system: LOINC, code: question }] },
    subject: { reference: options.subject ?? 'Patient/pat-1' },
    effectiveDateTime: options.effective ?? AUTHORED,
    ...(typeof answer === 'string' ? { valueCodeableConcept: { coding: [{ system: LOINC, code: answer }] } } : { valueInteger: answer }),
  };
}

export function panelObservation(panel: string, members: string[], options: ObservationOptions = {}): Observation {
  return {
    resourceType: 'Observation',
    ...(options.id ? { id: options.id } : {}),
    status: options.status ?? 'final',
    code: { coding: [{ system: LOINC, code: panel }] },
    subject: { reference: options.subject ?? 'Patient/pat-1' },
    effectiveDateTime: options.effective ?? AUTHORED,
    hasMember: members.map((reference) => ({ reference })),
  };
}

// ------------------------------------------------------------------ reading findings

export const responses = (findings: ScreeningFindings): Observation[] =>
  findings.entries.map((e) => e.resource).filter((r): r is Observation => r.resourceType === 'Observation');

export const conditions = (findings: ScreeningFindings): Condition[] =>
  findings.entries.map((e) => e.resource).filter((r): r is Condition => r.resourceType === 'Condition');

/** The screening responses to one question. */
export const responsesTo = (findings: ScreeningFindings, question: string): Observation[] =>
  responses(findings).filter((o) => o.code.coding?.[0].code === question);

export const answerOf = (observation: Observation): string | undefined => observation.valueCodeableConcept?.coding?.[0].code;

/** `system|code` of every coding of a Condition. */
export const conditionCodes = (condition: Condition): string[] => (condition.code?.coding ?? []).map((c) => `${c.system}|${c.code}`);

export const icdOf = (condition: Condition): string[] => (condition.code?.coding ?? []).filter((c) => c.system === ICD).map((c) => c.code!);
export const snomedOf = (condition: Condition): string[] => (condition.code?.coding ?? []).filter((c) => c.system === SNOMED).map((c) => c.code!);

/** The SDOHCC domain codes of a resource's categories. */
export const domainsOf = (resource: Observation | Condition): string[] =>
  (resource.category ?? []).flatMap((c) => c.coding ?? []).filter((c) => c.system === SDOHCC).map((c) => c.code!);

export const conditionFor = (findings: ScreeningFindings, domain: string): Condition[] => conditions(findings).filter((c) => domainsOf(c).includes(domain));

export const issuesWith = (findings: ScreeningFindings, code: string) => findings.issues.filter((issue) => issue.code === code);

export const isPositive = (observation: Observation): boolean => observation.interpretation?.some((i) => i.coding?.some((c) => c.code === 'POS')) ?? false;

/** The fullUrl of the entry holding `resource`. */
export const fullUrlOf = (findings: ScreeningFindings, resource: Observation | Condition): string => findings.entries.find((e) => e.resource === resource)!.fullUrl;

export const evidenceOf = (condition: Condition): string[] => (condition.evidence ?? []).flatMap((e) => e.detail ?? []).map((d) => d.reference!);
