// The referral Task state machine on the write path: who may move a Task to which status, and what
// each status needs (SDOHCC TaskForReferralManagement). The hub (hub-staff) requests, the CBO owns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { consent, mealDelivery, patient, permitFor, task } from './fixture.ts';

let server: TestServer;
let hub: string;
let cbo: string;

const put = (token: string, body: { id: string }) => server.request('PUT', `/fhir/Task/${body.id}`, { token, body });
const current = async (id: string) => (await server.request('GET', `/fhir/Task/${id}`)).body;

beforeAll(async () => {
  server = await startTestServer();
  for (const resource of [patient('sm-1'), consent('c-sm-1', 'sm-1', permitFor('Organization/cbo-a'))]) {
    await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  }
  hub = await server.tokenFor('hub-staff', 'Organization/hub', ['HOPERAT']);
  cbo = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
});
afterAll(async () => {
  await server?.close();
});

describe('referral Task transitions', () => {
  it('the requester creates it requested; the owner accepts, starts and completes it with an outcome', async () => {
    const created = await server.request('POST', '/fhir/Task', { token: hub, body: task('x', 'sm-1', 'Organization/cbo-a', 'Organization/hub', { status: 'requested' }) });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await put(cbo, { ...(await current(id)), status: 'accepted' })).status).toBe(200);
    expect((await put(cbo, { ...(await current(id)), status: 'in-progress' })).status).toBe(200);
    const procedure = await server.request('POST', '/fhir/Procedure', { token: cbo, body: mealDelivery('sm-1') });
    const output = [{ type: { text: 'service delivered' }, valueReference: { reference: `Procedure/${procedure.body.id}` } }];
    expect((await put(cbo, { ...(await current(id)), status: 'completed', output })).status).toBe(200);
    const finished = await put(hub, { ...(await current(id)), status: 'cancelled', statusReason: { text: 'too late' } });
    expect(finished.status).toBe(409);
    expect(finished.body.issue[0].expression).toEqual(['Task.status']);
  });

  it('a create in any other status is refused', async () => {
    const res = await server.request('POST', '/fhir/Task', { token: hub, body: task('x', 'sm-1', 'Organization/cbo-a', 'Organization/hub', { status: 'in-progress' }) });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Task.status']);
  });

  it('skipping a step is a 409 naming from, to and the acting party', async () => {
    const created = await server.request('POST', '/fhir/Task', { token: hub, body: task('x', 'sm-1', 'Organization/cbo-a', 'Organization/hub', { status: 'requested' }) });
    const res = await put(cbo, { ...(await current(created.body.id)), status: 'completed', output: [{ type: { text: 'x' }, valueReference: { reference: 'Procedure/none' } }] });
    expect(res.status).toBe(409);
    expect(res.body.issue).toEqual([{ severity: 'error', code: 'conflict', diagnostics: expect.stringContaining('cannot go from requested to completed as owner'), expression: ['Task.status'] }]);
  });

  it('only the owner accepts: the requester cannot accept its own referral', async () => {
    const created = await server.request('POST', '/fhir/Task', { token: hub, body: task('x', 'sm-1', 'Organization/cbo-a', 'Organization/hub', { status: 'requested' }) });
    const res = await put(hub, { ...(await current(created.body.id)), status: 'accepted' });
    expect(res.status).toBe(409);
    expect(res.body.issue[0].diagnostics).toContain('as requester');
  });

  it('a rejection needs a reason; with one it goes through', async () => {
    const created = await server.request('POST', '/fhir/Task', { token: hub, body: task('x', 'sm-1', 'Organization/cbo-a', 'Organization/hub', { status: 'requested' }) });
    const bare = await put(cbo, { ...(await current(created.body.id)), status: 'rejected' });
    expect(bare.status).toBe(422);
    expect(bare.body.issue[0].expression).toEqual(['Task.statusReason']);
    const reasoned = await put(cbo, { ...(await current(created.body.id)), status: 'rejected', statusReason: { text: 'at capacity' } });
    expect(reasoned.status).toBe(200);
  });

  it('completing without an outcome is refused', async () => {
    const created = await server.request('POST', '/fhir/Task', { token: hub, body: task('x', 'sm-1', 'Organization/cbo-a', 'Organization/hub', { status: 'requested' }) });
    await put(cbo, { ...(await current(created.body.id)), status: 'accepted' });
    const res = await put(cbo, { ...(await current(created.body.id)), status: 'completed' });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Task.output']);
  });
});
