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

const patient = (id: string | undefined, family = 'Rivera') => ({
  resourceType: 'Patient',
  ...(id ? { id } : {}),
  name: [{ family, given: ['Ana'] }],
  birthDate: '1980-02-03',
});
const newId = () => `t-${randomUUID()}`;
const PATCH = { 'content-type': 'application/json-patch+json' };

async function created(family = 'Rivera') {
  const res = await server.request('POST', '/fhir/Patient', { body: patient(undefined, family) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function historyOf(id: string) {
  const res = await server.request('GET', `/fhir/Patient/${id}/_history`);
  expect(res.status).toBe(200);
  return res.body;
}

describe('update (PUT)', () => {
  it('creates a resource at a client-chosen id with 201, then updates it with 200', async () => {
    const id = newId();
    expect((await server.request('GET', `/fhir/Patient/${id}`)).status).toBe(404);

    const first = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'First') });
    expect(first.status).toBe(201);
    expect(first.body.id).toBe(id);
    expect(first.body.meta.versionId).toBe('1');
    expect(first.headers.get('etag')).toBe('W/"1"');
    expect(first.headers.get('location')).toBe(`${server.fhir}/Patient/${id}/_history/1`);

    const second = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient(id, 'Second'), meta: { versionId: '42' } } });
    expect(second.status).toBe(200);
    expect(second.body.meta.versionId).toBe('2');
    expect(second.headers.get('etag')).toBe('W/"2"');
    expect(second.headers.get('location')).toBe(`${server.fhir}/Patient/${id}/_history/2`);

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('Second');
    expect(read.body.meta.versionId).toBe('2');
    expect((await server.request('GET', `/fhir/Patient/${id}/_history/1`)).body.name[0].family).toBe('First');
  });

  it('rejects a body without an id with 400 and stores nothing', async () => {
    const id = newId();
    const res = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(undefined) });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].severity).toBe('error');
    expect((await server.request('GET', `/fhir/Patient/${id}`)).status).toBe(404);
  });

  it('rejects a body id that differs from the URL id with 400 and leaves the resource unchanged', async () => {
    const id = await created('Kept');
    const res = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient('some-other-id', 'Changed') });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('Kept');
    expect(read.body.meta.versionId).toBe('1');
    expect((await server.request('GET', '/fhir/Patient/some-other-id')).status).toBe(404);
  });

  it('applies a versioned update when If-Match names the current version, else 412', async () => {
    const id = await created('V1');
    const v2 = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'V2'), headers: { 'if-match': 'W/"1"' } });
    expect(v2.status).toBe(200);
    expect(v2.body.meta.versionId).toBe('2');

    const stale = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'Stale'), headers: { 'if-match': 'W/"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('V2');
    expect(read.body.meta.versionId).toBe('2');

    const v3 = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'V3'), headers: { 'if-match': 'W/"2"' } });
    expect(v3.status).toBe(200);
    expect(v3.body.meta.versionId).toBe('3');
  });

  it('is 412 for If-Match on a resource that does not exist yet, and creates nothing', async () => {
    const id = newId();
    const res = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id), headers: { 'if-match': 'W/"1"' } });
    expect(res.status).toBe(412);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).status).toBe(404);
  });
});

