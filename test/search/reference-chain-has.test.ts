// Reference search (Type/id, bare id, :Type, absolute URLs, :identifier, :missing), chained
// parameters (one and two levels, type-qualified), reverse chaining with _has (nested too), and the
// Gravity (SDOHCC) IG's custom parameters Task?output and ServiceRequest?supporting-info.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { coding, LOINC, putAll, ref, searchIds, type Json } from './search-helpers.ts';

let server: TestServer;
const ids = (search: string) => searchIds(server, search);

const MRN = 'urn:test:ref:mrn';

const patient = (id: string, family: string, mrn: string): Json => ({
  resourceType: 'Patient',
  id,
  name: [{ family, given: ['Test'] }],
  identifier: [{ system: MRN, value: mrn }],
});
const observation = (id: string, extra: Json): Json => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [coding(LOINC, '88122-7')] },
  ...extra,
});
const serviceRequest = (id: string, status: string, subject: string, requester: string, supportingInfo: string[] = []): Json => ({
  resourceType: 'ServiceRequest',
  id,
  status,
  intent: 'order',
  subject: ref(subject),
  requester: ref(requester),
  ...(supportingInfo.length ? { supportingInfo: supportingInfo.map(ref) } : {}),
});
const task = (id: string, status: string, extra: Json): Json => ({ resourceType: 'Task', id, status, intent: 'order', ...extra });
const output = (reference: string) => [{ type: { text: 'Resulting procedure' }, valueReference: ref(reference) }];

const data: Json[] = [
  patient('pat-1', 'Smith', 'M1'),
  patient('pat-2', 'Jones', 'M2'),
  patient('9', 'Nine', 'M9'),
  { resourceType: 'Group', id: 'grp-1', type: 'person', actual: true, name: 'Smith household' },

  { resourceType: 'Organization', id: 'org-clinic', name: 'Riverside Clinic' },
  { resourceType: 'Organization', id: 'org-other', name: 'Lakeside Health' },
  { resourceType: 'Organization', id: 'org-cbo', name: 'Harbor Food Bank' },
  { resourceType: 'Practitioner', id: 'prac-1', name: [{ family: 'Riverside', given: ['Rita'] }] },

  observation('o-1', { subject: ref('Patient/pat-1') }),
  observation('o-2', { subject: ref('Patient/pat-2'), code: { coding: [coding(LOINC, '88123-5')] } }),
  observation('o-3', { subject: ref('Patient/9') }),
  // Patient 9 on another server.
  observation('o-4', { subject: ref('http://other.org/fhir/Patient/9') }),
  observation('o-5', { subject: ref('Group/grp-1') }),
  // A logical reference: an identifier only.
  observation('o-6', { subject: { identifier: { system: MRN, value: 'M1' } } }),
  observation('o-7', {}),

  { resourceType: 'Condition', id: 'cond-1', subject: ref('Patient/pat-1'), code: { text: 'Food insecurity' } },
  { resourceType: 'Condition', id: 'cond-2', subject: ref('Patient/pat-2'), code: { text: 'Housing instability' } },

  serviceRequest('sr-1', 'active', 'Patient/pat-1', 'Organization/org-clinic', ['Condition/cond-1']),
  serviceRequest('sr-2', 'draft', 'Patient/pat-2', 'Organization/org-other', ['Condition/cond-2', 'Observation/o-2']),
  // Requested by a Practitioner whose name also starts with "Riverside".
  serviceRequest('sr-3', 'active', 'Patient/pat-1', 'Practitioner/prac-1'),

  task('task-1', 'requested', { for: ref('Patient/pat-1'), focus: ref('ServiceRequest/sr-1'), owner: ref('Organization/org-cbo'), output: output('Procedure/proc-1') }),
  task('task-2', 'in-progress', { for: ref('Patient/pat-2'), focus: ref('ServiceRequest/sr-2'), owner: ref('Organization/org-other'), output: output('Procedure/proc-2') }),
  task('task-3', 'requested', { for: ref('Patient/pat-2'), focus: ref('ServiceRequest/sr-1') }),
  task('task-4', 'completed', { for: ref('Group/grp-1'), focus: ref('ServiceRequest/sr-3') }),

  {
    resourceType: 'Provenance',
    id: 'prov-1',
    target: [ref('Task/task-2')],
    recorded: '2025-03-01T10:00:00Z',
    agent: [{ who: ref('Organization/org-cbo') }],
  },
];

