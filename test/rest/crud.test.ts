import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const patient = (family = 'Rivera') => ({ resourceType: 'Patient', name: [{ family, given: ['Ana'] }], birthDate: '1980-02-03' });

describe('create', () => {
  it('assigns id, versionId and lastUpdated and returns Location, ETag and Last-Modified', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), id: 'client-chosen', meta: { versionId: '99' } } });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.id).not.toBe('client-chosen');
    expect(res.body.meta.versionId).toBe('1');
    expect(Date.parse(res.body.meta.lastUpdated)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.headers.get('location')).toBe(`${server.fhir}/Patient/${res.body.id}/_history/1`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('last-modified')).toBe(new Date(res.body.meta.lastUpdated).toUTCString());
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await server.request('POST', '/fhir/Patient', { body: patient(), headers: { prefer: 'return=minimal' } });
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.get('location')).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
    const outcome = await server.request('POST', '/fhir/Patient', { body: patient(), headers: { prefer: 'return=OperationOutcome' } });
    expect(outcome.status).toBe(201);
    expect(outcome.body.resourceType).toBe('OperationOutcome');
    expect(outcome.body.issue[0].severity).toBe('information');
  });
});

describe('read and vread', () => {
  it('reads the current version and each past version', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient('One') });
    const id = created.body.id;
    const updated = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Two'), id } });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.name[0].family).toBe('Two');
    expect(read.headers.get('etag')).toBe('W/"2"');

    const v1 = await server.request('GET', `/fhir/Patient/${id}/_history/1`);
    expect(v1.status).toBe(200);
    expect(v1.body.name[0].family).toBe('One');
    expect(v1.headers.get('etag')).toBe('W/"1"');
    expect((await server.request('GET', `/fhir/Patient/${id}/_history/7`)).status).toBe(404);
  });

  it('is 404 for an unknown id', async () => {
    const res = await server.request('GET', '/fhir/Patient/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('answers 304 to If-None-Match and If-Modified-Since when unchanged', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const path = `/fhir/Patient/${created.body.id}`;
    expect((await server.request('GET', path, { headers: { 'if-none-match': 'W/"1"' } })).status).toBe(304);
    expect((await server.request('GET', path, { headers: { 'if-none-match': 'W/"2"' } })).status).toBe(200);
    const lastModified = created.headers.get('last-modified')!;
    expect((await server.request('GET', path, { headers: { 'if-modified-since': lastModified } })).status).toBe(304);
    const before = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await server.request('GET', path, { headers: { 'if-modified-since': before } })).status).toBe(200);
  });
});
