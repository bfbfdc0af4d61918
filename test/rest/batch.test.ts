import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const system = (name: string) => `urn:test:batch:${name}:${randomUUID().slice(0, 8)}`;

const patient = (family: string, identifier?: { system: string; value: string }) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Bo'] }],
  ...(identifier ? { identifier: [identifier] } : {}),
});

const batch = (entry: Json[]) => ({ resourceType: 'Bundle', type: 'batch', entry });
const postBatch = (entry: Json[]) => server.request('POST', '/fhir', { body: batch(entry) });

async function createPatient(family: string, identifier?: { system: string; value: string }): Promise<string> {
  const res = await server.request('POST', '/fhir/Patient', { body: patient(family, identifier) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function search(criteria: string): Promise<Json> {
  const res = await server.request('GET', `/fhir/Patient?${criteria}`);
  expect(res.status).toBe(200);
  return res.body;
}

const expectOutcome = (entry: Json, status: string, expression?: RegExp) => {
  expect(entry.response.status).toBe(status);
  expect(entry.response.outcome.resourceType).toBe('OperationOutcome');
  expect(entry.response.outcome.issue.length).toBeGreaterThan(0);
  expect(entry.response.outcome.issue[0].severity).toBe('error');
  if (expression) {
    expect(entry.response.outcome.issue.some((issue: Json) => expression.test(issue.expression?.[0] ?? ''))).toBe(true);
  }
  expect(entry.resource).toBeUndefined();
};

describe('batch', () => {
  it('processes each entry on its own: bad entries get their own status and outcome, good ones are stored', async () => {
    const sys = system('mixed');
    const existing = await createPatient('Existing', { system: sys, value: 'existing' });
    const toDelete = await createPatient('ToDelete', { system: sys, value: 'delete' });
    const toUpdate = await createPatient('ToUpdate', { system: sys, value: 'update' });

    const res = await postBatch([
      { request: { method: 'POST', url: 'Patient' }, resource: patient('Good', { system: sys, value: 'good' }) },
      { request: { method: 'POST', url: 'Patient' }, resource: { ...patient('Bad', { system: sys, value: 'bad' }), birthDate: 'yesterday' } },
      { request: { method: 'GET', url: `Patient/${existing}` } },
      { request: { method: 'GET', url: 'Patient/no-such-patient' } },
      { request: { method: 'PUT', url: `Patient/${toUpdate}` }, resource: { ...patient('Updated', { system: sys, value: 'update' }), id: toUpdate } },
      { request: { method: 'PUT', url: `Patient/${toUpdate}` }, resource: { ...patient('Mismatch'), id: 'not-the-url-id' } },
      { request: { method: 'DELETE', url: `Patient/${toDelete}` } },
      { request: { method: 'GET', url: `Patient?identifier=${sys}|existing` } },
    ]);

    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    expect(res.body.type).toBe('batch-response');
    const entries = res.body.entry as Json[];
    expect(entries).toHaveLength(8);

    // entry 0: created
    expect(entries[0].response.status).toBe('201 Created');
    expect(entries[0].response.location).toMatch(new RegExp(`^${server.fhir}/Patient/[0-9a-f-]{36}/_history/1$`));
    expect(entries[0].response.etag).toBe('W/"1"');
    expect(entries[0].resource.name[0].family).toBe('Good');
    // entry 1: schema error, reported in the entry and pointed into the bundle
    expectOutcome(entries[1], '400 Bad Request', /^Bundle\.entry\[1\]\.resource\.birthDate$/);
    // entry 2: read
    expect(entries[2].response.status).toBe('200 OK');
    expect(entries[2].response.etag).toBe('W/"1"');
    expect(entries[2].resource.resourceType).toBe('Patient');
    expect(entries[2].resource.id).toBe(existing);
    expect(entries[2].resource.name[0].family).toBe('Existing');
    // entry 3: unknown id
    expectOutcome(entries[3], '404 Not Found');
    // entry 4: update
    expect(entries[4].response.status).toBe('200 OK');
    expect(entries[4].response.etag).toBe('W/"2"');
    expect(entries[4].response.location).toBe(`${server.fhir}/Patient/${toUpdate}/_history/2`);
    // entry 5: id mismatch
    expectOutcome(entries[5], '400 Bad Request', /^Bundle\.entry\[5\]\.resource\.id$/);
    // entry 6: delete
    expect(entries[6].response.status).toBe('204 No Content');
    // entry 7: search
    expect(entries[7].response.status).toBe('200 OK');
    expect(entries[7].resource.resourceType).toBe('Bundle');
    expect(entries[7].resource.type).toBe('searchset');
    expect(entries[7].resource.total).toBe(1);
    expect(entries[7].resource.entry[0].resource.id).toBe(existing);

    // The good writes are stored, the bad ones are not.
    const good = await search(`identifier=${sys}|good`);
    expect(good.total).toBe(1);
    expect(good.entry[0].resource.id).toBe(entries[0].resource.id);
    expect((await search(`identifier=${sys}|bad`)).total).toBe(0);
    const updated = await server.request('GET', `/fhir/Patient/${toUpdate}`);
    expect(updated.body.name[0].family).toBe('Updated');
    expect(updated.body.meta.versionId).toBe('2');
    expect((await server.request('GET', `/fhir/Patient/${toDelete}`)).status).toBe(410);
  });

  it('keeps request order in the response and runs entries in that order', async () => {
    const sys = system('order');
    const res = await postBatch([
      { request: { method: 'GET', url: `Patient?identifier=${sys}|1` } },
      { request: { method: 'POST', url: 'Patient' }, resource: patient('First', { system: sys, value: '1' }) },
      { request: { method: 'GET', url: `Patient?identifier=${sys}|1` } },
      { request: { method: 'POST', url: 'Patient' }, resource: patient('Second', { system: sys, value: '2' }) },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expect(entries.map((entry) => entry.response.status)).toEqual(['200 OK', '201 Created', '200 OK', '201 Created']);
    expect(entries[1].resource.name[0].family).toBe('First');
    expect(entries[3].resource.name[0].family).toBe('Second');
    expect(entries[0].resource.total).toBe(0);
    expect(entries[2].resource.total).toBe(1);
    expect(entries[2].resource.entry[0].resource.id).toBe(entries[1].resource.id);
  });

  it('reports malformed entries (no request, bad method, PUT without resource) without failing the others', async () => {
    const sys = system('malformed');
    const res = await postBatch([
      { resource: patient('NoRequest', { system: sys, value: 'a' }) },
      { request: { method: 'POST', url: 'Patient' }, resource: patient('Fine', { system: sys, value: 'b' }) },
      { request: { method: 'FETCH', url: 'Patient' } },
      { request: { method: 'PUT', url: 'Patient/whatever' } },
      { request: { method: 'GET', url: 'NoSuchType/1' } },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expect(entries).toHaveLength(5);
    expectOutcome(entries[0], '400 Bad Request', /^Bundle\.entry\[0\]\.request$/);
    expect(entries[1].response.status).toBe('201 Created');
    expectOutcome(entries[2], '400 Bad Request', /^Bundle\.entry\[2\]\.request\.method$/);
    expectOutcome(entries[3], '400 Bad Request', /^Bundle\.entry\[3\]\.resource$/);
    expect(entries[4].response.status).toMatch(/^4\d\d/);
    expect(entries[4].response.outcome.resourceType).toBe('OperationOutcome');
    expect((await search(`identifier=${sys}|b`)).total).toBe(1);
    expect((await search(`identifier=${sys}|a`)).total).toBe(0);
  });

  it('gives a failed If-Match and a conditional create with several matches their own 412, and stores the rest', async () => {
    const sys = system('preconditions');
    const versioned = await createPatient('Versioned');
    await createPatient('Twin', { system: sys, value: 'twin' });
    await createPatient('Twin', { system: sys, value: 'twin' });
    const res = await postBatch([
      { request: { method: 'PUT', url: `Patient/${versioned}`, ifMatch: 'W/"3"' }, resource: { ...patient('Stale'), id: versioned } },
      { request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|twin` }, resource: patient('Third twin', { system: sys, value: 'twin' }) },
      { request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|single` }, resource: patient('Single', { system: sys, value: 'single' }) },
      { request: { method: 'PUT', url: `Patient/${versioned}`, ifMatch: 'W/"1"' }, resource: { ...patient('Fresh'), id: versioned } },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expectOutcome(entries[0], '412 Precondition Failed');
    expectOutcome(entries[1], '412 Precondition Failed');
    expect(entries[2].response.status).toBe('201 Created');
    expect(entries[3].response.status).toBe('200 OK');
    expect(entries[3].response.etag).toBe('W/"2"');

    expect((await search(`identifier=${sys}|twin`)).total).toBe(2);
    expect((await search(`identifier=${sys}|single`)).total).toBe(1);
    const stored = (await server.request('GET', `/fhir/Patient/${versioned}`)).body;
    expect(stored.name[0].family).toBe('Fresh');
    expect(stored.meta.versionId).toBe('2');
  });

  it('answers conditional reads in entries (ifNoneMatch) with 304 and no resource', async () => {
    const id = await createPatient('Cached');
    const res = await postBatch([
      { request: { method: 'GET', url: `Patient/${id}`, ifNoneMatch: 'W/"1"' } },
      { request: { method: 'GET', url: `Patient/${id}`, ifNoneMatch: 'W/"9"' } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('304 Not Modified');
    expect(res.body.entry[0].resource).toBeUndefined();
    expect(res.body.entry[1].response.status).toBe('200 OK');
    expect(res.body.entry[1].resource.id).toBe(id);
  });

  it('accepts absolute request URLs on this server and rejects those of another server per entry', async () => {
    const id = await createPatient('Absolute');
    const res = await postBatch([
      { request: { method: 'GET', url: `${server.fhir}/Patient/${id}` } },
      { request: { method: 'GET', url: `http://elsewhere.example.org/fhir/Patient/${id}` } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('200 OK');
    expect(res.body.entry[0].resource.id).toBe(id);
    expectOutcome(res.body.entry[1], '400 Bad Request', /^Bundle\.entry\[1\]\.request\.url$/);
  });

  it('answers an empty batch with an empty batch-response', async () => {
    const res = await postBatch([]);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    expect(res.body.entry ?? []).toEqual([]);
  });
});