beforeAll(async () => {
  server = await startTestServer();
  await putAll(server, data);
});
afterAll(async () => {
  await server?.close();
});

describe('reference', () => {
  it('Type/id, a bare id and the :Type modifier', async () => {
    expect(await ids('Observation?subject=Patient/pat-1')).toEqual(['o-1']);
    expect(await ids('Observation?subject=pat-1')).toEqual(['o-1']);
    expect(await ids('Observation?subject:Patient=pat-1')).toEqual(['o-1']);
    expect(await ids('Observation?subject=Group/grp-1')).toEqual(['o-5']);
    expect(await ids('Observation?subject:Group=grp-1')).toEqual(['o-5']);
    expect(await ids('Observation?subject:Patient=grp-1')).toEqual([]);
    expect(await ids('Observation?subject=Patient/pat-1,Patient/pat-2')).toEqual(['o-1', 'o-2']);
    expect(await ids('Observation?subject=Patient/no-such-patient')).toEqual([]);
  });

  it('patient is subject restricted to Patient targets', async () => {
    expect(await ids('Observation?patient=Patient/pat-1')).toEqual(['o-1']);
    expect(await ids('Observation?patient=pat-2')).toEqual(['o-2']);
    expect(await ids('Observation?patient=grp-1')).toEqual([]);
    expect(await ids('Task?patient=Patient/pat-2')).toEqual(['task-2', 'task-3']);
    expect(await ids('Task?subject=Group/grp-1')).toEqual(['task-4']);
    expect(await ids('Task?patient=grp-1')).toEqual([]);
  });

  it('an absolute URL of another server is not the local resource with that id', async () => {
    expect(await ids('Observation?subject=http://other.org/fhir/Patient/9')).toEqual(['o-4']);
    expect(await ids('Observation?subject=Patient/9')).toEqual(['o-3']);
    expect(await ids('Observation?subject=9')).toEqual(['o-3']);
    expect(await ids('Observation?subject=http://elsewhere.org/fhir/Patient/9')).toEqual([]);
  });

  it(':identifier matches Reference.identifier, not the target resource identifier', async () => {
    expect(await ids(`Observation?subject:identifier=${MRN}|M1`)).toEqual(['o-6']);
    expect(await ids(`Observation?subject:identifier=${MRN}|M2`)).toEqual([]);
  });

  it(':missing', async () => {
    expect(await ids('Observation?subject:missing=true')).toEqual(['o-7']);
    expect(await ids('Task?owner:missing=true')).toEqual(['task-3', 'task-4']);
    expect(await ids('Task?owner:missing=false')).toEqual(['task-1', 'task-2']);
  });
});

describe('chained parameters', () => {
  it('one level, with and without a type', async () => {
    expect(await ids('Observation?subject:Patient.name=smith')).toEqual(['o-1']);
    expect(await ids(`Observation?patient.identifier=${MRN}|M2`)).toEqual(['o-2']);
    expect(await ids(`Task?patient.identifier=${MRN}|M1`)).toEqual(['task-1']);
    expect(await ids(`Task?patient.identifier=${MRN}|M2`)).toEqual(['task-2', 'task-3']);
    expect(await ids(`Task?patient.identifier=${MRN}|M1,${MRN}|M2`)).toEqual(['task-1', 'task-2', 'task-3']);
    expect(await ids('Task?patient.name=nobody')).toEqual([]);
  });

  it('the type modifier restricts the chain to that target type', async () => {
    // prac-1 is also named Riverside, but is a Practitioner.
    expect(await ids('ServiceRequest?requester:Organization.name=riverside')).toEqual(['sr-1']);
    expect(await ids('ServiceRequest?requester:Practitioner.name=riverside')).toEqual(['sr-3']);
    expect(await ids('ServiceRequest?requester:Organization.name=lakeside')).toEqual(['sr-2']);
  });

  it('two levels', async () => {
    expect(await ids('Task?focus:ServiceRequest.requester:Organization.name=riverside')).toEqual(['task-1', 'task-3']);
    expect(await ids('Task?focus:ServiceRequest.requester:Organization.name=lakeside')).toEqual(['task-2']);
    expect(await ids('Task?focus:ServiceRequest.requester:Practitioner.name=riverside')).toEqual(['task-4']);
    expect(await ids('Task?focus:ServiceRequest.patient.name=smith')).toEqual(['task-1', 'task-3', 'task-4']);
  });

  it('combine with other parameters (AND)', async () => {
    expect(await ids('Task?focus:ServiceRequest.requester:Organization.name=riverside&status=requested')).toEqual(['task-1', 'task-3']);
    expect(await ids('Task?focus:ServiceRequest.requester:Organization.name=riverside&patient=pat-2')).toEqual(['task-3']);
    expect(await ids(`Task?focus:ServiceRequest.requester:Organization.name=riverside&patient.identifier=${MRN}|M1`)).toEqual(['task-1']);
  });
});

