// A small hub with partners on every side of the policy, loaded by hub-admin:
//   cbo-a serves p1 (consented, with a Consent provision also naming cbo-b), p3 (no consent) and
//     p4 (referral completed 10 days ago; consent also releases ETH-labelled data to cbo-a);
//   cbo-b serves p2 and also has a referral for p1; the EHR (referral source) referred p1..p4; plan-1 covers p5 (opted out) and p6.
import type { TestServer } from '../helpers/test-server.ts';

export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

const SCOPE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const IDSCL = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IDSCL' }] }];
const OPT_OUT_CATEGORY = [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }];
const IRCP = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };
export const ETH = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'ETH' };
export const SOCIAL = { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'social-history' };
export const SURVEY = { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' };

export const permitFor = (...orgs: string[]) => ({
  type: 'deny',
  provision: orgs.map((org) => ({ type: 'permit', actor: [{ role: IRCP, reference: { reference: org } }] })),
});

export const consent = (id: string, patient: string, provision: object, extra: object = {}) => ({
  resourceType: 'Consent', id, status: 'active', scope: SCOPE, category: IDSCL, patient: { reference: `Patient/${patient}` },
  dateTime: '2026-01-01T00:00:00Z', organization: [{ reference: 'Organization/hub' }],
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] }, provision, ...extra,
});

export const optOut = (id: string, patient: string) => ({
  resourceType: 'Consent', id, status: 'active', scope: SCOPE, category: OPT_OUT_CATEGORY, patient: { reference: `Patient/${patient}` },
  dateTime: '2026-02-01T00:00:00Z', policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
  provision: { type: 'deny' },
});

export const patient = (id: string) => ({
  resourceType: 'Patient', id, identifier: [{ system: 'urn:ssn', value: `999-00-${id}` }], name: [{ family: `Family-${id}`, given: ['Pat'] }],
  birthDate: '1980-05-01', gender: 'female', telecom: [{ system: 'phone', value: '555-0100' }], maritalStatus: { text: 'married' },
});

export const observation = (id: string, subject: string, extra: object = {}) => ({
  resourceType: 'Observation', id, status: 'final', category: [{ coding: [SOCIAL] }],
  code: { coding: [{ system: 'http://loinc.org', code: '88122-7' }] }, subject: { reference: `Patient/${subject}` },
  effectiveDateTime: '2026-03-01T10:00:00Z', valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: 'LA28397-0' }] },
  note: [{ text: 'free text the CBO must not see' }], ...extra,
});

export const task = (id: string, subject: string, owner: string, requester: string, extra: object = {}) => ({
  resourceType: 'Task', id, status: 'in-progress', intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
  focus: { reference: `ServiceRequest/sr-${subject}` }, for: { reference: `Patient/${subject}` },
  authoredOn: '2026-03-01T10:00:00Z', requester: { reference: requester }, owner: { reference: owner }, ...extra,
});

/** A delivered service as a CBO records it (SDOHCC Procedure: category and code from SNOMED CT). */
export const mealDelivery = (subject: string) => ({
  resourceType: 'Procedure', status: 'completed', subject: { reference: `Patient/${subject}` }, performedDateTime: '2026-03-05',
  category: { coding: [{ system: 'http://snomed.info/sct', code: '410606002' }, { system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: 'food-insecurity' }] },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
});

const serviceRequest = (subject: string) => ({
  resourceType: 'ServiceRequest', id: `sr-${subject}`, status: 'active', intent: 'order', subject: { reference: `Patient/${subject}` },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] }, requester: { reference: 'Organization/ehr' },
  authoredOn: '2026-03-01', note: [{ text: 'clinical note' }],
});

const coverage = (id: string, beneficiary: string, start: string) => ({
  resourceType: 'Coverage', id, status: 'active', beneficiary: { reference: `Patient/${beneficiary}` },
  payor: [{ reference: 'Organization/plan-1' }], period: { start },
});

export function fixtureResources(): object[] {
  const orgs = ['hub', 'cbo-a', 'cbo-b', 'ehr', 'plan-1'].map((id) => ({ resourceType: 'Organization', id, name: id }));
  return [
    ...orgs,
    ...['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].map(patient),
    ...['p1', 'p2', 'p3', 'p4', 'p7'].map(serviceRequest),
    task('t-ehr-p1', 'p1', 'Organization/hub', 'Organization/ehr'),
    task('t-a-p1', 'p1', 'Organization/cbo-a', 'Organization/hub'),
    task('t-a-p1-2', 'p1', 'Organization/cbo-a', 'Organization/hub', { note: [{ text: 'first note' }] }),
    task('t-b-p1', 'p1', 'Organization/cbo-b', 'Organization/hub'),
    task('t-b-p2', 'p2', 'Organization/cbo-b', 'Organization/hub'),
    task('t-a-p3', 'p3', 'Organization/cbo-a', 'Organization/hub'),
    task('t-a-p4', 'p4', 'Organization/cbo-a', 'Organization/hub', { status: 'completed', executionPeriod: { start: daysAgo(40), end: daysAgo(10) } }),
    task('t-a-p7', 'p7', 'Organization/cbo-a', 'Organization/hub'),
    consent('c-p1', 'p1', permitFor('Organization/cbo-a', 'Organization/cbo-b')),
    consent('c-p2', 'p2', permitFor('Organization/cbo-b')),
    consent('c-p4', 'p4', {
      type: 'deny',
      provision: [
        { type: 'permit', actor: [{ role: IRCP, reference: { reference: 'Organization/cbo-a' } }] },
        { type: 'permit', actor: [{ role: IRCP, reference: { reference: 'Organization/cbo-a' } }], securityLabel: [ETH] },
      ],
    }),
    consent('c-p7', 'p7', permitFor('Organization/cbo-a')),
    optOut('c-p5', 'p5'),
    coverage('cov-p5', 'p5', '2026-01-01'),
    coverage('cov-p6', 'p6', '2026-01-01'),
    observation('o-p1', 'p1'),
    observation('o-p1-eth', 'p1', { meta: { security: [ETH] }, effectiveDateTime: '2026-03-02T10:00:00Z' }),
    observation('o-p1-b', 'p1', { effectiveDateTime: '2026-03-03T10:00:00Z' }),
    observation('o-p1-survey', 'p1', { category: [{ coding: [SURVEY] }] }),
    observation('o-p2', 'p2'),
    observation('o-p4-eth', 'p4', { meta: { security: [ETH] } }),
    observation('o-p6', 'p6'),
    observation('o-p6-old', 'p6', { effectiveDateTime: '2025-06-01T10:00:00Z' }),
    observation('o-p7-1', 'p7'),
    observation('o-p7-2', 'p7', { effectiveDateTime: '2026-03-02T10:00:00Z' }),
    { resourceType: 'Procedure', id: 'proc-p2', status: 'completed', subject: { reference: 'Patient/p2' }, identifier: [{ system: 'urn:cbo', value: 'dup-1' }], code: { text: 'meal delivery' } },
  ];
}

/** Loads the fixture as hub-admin in one transaction of PUTs (ids chosen by the test). */
export async function loadFixture(server: TestServer): Promise<void> {
  const entry = fixtureResources().map((resource) => {
    const { resourceType, id } = resource as { resourceType: string; id: string };
    return { resource, request: { method: 'PUT', url: `${resourceType}/${id}` } };
  });
  const res = await server.request('POST', '/fhir', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
  if (res.status !== 200) throw new Error(`fixture load failed: ${res.text}`);
}
