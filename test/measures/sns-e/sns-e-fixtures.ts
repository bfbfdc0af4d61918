// Hand-made SNS-E data: members whose expected populations are worked out by hand in the tests.
import type { Bundle, BundleEntry, Coverage, Observation, Procedure, Resource } from 'fhir/r4';
import type { TestServer } from '../../helpers/test-server.ts';

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const HCPCS = 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes';
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';

export function patient(id: string, extra: Record<string, unknown> = {}): Resource {
  return { resourceType: 'Patient', id, birthDate: '1980-05-05', ...extra } as Resource;
}

export function coverage(id: string, patientId: string, payer: string, start: string, end: string, status: Coverage['status'] = 'active'): Coverage {
  return {
    resourceType: 'Coverage',
    id,
    status,
    beneficiary: { reference: `Patient/${patientId}` },
    payor: [{ reference: `Organization/${payer}` }],
    period: { start, end },
  };
}

/** A screening answer: question `question` answered `answer` (undefined: no value) on `date`. */
export function answer(id: string, patientId: string, question: string, answerCode: string | undefined, date: string, extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code: question }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    ...(answerCode ? { valueCodeableConcept: { coding: [{ system: LOINC, code: answerCode }] } } : {}),
    ...extra,
  };
}

export function procedure(id: string, patientId: string, system: string, code: string, date: string, status: Procedure['status'] = 'completed'): Procedure {
  return { resourceType: 'Procedure', id, status, code: { coding: [{ system, code }] }, subject: { reference: `Patient/${patientId}` }, performedDateTime: date };
}

/** Stores the resources with one transaction (PUT by id). */
export async function store(server: TestServer, resources: Resource[]): Promise<void> {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource): BundleEntry => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
  };
  const response = await server.request('POST', '/fhir', { body: bundle });
  if (response.status !== 200) throw new Error(`fixture transaction failed: ${response.status} ${response.text.slice(0, 500)}`);
}

const FULL_2025: [string, string] = ['2025-01-01', '2025-12-31'];
export const FOOD_POS = ['88124-3', 'LA19952-3'] as const; // HVS "at risk"
export const FOOD_NEG = ['88122-7', 'LA28398-8'] as const; // "never true"

