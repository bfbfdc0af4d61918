// Profile validation on the write path, over HTTP: partner writes are held to the SDOHCC profiles,
// failures are 422 with one issue per problem, warnings travel with a successful response, and
// $validate answers without storing anything.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
let ehr: string;
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8'));
const SR_PROFILE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest';

/** A referral Task from the EHR to the hub, as the IG's TaskForReferralManagement wants it. */
const referralTask = (overrides: object = {}) => {
  const { id: _id, meta: _meta, ...task } = fixture('Task-referral-management.json');
  return { ...task, status: 'requested', for: { reference: 'Patient/pw-1' }, requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' }, ...overrides };
};

beforeAll(async () => {
  server = await startTestServer();
  ehr = await server.tokenFor('referral-source', 'Organization/ehr', ['TREAT']);
});
afterAll(async () => {
  await server?.close();
});

describe('partner writes', () => {
  it('accept a Task that meets TaskForReferralManagement', async () => {
    const res = await server.request('POST', '/fhir/Task', { token: ehr, body: referralTask() });
    expect(res.status).toBe(201);
  });

  it('refuse a referral Task with status received (422, the failing element named)', async () => {
    const res = await server.request('POST', '/fhir/Task', { token: ehr, body: referralTask({ status: 'received' }) });
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const errors = res.body.issue.filter((issue: { severity: string }) => issue.severity === 'error');
    expect(errors.map((issue: { expression: string[] }) => issue.expression[0])).toContain('Task.status');
    const count = await server.request('GET', '/fhir/Task?status=received&_total=accurate');
    expect(count.body.total).toBe(0);
  });

  it('refuse a Task without the fulfill code, naming Task.code', async () => {
    const res = await server.request('POST', '/fhir/Task', { token: ehr, body: referralTask({ code: { text: 'please help' } }) });
    expect(res.status).toBe(422);
    expect(res.body.issue.some((issue: { severity: string; expression: string[] }) => issue.severity === 'error' && issue.expression[0].startsWith('Task.code'))).toBe(true);
  });

  it('hold hub-admin writes only to the profiles they claim', async () => {
    const res = await server.request('POST', '/fhir/Task', { body: referralTask({ status: 'received' }) });
    expect(res.status).toBe(201);
  });

  it('report an unknown claimed profile as a warning with the stored resource', async () => {
    const body = { ...referralTask(), meta: { profile: ['http://example.org/StructureDefinition/not-ours'] } };
    const res = await server.request('POST', '/fhir/Task', { token: ehr, body, headers: { prefer: 'return=OperationOutcome' } });
    expect(res.status).toBe(201);
    const warning = res.body.issue.find((issue: { code: string }) => issue.code === 'not-found');
    expect(warning.severity).toBe('warning');
    expect(warning.diagnostics).toContain('http://example.org/StructureDefinition/not-ours');
  });

  it('in a transaction, point the failing entry out and store nothing', async () => {
    const bundle = {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:2f0c5d7e-8a9b-4c1d-9e2f-3a4b5c6d7e8f', resource: { resourceType: 'Patient', name: [{ family: 'TxProfile' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: referralTask({ status: 'ready', for: { reference: 'urn:uuid:2f0c5d7e-8a9b-4c1d-9e2f-3a4b5c6d7e8f' } }), request: { method: 'POST', url: 'Task' } },
      ],
    };
    const res = await server.request('POST', '/fhir', { token: ehr, body: bundle });
    expect(res.status).toBe(422);
    expect(res.body.issue.map((issue: { expression: string[] }) => issue.expression[0])).toContain('Bundle.entry[1].resource.status');
    expect((await server.request('GET', '/fhir/Patient?name=TxProfile')).body.total).toBe(0);
  });
});

describe('$validate', () => {
  it('says All OK for a valid resource and stores nothing', async () => {
    const res = await server.request('POST', '/fhir/Task/$validate', { token: ehr, body: referralTask() });
    expect(res.status).toBe(200);
    expect(res.body.issue.filter((issue: { severity: string }) => issue.severity === 'error')).toEqual([]);
  });

  it('lists every problem with its expression, as a 200 OperationOutcome', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: referralTask({ status: 'received' }) }, { name: 'mode', valueCode: 'create' }] };
    const res = await server.request('POST', '/fhir/Task/$validate', { token: ehr, body });
    expect(res.status).toBe(200);
    expect(res.body.issue.find((issue: { severity: string }) => issue.severity === 'error').expression).toEqual(['Task.status']);
  });

  it('checks against the profile named in `profile`', async () => {
    const { id: _id, meta: _meta, ...sr } = fixture('ServiceRequest-sdohcc.json');
    const { code: _code, ...withoutCode } = sr;
    const asIs = await server.request('POST', '/fhir/ServiceRequest/$validate', { body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: withoutCode }] } });
    expect(asIs.body.issue).toEqual([{ severity: 'information', code: 'informational', diagnostics: 'All OK' }]); // claims no profile
    const body = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: withoutCode }, { name: 'profile', valueCanonical: SR_PROFILE }] };
    const res = await server.request('POST', '/fhir/ServiceRequest/$validate', { body });
    expect(res.body.issue.some((issue: { severity: string; expression: string[] }) => issue.severity === 'error' && issue.expression[0] === 'ServiceRequest.code')).toBe(true);
  });

  it('refuses an unknown profile with 400', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: referralTask() }, { name: 'profile', valueCanonical: 'http://example.org/nope' }] };
    const res = await server.request('POST', '/fhir/Task/$validate', { body });
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toEqual({ severity: 'error', code: 'not-supported', diagnostics: 'Profile http://example.org/nope is not known to this server', expression: ['Parameters.parameter[profile]'] });
  });

  it('validates a stored instance, and hides instances the caller may not see', async () => {
    const stored = await server.request('POST', '/fhir/Task', { body: referralTask({ status: 'received', for: { reference: 'Patient/someone-else' }, requester: { reference: 'Organization/other' } }) });
    const admin = await server.request('POST', `/fhir/Task/${stored.body.id}/$validate`, { body: { resourceType: 'Parameters', parameter: [{ name: 'profile', valueCanonical: 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement' }] } });
    expect(admin.body.issue.find((issue: { severity: string }) => issue.severity === 'error').expression).toEqual(['Task.status']);
    const hidden = await server.request('POST', `/fhir/Task/${stored.body.id}/$validate`, { token: ehr, body: { resourceType: 'Parameters', parameter: [] } });
    expect(hidden.status).toBe(404);
    expect(hidden.body.issue[0].diagnostics).toBe(`Task/${stored.body.id} is not known`);
  });
});
