// Adversarial checks of consent and minimum-necessary enforcement, across roles and data paths.
// Each case asserts the exact body a partner gets: hidden data must look exactly like absent data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/policy/client-registry.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { consent, ETH, loadFixture, mealDelivery, observation, permitFor, SOCIAL, task } from './fixture.ts';

let server: TestServer;
const tokens: Record<string, string> = {};

const notKnown = (reference: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'not-found', diagnostics: `${reference} is not known` }],
});
const refused = (diagnostics: string, expression: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'not-supported', diagnostics, expression: [expression] }],
});
const forbiddenBody = (diagnostics: string, expression?: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'forbidden', diagnostics, ...(expression ? { expression: [expression] } : {}) }],
});
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

const as = (who: string) => ({ token: tokens[who] });
const get = (who: string, path: string) => server.request('GET', path, as(who));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ids = (bundle: any): string[] => (bundle.entry ?? []).filter((e: any) => e.search?.mode !== 'outcome').map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);

/** A token with explicit SMART scopes, as a partner would request them. */
async function scopedToken(role: string, org: string, purpose: string, registered: string[], requested: string): Promise<string> {
  const client = await createClient(server.db, { name: 'scoped', role, organization: org, purposes: [purpose], scopes: registered });
  const res = await fetch(`${server.url}/auth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(requested)}`,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  server = await startTestServer();
  await loadFixture(server);
  tokens.admin = server.token;
  tokens.cboA = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  tokens.cboB = await server.tokenFor('cbo', 'Organization/cbo-b', ['COC']);
  tokens.ehr = await server.tokenFor('referral-source', 'Organization/ehr', ['TREAT']);
  tokens.plan = await server.tokenFor('plan', 'Organization/plan-1', ['HPAYMT']);
  tokens.analytics = await server.tokenFor('plan-analytics', 'Organization/plan-1', ['PERFMSR']);
  tokens.staff = await server.tokenFor('hub-staff', 'Organization/hub', ['HOPERAT']);
  tokens.cboWrongPurpose = await server.tokenFor('cbo', 'Organization/cbo-a', ['HPAYMT']);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('reads: hidden looks like absent', () => {
  it('a consented CBO reads its patient trimmed to the profile, tagged SUBSETTED', async () => {
    const res = await get('cboA', '/fhir/Patient/p1');
    expect(res.status).toBe(200);
    const { meta, ...rest } = res.body;
    expect(rest).toEqual({
      resourceType: 'Patient', id: 'p1', name: [{ family: 'Family-p1', given: ['Pat'] }], birthDate: '1980-05-01', gender: 'female',
      telecom: [{ system: 'phone', value: '555-0100' }],
    });
    expect(meta.security).toEqual([SUBSETTED]);
  });

  it('another CBO\'s patient gets the same 404 as an id that does not exist', async () => {
    const hidden = await get('cboA', '/fhir/Patient/p2');
    const missing = await get('cboA', '/fhir/Patient/nobody');
    expect([hidden.status, missing.status]).toEqual([404, 404]);
    expect(hidden.body).toEqual(notKnown('Patient/p2'));
    expect(missing.body).toEqual(notKnown('Patient/nobody'));
    expect(hidden.headers.get('etag')).toBeNull();
  });

  it('a referral without a consent naming the CBO releases nothing', async () => {
    expect((await get('cboA', '/fhir/Patient/p3')).body).toEqual(notKnown('Patient/p3'));
    expect((await get('cboA', '/fhir/Task/t-a-p3')).body).toEqual(notKnown('Task/t-a-p3'));
  });

  it('another CBO\'s Task for a patient both serve is invisible', async () => {
    expect((await get('cboB', '/fhir/Patient/p1')).status).toBe(200); // both serve p1 and the consent names both
    expect((await get('cboB', '/fhir/Task/t-a-p1')).body).toEqual(notKnown('Task/t-a-p1'));
    expect((await get('cboB', '/fhir/Task/t-b-p1')).status).toBe(200);
  });

  it('a security label beyond the profile is withheld; a consent naming the label releases it', async () => {
    expect((await get('cboA', '/fhir/Observation/o-p1-eth')).body).toEqual(notKnown('Observation/o-p1-eth'));
    const released = await get('cboA', '/fhir/Observation/o-p4-eth');
    expect(released.status).toBe(200);
    expect(released.body.note).toBeUndefined();
    expect(released.body.meta.security).toEqual([ETH, SUBSETTED]);
  });

  it('a deleted resource is a 404 for a partner (410 only for hub-admin)', async () => {
    await server.request('PUT', '/fhir/Observation/o-p1-gone', { body: observation('o-p1-gone', 'p1') });
    await server.request('DELETE', '/fhir/Observation/o-p1-gone');
    expect((await get('cboA', '/fhir/Observation/o-p1-gone')).body).toEqual(notKnown('Observation/o-p1-gone'));
    expect((await get('admin', '/fhir/Observation/o-p1-gone')).status).toBe(410);
  });

  it('contained resources outside the profile do not leave the server', async () => {
    const contained = observation('o-p1-contained', 'p1', {
      contained: [{ resourceType: 'Practitioner', id: 'pr', name: [{ family: 'Hidden' }] }],
      performer: [{ reference: '#pr' }],
    });
    await server.request('PUT', '/fhir/Observation/o-p1-contained', { body: contained });
    const res = await get('cboA', '/fhir/Observation/o-p1-contained');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('Hidden');
    expect(Object.keys(res.body).sort()).toEqual(['category', 'code', 'effectiveDateTime', 'id', 'meta', 'resourceType', 'status', 'subject', 'valueCodeableConcept']);
  });

  it('the Consent a CBO reads shows only the provisions addressed to it', async () => {
    const res = await get('cboA', '/fhir/Consent/c-p1');
    expect(res.status).toBe(200);
    expect(res.body.provision).toEqual({ type: 'deny', provision: [permitFor('Organization/cbo-a').provision[0]] });
    expect(res.text).not.toContain('cbo-b');
  });

  it('a plan does not see a member who opted out, and sees the other member', async () => {
    expect((await get('plan', '/fhir/Patient/p5')).body).toEqual(notKnown('Patient/p5'));
    expect((await get('plan', '/fhir/Patient/p6')).status).toBe(200);
  });

  it('a plan sees only data dated within the coverage', async () => {
    expect((await get('plan', '/fhir/Observation/o-p6')).status).toBe(200);
    expect((await get('plan', '/fhir/Observation/o-p6-old')).body).toEqual(notKnown('Observation/o-p6-old'));
  });

  it('plan analytics get no names or contact details', async () => {
    const res = await get('analytics', '/fhir/Patient/p6');
    const { meta, ...rest } = res.body;
    expect(rest).toEqual({ resourceType: 'Patient', id: 'p6', birthDate: '1980-05-01', gender: 'female' });
    expect(meta.security).toEqual([SUBSETTED]);
  });

  it('a CBO keeps read access for 30 days after the referral ends, but may not write', async () => {
    expect((await get('cboA', '/fhir/Task/t-a-p4')).status).toBe(200);
    const current = (await get('admin', '/fhir/Task/t-a-p4')).body;
    const res = await server.request('PUT', '/fhir/Task/t-a-p4', { ...as('cboA'), body: { ...current, businessStatus: { text: 'late note' } } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(forbiddenBody('You may not write Task data about this patient'));
  });
});

describe('searches: narrowed in SQL, so totals and pages reveal nothing', () => {
  it('Patient search lists exactly the patients the CBO may see, with an exact total', async () => {
    const res = await get('cboA', '/fhir/Patient');
    expect(ids(res.body).sort()).toEqual(['Patient/p1', 'Patient/p4', 'Patient/p7']);
    expect(res.body.total).toBe(3);
  });

  it('searching another CBO\'s patient is an empty Bundle with total 0', async () => {
    const res = await get('cboA', '/fhir/Observation?patient=p2');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 0, link: [{ relation: 'self', url: `${server.fhir}/Observation?patient=p2` }], entry: [] });
  });

  it('labelled rows are skipped without short pages or hints in the links', async () => {
    const first = await get('cboA', '/fhir/Observation?_id=o-p1,o-p1-eth,o-p1-b&_sort=date&_count=1');
    expect(ids(first.body)).toEqual(['Observation/o-p1']);
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next');
    const second = await server.request('GET', next.url.replace(server.fhir, '/fhir'), as('cboA'));
    expect(ids(second.body)).toEqual(['Observation/o-p1-b']); // o-p1-eth (dated between) is skipped
    expect(second.body.entry).toHaveLength(1);
    expect(second.body.link.map((l: { relation: string }) => l.relation)).toEqual(['self', 'previous']);
    const all = await get('cboA', '/fhir/Observation?_id=o-p1,o-p1-eth,o-p1-b');
    expect(all.body.total).toBe(2);
  });

  it('_include adds only what the CBO may see on its own terms', async () => {
    const res = await get('cboA', '/fhir/Task?_include=Task:focus&_include=Task:patient');
    expect(ids(res.body).sort()).toEqual([
      'Patient/p1', 'Patient/p4', 'Patient/p7', 'ServiceRequest/sr-p1', 'ServiceRequest/sr-p4', 'ServiceRequest/sr-p7',
      'Task/t-a-p1', 'Task/t-a-p1-2', 'Task/t-a-p4', 'Task/t-a-p7',
    ]);
    const sr = res.body.entry.find((e: { resource: { id: string } }) => e.resource.id === 'sr-p1').resource;
    expect(sr.note).toBeUndefined();
  });

  it('_revinclude outside the profile is refused (400) before any data is read', async () => {
    const res = await get('cboA', '/fhir/ServiceRequest?_revinclude=Task:focus');
    expect(res.status).toBe(400);
    expect(res.body).toEqual(refused('_revinclude=Task:focus is not allowed for disclosure profile cbo-coc', '_revinclude'));
  });

  it('an _include not in the allow-list is refused', async () => {
    const res = await get('cboA', '/fhir/Task?_include=Task:based-on');
    expect(res.body).toEqual(refused('_include=Task:based-on is not allowed for disclosure profile cbo-coc', '_include'));
  });

  it('chained parameters cannot probe other patients', async () => {
    const res = await get('cboA', '/fhir/Task?patient.name=Family-p2');
    expect(res.status).toBe(400);
    expect(res.body).toEqual(refused("Chained parameter 'patient.name' is not allowed for disclosure profile cbo-coc", 'patient.name'));
  });

  it('_has cannot probe hidden data', async () => {
    const res = await get('cboA', '/fhir/Patient?_has:Observation:subject:code=88122-7');
    expect(res.body).toEqual(refused("Search parameter '_has' is not allowed for disclosure profile cbo-coc", '_has:Observation:subject:code'));
  });

  it('_total, _summary=count and _count=0 are refused for partners', async () => {
    const message = 'A total count (_total, _summary=count, _count=0) is not allowed for disclosure profile cbo-coc';
    expect((await get('cboA', '/fhir/Task?_total=accurate')).body).toEqual(refused(message, '_total'));
    expect((await get('cboA', '/fhir/Task?_summary=count')).body).toEqual(refused(message, '_summary'));
    expect((await get('cboA', '/fhir/Observation?patient=p1&_count=0')).body).toEqual(refused(message, '_count'));
  });

  it('a typed chain cannot slip past behind its modifier', async () => {
    const res = await get('cboA', '/fhir/Observation?subject:Patient.name=Family-p2');
    expect(res.body).toEqual(refused("Chained parameter 'subject:Patient.name' is not allowed for disclosure profile cbo-coc", 'subject:Patient.name'));
  });

  it('a search parameter on a hidden element is refused', async () => {
    const res = await get('cboA', '/fhir/Patient?identifier=urn:ssn|999-00-p2');
    expect(res.body).toEqual(refused("Search parameter 'identifier' is not allowed for disclosure profile cbo-coc", 'identifier'));
  });

  it('sorting by a parameter outside the profile is refused', async () => {
    const res = await get('cboA', '/fhir/Task?_sort=priority');
    expect(res.body).toEqual(refused("Sorting by 'priority' is not allowed for disclosure profile cbo-coc", '_sort'));
  });

  it('_elements can only narrow: hidden elements stay hidden', async () => {
    const res = await get('cboA', '/fhir/Patient?_id=p1&_elements=name,identifier,maritalStatus');
    const patient = res.body.entry[0].resource;
    expect(patient.identifier).toBeUndefined();
    expect(patient.maritalStatus).toBeUndefined();
    expect(patient.name).toEqual([{ family: 'Family-p1', given: ['Pat'] }]);
    expect(patient.telecom).toBeUndefined();
  });

  it('a plan\'s member search leaves out the member who opted out', async () => {
    const res = await get('plan', '/fhir/Patient');
    expect(ids(res.body)).toEqual(['Patient/p6']);
    expect(res.body.total).toBe(1);
  });

  it('revoking a consent takes effect between two pages', async () => {
    const first = await get('cboA', '/fhir/Observation?patient=p7&_sort=date&_count=1');
    expect(ids(first.body)).toEqual(['Observation/o-p7-1']);
    const revoked = { ...consent('c-p7', 'p7', permitFor('Organization/cbo-a')), status: 'inactive' };
    expect((await server.request('PUT', '/fhir/Consent/c-p7', { body: revoked })).status).toBe(200);
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next');
    const second = await server.request('GET', next.url.replace(server.fhir, '/fhir'), as('cboA'));
    expect(second.status).toBe(200);
    expect(second.body.entry).toEqual([]);
    expect((await get('cboA', '/fhir/Observation/o-p7-1')).body).toEqual(notKnown('Observation/o-p7-1'));
  });
});

describe('history: each version decided on its own', () => {
  it('a resource moved to another patient disappears with its whole history', async () => {
    await server.request('PUT', '/fhir/Observation/o-moved-away', { body: observation('o-moved-away', 'p1') });
    expect((await get('cboA', '/fhir/Observation/o-moved-away/_history')).status).toBe(200);
    await server.request('PUT', '/fhir/Observation/o-moved-away', { body: observation('o-moved-away', 'p2') });
    expect((await get('cboA', '/fhir/Observation/o-moved-away/_history')).body).toEqual(notKnown('Observation/o-moved-away'));
    expect((await get('cboA', '/fhir/Observation/o-moved-away/_history/1')).body).toEqual(notKnown('Observation/o-moved-away/_history/1'));
  });

  it('versions from before a resource came to the CBO\'s patient stay hidden', async () => {
    await server.request('PUT', '/fhir/Observation/o-moved-in', { body: observation('o-moved-in', 'p2', { valueString: undefined }) });
    await server.request('PUT', '/fhir/Observation/o-moved-in', { body: observation('o-moved-in', 'p1') });
    const res = await get('cboA', '/fhir/Observation/o-moved-in/_history');
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual(['W/"2"']);
    expect(res.body.total).toBeUndefined();
    expect(res.text).not.toContain('Patient/p2');
    expect((await get('cboA', '/fhir/Observation/o-moved-in/_history/1')).body).toEqual(notKnown('Observation/o-moved-in/_history/1'));
  });

  it('type and system history are not offered to partners', async () => {
    expect((await get('cboA', '/fhir/Observation/_history')).body).toEqual(forbiddenBody('Access denied: disclosure profile cbo-coc does not allow history-type on Observation'));
    expect((await get('cboA', '/fhir/_history')).body).toEqual(forbiddenBody('Access denied: disclosure profile cbo-coc does not allow history-system'));
  });
});

describe('writes', () => {
  it('a CBO records an Observation for a patient it serves; the response is trimmed too', async () => {
    const res = await server.request('POST', '/fhir/Observation', { ...as('cboA'), body: observation('ignored', 'p1') });
    expect(res.status).toBe(201);
    expect(res.body.note).toBeUndefined();
    expect(res.body.meta.security).toEqual([SUBSETTED]);
  });

  it('a CBO may not write data about a patient it does not serve', async () => {
    const res = await server.request('POST', '/fhir/Observation', { ...as('cboA'), body: observation('x', 'p2') });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(forbiddenBody('You may not write Observation data about this patient'));
  });

  it('the Task owner may change status and output, not the focus', async () => {
    const current = (await get('admin', '/fhir/Task/t-a-p1')).body;
    const moved = await server.request('PUT', '/fhir/Task/t-a-p1', { ...as('cboA'), body: { ...current, focus: { reference: 'ServiceRequest/sr-p2' } } });
    expect(moved.status).toBe(403);
    expect(moved.body).toEqual(forbiddenBody('Organization/cbo-a may not change Task.focus of this Task (IG Task rules: only the requester may change it)', 'Task.focus'));
    const procedure = await server.request('POST', '/fhir/Procedure', { ...as('cboA'), body: mealDelivery('p1') });
    const output = [{ type: { text: 'service delivered' }, valueReference: { reference: `Procedure/${procedure.body.id}` } }];
    const done = await server.request('PUT', '/fhir/Task/t-a-p1', { ...as('cboA'), body: { ...current, status: 'completed', output, note: [{ text: 'delivered' }] } });
    expect(done.status).toBe(200);
    expect((await get('admin', '/fhir/Task/t-a-p1')).body.status).toBe('completed');
  });

  it('the owner may add notes but not rewrite them', async () => {
    const current = (await get('admin', '/fhir/Task/t-a-p1-2')).body;
    const added = await server.request('PUT', '/fhir/Task/t-a-p1-2', { ...as('cboA'), body: { ...current, note: [...current.note, { text: 'second note' }] } });
    expect(added.status).toBe(200);
    const res = await server.request('PUT', '/fhir/Task/t-a-p1-2', { ...as('cboA'), body: { ...current, note: [{ text: 'rewritten' }] } });
    expect(res.body).toEqual(forbiddenBody('Organization/cbo-a may not change Task.note of this Task (IG Task rules: only the requester may change it)', 'Task.note'));
  });

  it('a party that is neither requester nor owner may change nothing on a Task', async () => {
    const current = (await get('admin', '/fhir/Task/t-a-p3')).body;
    const res = await server.request('PUT', '/fhir/Task/t-a-p3', { ...as('ehr'), body: { ...current, status: 'cancelled' } });
    expect(res.status).toBe(403);
    expect(res.body.issue[0].expression).toEqual(['Task.status']);
  });

  it('the requester may change any element of its Task', async () => {
    const current = (await get('admin', '/fhir/Task/t-ehr-p1')).body;
    const res = await server.request('PUT', '/fhir/Task/t-ehr-p1', { ...as('ehr'), body: { ...current, priority: 'urgent' } });
    expect(res.status).toBe(200);
    expect(res.body.priority).toBe('urgent');
  });

  it('an update of a hidden resource is the same 404 as an unknown one, even with a stale If-Match', async () => {
    const res = await server.request('PUT', '/fhir/Task/t-b-p2', { ...as('cboA'), body: task('t-b-p2', 'p2', 'Organization/cbo-b', 'Organization/hub'), headers: { 'if-match': 'W/"99"' } });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(notKnown('Task/t-b-p2'));
  });

  it('conditional create does not match resources the CBO cannot see', async () => {
    const body = { ...mealDelivery('p1'), identifier: [{ system: 'urn:cbo', value: 'dup-1' }] };
    const res = await server.request('POST', '/fhir/Procedure', { ...as('cboA'), body, headers: { 'if-none-exist': 'identifier=urn:cbo|dup-1' } });
    expect(res.status).toBe(201); // p2's Procedure with that identifier is not a match for cbo-a
    expect(res.body.subject).toEqual({ reference: 'Patient/p1' });
  });

  it('conditional criteria cannot carry probes', async () => {
    const body = mealDelivery('p1');
    const res = await server.request('POST', '/fhir/Procedure', { ...as('cboA'), body, headers: { 'if-none-exist': 'patient.name=Family-p2' } });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].code).toBe('not-supported');
  });

  it('a transaction with one entry the CBO may not write stores nothing', async () => {
    const bundle = {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:6a1b0c9e-1d2e-4f3a-9b8c-7d6e5f4a3b2c', resource: observation('n1', 'p1', { code: { coding: [{ system: 'http://loinc.org', code: 'tx-marker' }] } }), request: { method: 'POST', url: 'Observation' } },
        { fullUrl: 'urn:uuid:7b2c1d0f-2e3f-4a5b-8c9d-8e7f6a5b4c3d', resource: observation('n2', 'p2'), request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const res = await server.request('POST', '/fhir', { ...as('cboA'), body: bundle });
    expect(res.status).toBe(403);
    const stored = await get('admin', '/fhir/Observation?code=tx-marker');
    expect(stored.body.total).toBe(0);
  });

  it('batch read entries of hidden resources are 404 entries like unknown ones', async () => {
    const bundle = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/p2' } }, { request: { method: 'GET', url: 'Patient/p1' } }] };
    const res = await server.request('POST', '/fhir', { ...as('cboA'), body: bundle });
    expect(res.body.entry[0].response.status).toBe('404 Not Found');
    const outcome = notKnown('Patient/p2');
    expect(res.body.entry[0].response.outcome).toEqual({ ...outcome, issue: [{ ...outcome.issue[0], expression: ['Bundle.entry[0]'] }] });
    expect(res.body.entry[1].response.status).toBe('200 OK');
    expect(res.body.entry[1].resource.identifier).toBeUndefined();
  });
});

describe('a referral source whose requester is a PractitionerRole', () => {
  it('sees the patients its practitioners referred', async () => {
    await server.request('PUT', '/fhir/PractitionerRole/ehr-nurse', { body: { resourceType: 'PractitionerRole', id: 'ehr-nurse', organization: { reference: 'Organization/ehr2' } } });
    await server.request('PUT', '/fhir/Patient/pr-1', { body: { resourceType: 'Patient', id: 'pr-1', name: [{ family: 'ViaRole' }] } });
    const ehr2 = await server.tokenFor('referral-source', 'Organization/ehr2', ['TREAT']);
    expect((await server.request('GET', '/fhir/Patient/pr-1', { token: ehr2 })).status).toBe(404);
    await server.request('PUT', '/fhir/ServiceRequest/sr-pr-1', {
      body: { resourceType: 'ServiceRequest', id: 'sr-pr-1', status: 'active', intent: 'order', subject: { reference: 'Patient/pr-1' }, requester: { reference: 'PractitionerRole/ehr-nurse' } },
    });
    expect((await server.request('GET', '/fhir/Patient/pr-1', { token: ehr2 })).status).toBe(200);
  });
});

describe('an HIE sees what it submitted and what a consent releases to it', () => {
  it('reads back the patient and data it sent, and nothing else', async () => {
    const hie = await server.tokenFor('hie', 'Organization/hie-1', ['TREAT']);
    const created = await server.request('POST', '/fhir/Patient', { token: hie, body: { resourceType: 'Patient', name: [{ family: 'FromHie' }] } });
    expect(created.status).toBe(201);
    const obs = await server.request('POST', '/fhir/Observation', { token: hie, body: observation('x', created.body.id) });
    expect(obs.status).toBe(201);
    expect((await server.request('GET', `/fhir/Observation/${obs.body.id}`, { token: hie })).status).toBe(200);
    expect((await server.request('GET', '/fhir/Patient/p1', { token: hie })).body).toEqual(notKnown('Patient/p1'));
    const search = await server.request('GET', '/fhir/Patient', { token: hie });
    expect(ids(search.body)).toEqual([`Patient/${created.body.id}`]);
  });

  it('a consent naming the exchange releases that patient to it', async () => {
    const hie = await server.tokenFor('hie', 'Organization/hie-2', ['TREAT']);
    expect((await server.request('GET', '/fhir/Patient/p6', { token: hie })).status).toBe(404);
    await server.request('PUT', '/fhir/Consent/c-p6-hie', { body: consent('c-p6-hie', 'p6', permitFor('Organization/hie-2')) });
    expect((await server.request('GET', '/fhir/Patient/p6', { token: hie })).status).toBe(200);
  });
});

describe('data-independent refusals', () => {
  it('a purpose of use without a disclosure profile is a 403 whatever the data', async () => {
    const res = await get('cboWrongPurpose', '/fhir/Patient/p1');
    expect(res.status).toBe(403);
    expect(res.body).toEqual(forbiddenBody('Access denied: no disclosure profile for role cbo with purpose of use HPAYMT'));
  });

  it('an interaction outside the profile is a 403', async () => {
    const res = await server.request('DELETE', '/fhir/Observation/o-p1', as('cboA'));
    expect(res.body).toEqual(forbiddenBody('Access denied: disclosure profile cbo-coc does not allow delete on Observation'));
  });

  it('SMART scopes narrow further: a Patient-only token cannot read Tasks', async () => {
    const token = await scopedToken('cbo', 'Organization/cbo-a', 'COC', ['system/*.cruds'], 'system/Patient.rs');
    const res = await server.request('GET', '/fhir/Task/t-a-p7', { token });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(forbiddenBody("Access denied: the access token's scopes do not allow read on Task (needs system/Task.r)"));
    expect((await server.request('GET', '/fhir/Patient/p4', { token })).status).toBe(200);
  });

  it('a scope filter hides what it does not select, on reads and searches alike', async () => {
    const token = await scopedToken('cbo', 'Organization/cbo-a', 'COC', ['system/*.cruds'], `system/Observation.rs?category=${SOCIAL.system}|social-history`);
    expect((await server.request('GET', '/fhir/Observation/o-p1-survey', { token })).body).toEqual(notKnown('Observation/o-p1-survey'));
    const search = await server.request('GET', '/fhir/Observation?patient=p1', { token });
    expect(ids(search.body)).not.toContain('Observation/o-p1-survey');
  });

  it('audit records are for hub-admin only', async () => {
    expect((await get('cboA', '/fhir/AuditEvent')).body).toEqual(forbiddenBody('Access denied: disclosure profile cbo-coc does not allow search-type on AuditEvent'));
    expect((await get('staff', '/fhir/AuditEvent')).body).toEqual(forbiddenBody('Access denied: disclosure profile hub-staff-operations does not allow search-type on AuditEvent'));
  });

  it('hub staff see every patient, untrimmed', async () => {
    const res = await get('staff', '/fhir/Patient/p2');
    expect(res.body.identifier).toEqual([{ system: 'urn:ssn', value: '999-00-p2' }]);
  });
});

describe('audit', () => {
  it('records who saw which patient, under which profile and consent, and the denials', async () => {
    await get('cboA', '/fhir/Patient/p1');
    await get('cboA', '/fhir/Patient/p2');
    const res = await get('admin', '/fhir/AuditEvent?entity=Patient/p1&_sort=-date&_count=50');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const read = res.body.entry.map((e: any) => e.resource).find((event: any) => event.subtype[0].code === 'read' && event.agent[1].who.reference === 'Organization/cbo-a');
    expect(read.outcome).toBe('0');
    expect(read.purposeOfEvent).toEqual([{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'COC' }] }]);
    expect(read.agent[0].policy).toEqual(['urn:cch:disclosure-profile:cbo-coc:1', 'Consent/c-p1/_history/1']);
    expect(read.entity.map((e: { what?: { reference: string } }) => e.what?.reference)).toEqual(['Patient/p1', 'Patient/p1/_history/1', 'Consent/c-p1/_history/1']);
    const denied = await get('admin', '/fhir/AuditEvent?outcome=4&_count=200');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(denied.body.entry.some((e: any) => e.resource.outcomeDesc === 'status 404; denied: CONSENT_REQUIRED')).toBe(true);
  });

  it('fails closed: when the audit cannot be written, nothing is disclosed', async () => {
    await server.db.exec(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store down'; END $$;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON resource_version FOR EACH ROW WHEN (NEW.resource_type = 'AuditEvent') EXECUTE FUNCTION refuse_audit();`);
    try {
      const res = await get('cboA', '/fhir/Patient/p1');
      expect(res.status).toBe(503);
      expect(res.text).not.toContain('Family-p1');
      expect(res.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'The audit record could not be written, so nothing was disclosed; retry later' }] });
    } finally {
      await server.db.exec('DROP TRIGGER refuse_audit ON resource_version; DROP FUNCTION refuse_audit();');
    }
    expect((await get('cboA', '/fhir/Patient/p1')).status).toBe(200);
  });
});