/** Every member of the hand-computed roster (see the test for the expected populations). */
export function roster(): Resource[] {
  const r: Resource[] = [
    { resourceType: 'Organization', id: 'plan-a', name: 'Plan A' } as Resource,
    { resourceType: 'Organization', id: 'plan-b', name: 'Plan B' } as Resource,
  ];
  const member = (id: string, payer = 'plan-a', period: [string, string] = FULL_2025, extra: Record<string, unknown> = {}) => {
    r.push(patient(id, extra), coverage(`cov-${id}`, id, payer, period[0], period[1]));
  };
  member('p01');
  r.push(answer('o01', 'p01', ...FOOD_NEG, '2025-03-01'));
  member('p02');
  r.push(answer('o02', 'p02', ...FOOD_POS, '2025-12-01'), procedure('x02', 'p02', SNOMED, '710925007', '2025-12-31'));
  member('p03');
  r.push(answer('o03', 'p03', ...FOOD_POS, '2025-12-02'));
  member('p04');
  r.push(answer('o04', 'p04', ...FOOD_POS, '2025-03-01'), procedure('x04', 'p04', SNOMED, '710925007', '2025-03-31'));
  member('p05');
  r.push(answer('o05', 'p05', ...FOOD_POS, '2025-03-01'), procedure('x05', 'p05', SNOMED, '710925007', '2025-04-01'));
  member('p06');
  r.push(answer('o06', 'p06', ...FOOD_POS, '2025-03-01'), procedure('x06', 'p06', SNOMED, '710925007', '2025-02-28'));
  member('p07');
  r.push(answer('o07a', 'p07', ...FOOD_POS, '2025-02-01'), answer('o07b', 'p07', '88122-7', 'LA28397-0', '2025-05-01'), procedure('x07', 'p07', SNOMED, '710925007', '2025-05-02'));
  member('p08');
  r.push(answer('o08', 'p08', ...FOOD_POS, '2025-03-01'), procedure('x08', 'p08', SNOMED, '715956002', '2025-03-05'));
  member('p09');
  r.push(answer('o09', 'p09', '96778-6', 'LA31996-4', '2025-03-01'), procedure('x09', 'p09', SNOMED, '225340009', '2025-03-02'));
  member('p10');
  r.push(answer('o10', 'p10', '71802-3', 'LA31994-9', '2025-03-01'), procedure('x10', 'p10', SNOMED, '225340009', '2025-03-02'));
  // Enrollment: Jan 1–Mar 31 then from May 16 (45 uncovered days) / May 17 (46).
  r.push(patient('p11'), coverage('cov-p11a', 'p11', 'plan-a', '2025-01-01', '2025-03-31'), coverage('cov-p11b', 'p11', 'plan-a', '2025-05-16', '2025-12-31'));
  r.push(answer('o11', 'p11', '93030-5', 'LA33-6', '2025-06-01'), procedure('x11', 'p11', SNOMED, '715956002', '2025-06-10'));
  r.push(patient('p12'), coverage('cov-p12a', 'p12', 'plan-a', '2025-01-01', '2025-03-31'), coverage('cov-p12b', 'p12', 'plan-a', '2025-05-17', '2025-12-31'));
  r.push(answer('o12', 'p12', ...FOOD_NEG, '2025-06-01'));
  // Age on 2025-12-31.
  member('p13', 'plan-a', FULL_2025, { birthDate: '2007-12-31' }); // 18 that day
  member('p14', 'plan-a', FULL_2025, { birthDate: '2008-01-01' }); // 17
  member('p15', 'plan-a', FULL_2025, { birthDate: '1960-12-31' }); // 65 that day
  member('p16', 'plan-a', FULL_2025, { birthDate: '1961-01-01' }); // 64
  member('p17');
  r.push(answer('o17', 'p17', ...FOOD_POS, '2025-03-01'), procedure('x17', 'p17', SNOMED, '710925007', '2025-03-02'), procedure('h17', 'p17', SNOMED, '385763009', '2025-09-01'));
  member('p18', 'plan-a', FULL_2025, { deceasedDateTime: '2025-07-01' });
  r.push(answer('o18', 'p18', ...FOOD_NEG, '2025-03-01'));
  member('p19', 'plan-a', FULL_2025, { deceasedDateTime: '2026-01-05' });
  r.push(answer('o19', 'p19', ...FOOD_NEG, '2025-03-01'));
  member('p20');
  r.push(answer('o20', 'p20', '93031-3', undefined, '2025-03-01'));
  member('p21');
  r.push(answer('o21', 'p21', '93031-3', undefined, '2025-03-01', { dataAbsentReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'asked-declined' }] } }));
  member('p22');
  r.push(answer('o22', 'p22', '71802-3', 'LA30122-8', '2025-03-01'));
  member('p23');
  r.push(answer('o23', 'p23', ...FOOD_POS, '2025-03-01', { status: 'entered-in-error' }));
  // Measurement-year switches: G0136 and a Z code in 2025 and again in 2026.
  member('p24', 'plan-a', ['2025-01-01', '2026-12-31']);
  r.push(procedure('g24a', 'p24', HCPCS, 'G0136', '2025-04-01'), procedure('g24b', 'p24', HCPCS, 'G0136', '2026-04-01'));
  for (const [id, date] of [['z24a', '2025-05-01'], ['z24b', '2026-05-01']]) {
    r.push({ resourceType: 'Condition', id, subject: { reference: 'Patient/p24' }, code: { coding: [{ system: ICD10, code: 'Z59.41' }] }, onsetDateTime: date } as Resource);
  }
  // Plan B's member.
  member('p25', 'plan-b');
  r.push(answer('o25', 'p25', ...FOOD_NEG, '2025-03-01'));
  r.push(
    { resourceType: 'Group', id: 'ages', type: 'person', actual: true, managingEntity: { reference: 'Organization/plan-a' }, member: ['p13', 'p14', 'p15', 'p16'].map((id) => ({ entity: { reference: `Patient/${id}` } })) } as Resource,
    { resourceType: 'Group', id: 'plan-b-members', type: 'person', actual: true, managingEntity: { reference: 'Organization/plan-b' }, member: [{ entity: { reference: 'Patient/p25' } }] } as Resource,
  );
  return r;
}