describe('patch (JSON Patch)', () => {
  it('applies add, replace, remove and test operations as a new version', async () => {
    const id = await created('Before');
    const res = await server.request('PATCH', `/fhir/Patient/${id}`, {
      headers: PATCH,
      body: [
        { op: 'test', path: '/name/0/family', value: 'Before' },
        { op: 'replace', path: '/name/0/family', value: 'After' },
        { op: 'add', path: '/name/0/given/-', value: 'Luz' },
        { op: 'add', path: '/gender', value: 'female' },
        { op: 'remove', path: '/birthDate' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.meta.versionId).toBe('2');
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(res.body.name[0]).toEqual({ family: 'After', given: ['Ana', 'Luz'] });
    expect(res.body.gender).toBe('female');
    expect(res.body.birthDate).toBeUndefined();

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('After');
    expect(read.body.gender).toBe('female');
    expect('birthDate' in read.body).toBe(false);
    expect(read.body.meta.versionId).toBe('2');
    expect((await server.request('GET', `/fhir/Patient/${id}/_history/1`)).body.birthDate).toBe('1980-02-03');
  });

  it('is 422 when a test operation fails, and writes nothing', async () => {
    const id = await created('Unchanged');
    const res = await server.request('PATCH', `/fhir/Patient/${id}`, {
      headers: PATCH,
      body: [
        { op: 'replace', path: '/name/0/family', value: 'Changed' },
        { op: 'test', path: '/birthDate', value: '1999-01-01' },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('Unchanged');
    expect(read.body.meta.versionId).toBe('1');
  });

  it('is 400 when the patch would change the id, and writes nothing', async () => {
    const id = await created();
    const changed = await server.request('PATCH', `/fhir/Patient/${id}`, { headers: PATCH, body: [{ op: 'replace', path: '/id', value: 'stolen-id' }] });
    expect(changed.status).toBe(400);
    expect(changed.body.resourceType).toBe('OperationOutcome');
    const removed = await server.request('PATCH', `/fhir/Patient/${id}`, { headers: PATCH, body: [{ op: 'remove', path: '/id' }] });
    expect(removed.status).toBe(400);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).body.meta.versionId).toBe('1');
    expect((await server.request('GET', '/fhir/Patient/stolen-id')).status).toBe(404);
  });

  it('honours If-Match: 200 for the current version, 412 for a stale one', async () => {
    const id = await created();
    const ok = await server.request('PATCH', `/fhir/Patient/${id}`, {
      headers: { ...PATCH, 'if-match': 'W/"1"' },
      body: [{ op: 'add', path: '/gender', value: 'male' }],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.meta.versionId).toBe('2');

    const stale = await server.request('PATCH', `/fhir/Patient/${id}`, {
      headers: { ...PATCH, 'if-match': 'W/"1"' },
      body: [{ op: 'replace', path: '/gender', value: 'female' }],
    });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.gender).toBe('male');
    expect(read.body.meta.versionId).toBe('2');
  });

  it('is 415 for a patch sent as application/fhir+json', async () => {
    const id = await created();
    const res = await server.request('PATCH', `/fhir/Patient/${id}`, { body: [{ op: 'add', path: '/gender', value: 'male' }] });
    expect(res.status).toBe(415);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.gender).toBeUndefined();
    expect(read.body.meta.versionId).toBe('1');
  });

  it('is 400 when the patched resource is invalid, and nothing is written', async () => {
    const id = await created('Valid');
    const res = await server.request('PATCH', `/fhir/Patient/${id}`, {
      headers: PATCH,
      body: [
        { op: 'replace', path: '/name/0/family', value: 'Invalid' },
        { op: 'add', path: '/gender', value: 'robot' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body.issue)).toContain('gender');

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('Valid');
    expect(read.body.gender).toBeUndefined();
    expect(read.body.meta.versionId).toBe('1');
    const history = await historyOf(id);
    expect(history.total).toBe(1);
  });

  it('is 400 for a body that is not a JSON Patch document', async () => {
    const id = await created();
    const res = await server.request('PATCH', `/fhir/Patient/${id}`, { headers: PATCH, body: { op: 'add', path: '/gender', value: 'male' } });
    expect(res.status).toBe(400);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).body.meta.versionId).toBe('1');
  });

  it('is 404 for an unknown id and 410 for a deleted resource', async () => {
    const unknown = await server.request('PATCH', `/fhir/Patient/${newId()}`, { headers: PATCH, body: [{ op: 'add', path: '/gender', value: 'male' }] });
    expect(unknown.status).toBe(404);
    const id = await created();
    expect((await server.request('DELETE', `/fhir/Patient/${id}`)).status).toBe(204);
    const gone = await server.request('PATCH', `/fhir/Patient/${id}`, { headers: PATCH, body: [{ op: 'add', path: '/gender', value: 'male' }] });
    expect(gone.status).toBe(410);
  });
});

describe('delete', () => {
  it('deletes with 204; a read is then 410 Gone with an OperationOutcome', async () => {
    const id = await created();
    const res = await server.request('DELETE', `/fhir/Patient/${id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.status).toBe(410);
    expect(read.body.resourceType).toBe('OperationOutcome');
    expect(read.body.issue[0].code).toBe('deleted');
    // Past versions stay readable.
    expect((await server.request('GET', `/fhir/Patient/${id}/_history/1`)).status).toBe(200);
  });

  it('keeps the deletion in history as a version without a resource', async () => {
    const id = await created();
    await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'Two') });
    expect((await server.request('DELETE', `/fhir/Patient/${id}`)).status).toBe(204);
    const history = await historyOf(id);
    expect(history.total).toBe(3);
    expect(history.entry).toHaveLength(3);
    const [tombstone, v2, v1] = history.entry;
    expect(tombstone.request.method).toBe('DELETE');
    expect(tombstone.request.url).toBe(`Patient/${id}`);
    expect(tombstone.resource).toBeUndefined();
    expect(tombstone.response.etag).toBe('W/"3"');
    expect(v2.resource.meta.versionId).toBe('2');
    expect(v1.resource.meta.versionId).toBe('1');
    expect((await server.request('GET', `/fhir/Patient/${id}/_history/3`)).status).toBe(410);
  });

  it('answers 204 to deleting an already deleted resource without adding a version', async () => {
    const id = await created();
    expect((await server.request('DELETE', `/fhir/Patient/${id}`)).status).toBe(204);
    expect((await server.request('DELETE', `/fhir/Patient/${id}`)).status).toBe(204);
    const history = await historyOf(id);
    expect(history.total).toBe(2);
    expect(history.entry.filter((entry: { request: { method: string } }) => entry.request.method === 'DELETE')).toHaveLength(1);
  });

  it('is 404 for an unknown id', async () => {
    const res = await server.request('DELETE', `/fhir/Patient/${newId()}`);
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('is 412 for a stale If-Match and keeps the resource', async () => {
    const id = await created();
    await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'Two') });
    expect((await server.request('DELETE', `/fhir/Patient/${id}`, { headers: { 'if-match': 'W/"1"' } })).status).toBe(412);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).status).toBe(200);
    expect((await server.request('DELETE', `/fhir/Patient/${id}`, { headers: { 'if-match': 'W/"2"' } })).status).toBe(204);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).status).toBe(410);
  });

  it('recreates a deleted resource on PUT with 201 and the next version number', async () => {
    const id = await created('Original');
    expect((await server.request('DELETE', `/fhir/Patient/${id}`)).status).toBe(204);
    const recreated = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'Reborn') });
    expect(recreated.status).toBe(201);
    expect(recreated.body.meta.versionId).toBe('3');
    expect(recreated.headers.get('location')).toBe(`${server.fhir}/Patient/${id}/_history/3`);

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.name[0].family).toBe('Reborn');
    expect(read.headers.get('etag')).toBe('W/"3"');

    const again = await server.request('PUT', `/fhir/Patient/${id}`, { body: patient(id, 'Updated') });
    expect(again.status).toBe(200);
    expect(again.body.meta.versionId).toBe('4');
    expect((await historyOf(id)).total).toBe(4);
  });
});