describe('_has (reverse chaining)', () => {
  it('selects resources referenced by resources that match', async () => {
    expect(await ids('Patient?_has:Observation:patient:code=http://loinc.org|88122-7')).toEqual(['9', 'pat-1']);
    expect(await ids('Patient?_has:Observation:subject:code=http://loinc.org|88123-5')).toEqual(['pat-2']);
    expect(await ids('Patient?_has:Observation:patient:code=88122-7,88123-5')).toEqual(['9', 'pat-1', 'pat-2']);
    expect(await ids('Patient?_has:Task:patient:status=requested')).toEqual(['pat-1', 'pat-2']);
    expect(await ids('Patient?_has:Task:patient:status=in-progress')).toEqual(['pat-2']);
    // task-4 is for a Group.
    expect(await ids('Patient?_has:Task:patient:status=completed')).toEqual([]);
    expect(await ids('Group?_has:Task:subject:status=completed')).toEqual(['grp-1']);
    expect(await ids('Organization?_has:ServiceRequest:requester:status=active')).toEqual(['org-clinic']);
  });

  it('combines with other parameters', async () => {
    expect(await ids('Patient?_has:Task:patient:status=requested&name=jones')).toEqual(['pat-2']);
    expect(await ids('Patient?_has:Task:patient:status=requested&_has:Task:patient:status=in-progress')).toEqual(['pat-2']);
  });

  it('nests', async () => {
    expect(await ids('Patient?_has:Task:patient:_has:Provenance:target:agent=Organization/org-cbo')).toEqual(['pat-2']);
    expect(await ids('Patient?_has:Task:patient:_has:Provenance:target:agent=Organization/org-clinic')).toEqual([]);
  });

  it('works with a custom (Gravity) parameter', async () => {
    expect(await ids('Condition?_has:ServiceRequest:supporting-info:status=active')).toEqual(['cond-1']);
    expect(await ids('Condition?_has:ServiceRequest:supporting-info:status=draft')).toEqual(['cond-2']);
  });
});

describe('Gravity IG search parameters', () => {
  it('Task?output searches Task.output.valueReference', async () => {
    expect(await ids('Task?output=Procedure/proc-1')).toEqual(['task-1']);
    expect(await ids('Task?output=proc-2')).toEqual(['task-2']);
    expect(await ids('Task?output=Procedure/proc-1,Procedure/proc-2')).toEqual(['task-1', 'task-2']);
    expect(await ids('Task?output=Procedure/proc-3')).toEqual([]);
  });

  it('ServiceRequest?supporting-info searches ServiceRequest.supportingInfo', async () => {
    expect(await ids('ServiceRequest?supporting-info=Condition/cond-1')).toEqual(['sr-1']);
    expect(await ids('ServiceRequest?supporting-info=Observation/o-2')).toEqual(['sr-2']);
    expect(await ids('ServiceRequest?supporting-info=Condition/cond-2,Condition/cond-1')).toEqual(['sr-1', 'sr-2']);
    expect(await ids('ServiceRequest?supporting-info:missing=true')).toEqual(['sr-3']);
  });
});
