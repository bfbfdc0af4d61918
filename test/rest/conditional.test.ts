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

const system = (name: string) => `urn:test:conditional:${name}:${randomUUID().slice(0, 8)}`;

const patient = (family: string, identifier?: { system: string; value: string }) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Cy'] }],
  ...(identifier ? { identifier: [identifier] } : {}),
});

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

async function historyTotal(path: string): Promise<number> {
  const res = await server.request('GET', `/fhir/${path}/_history?_count=1`);
  expect(res.status).toBe(200);
  return res.body.total as number;
}

const conditionalCreate = (criteria: string, body: unknown) =>
  server.request('POST', '/fhir/Patient', { body, headers: { 'if-none-exist': criteria } });

describe('conditional create (If-None-Exist)', () => {
  it('creates on the first call and returns the existing resource with 200 on the second', async () => {
    const sys = system('create');
    const first = await conditionalCreate(`identifier=${sys}|1`, patient('First', { system: sys, value: '1' }));
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${server.fhir}/Patient/${first.body.id}/_history/1`);

    const second = await conditionalCreate(`identifier=${sys}|1`, patient('Second', { system: sys, value: '1' }));
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.name[0].family).toBe('First');
    expect(second.body.meta.versionId).toBe('1');
    expect(second.headers.get('etag')).toBe('W/"1"');

    const found = await search(`identifier=${sys}|1`);
    expect(found.total).toBe(1);
    expect(await historyTotal(`Patient/${first.body.id}`)).toBe(1);

    // Other criteria do not match it, so they create.
    const other = await conditionalCreate(`identifier=${sys}|2`, patient('Other', { system: sys, value: '2' }));
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('answers 412 when the criteria match more than one resource, and creates nothing', async () => {
    const sys = system('create-many');
    await createPatient('A', { system: sys, value: '1' });
    await createPatient('B', { system: sys, value: '1' });
    const before = await historyTotal('Patient');
    const res = await conditionalCreate(`identifier=${sys}|1`, patient('C', { system: sys, value: '1' }));
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await search(`identifier=${sys}|1`)).total).toBe(2);
    expect(await historyTotal('Patient')).toBe(before);
  });

  it('answers 400 to an unknown search parameter in If-None-Exist rather than ignoring it', async () => {
    const sys = system('create-unknown');
    await createPatient('Existing', { system: sys, value: '1' });
    const before = await historyTotal('Patient');
    for (const criteria of [`no-such-param=${sys}`, `identifier=${sys}|1&no-such-param=x`, `identifier:fancy=${sys}|1`, `nickname=Existing`]) {
      const res = await conditionalCreate(criteria, patient('New', { system: sys, value: '1' }));
      expect(res.status, criteria).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].severity).toBe('error');
    }
    expect((await search(`identifier=${sys}|1`)).total).toBe(1);
    expect(await historyTotal('Patient')).toBe(before);
  });

  it('creates exactly one resource when 10 identical conditional creates race', async () => {
    const sys = system('create-race');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => conditionalCreate(`identifier=${sys}|1`, patient(`Racer${i}`, { system: sys, value: '1' }))),
    );
    const statuses = results.map((res) => res.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(results.map((res) => res.body.id));
    expect(ids.size).toBe(1);

    const found = await search(`identifier=${sys}|1`);
    expect(found.total).toBe(1);
    expect(found.entry[0].resource.id).toBe([...ids][0]);
  });
});

describe('conditional update (PUT [type]?criteria)', () => {
  it('creates with 201 when nothing matches, then updates the one match with 200', async () => {
    const sys = system('update');
    const created = await server.request('PUT', `/fhir/Patient?identifier=${sys}|1`, { body: patient('Created', { system: sys, value: '1' }) });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(created.body.meta.versionId).toBe('1');
    const id = created.body.id;

    const updated = await server.request('PUT', `/fhir/Patient?identifier=${sys}|1`, { body: patient('Updated', { system: sys, value: '1' }) });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(id);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.headers.get('location')).toBe(`${server.fhir}/Patient/${id}/_history/2`);

    const found = await search(`identifier=${sys}|1`);
    expect(found.total).toBe(1);
    expect(found.entry[0].resource.name[0].family).toBe('Updated');
  });

  it('updates a resource created through the normal API and keeps its id', async () => {
    const sys = system('update-existing');
    const id = await createPatient('Before', { system: sys, value: '1' });
    const res = await server.request('PUT', `/fhir/Patient?identifier=${sys}|1`, { body: patient('After', { system: sys, value: '1' }) });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id);
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('After');
    expect(read.headers.get('etag')).toBe('W/"2"');
  });

  it('answers 412 when two resources match, and changes neither', async () => {
    const sys = system('update-many');
    const a = await createPatient('A', { system: sys, value: '1' });
    const b = await createPatient('B', { system: sys, value: '1' });
    const res = await server.request('PUT', `/fhir/Patient?identifier=${sys}|1`, { body: patient('Which', { system: sys, value: '1' }) });
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    for (const id of [a, b]) {
      const read = await server.request('GET', `/fhir/Patient/${id}`);
      expect(read.body.meta.versionId).toBe('1');
    }
    expect((await search(`identifier=${sys}|1`)).total).toBe(2);
  });

  it('answers 400 to an unknown search parameter in the criteria and changes nothing', async () => {
    const sys = system('update-unknown');
    const id = await createPatient('Kept', { system: sys, value: '1' });
    const res = await server.request('PUT', `/fhir/Patient?identifier=${sys}|1&no-such-param=1`, { body: patient('Changed', { system: sys, value: '1' }) });
    expect(res.status).toBe(400);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).body.meta.versionId).toBe('1');
    expect((await search(`identifier=${sys}|1`)).total).toBe(1);
  });

  it('creates exactly one resource when 10 conditional updates with no match race', async () => {
    const sys = system('update-race');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        server.request('PUT', `/fhir/Patient?identifier=${sys}|1`, { body: patient(`Racer${i}`, { system: sys, value: '1' }) }),
      ),
    );
    expect(results.map((res) => res.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((res) => res.body.id)).size).toBe(1);
    const found = await search(`identifier=${sys}|1`);
    expect(found.total).toBe(1);
    expect(found.entry[0].resource.meta.versionId).toBe('10');
  });
});

describe('conditional delete (DELETE [type]?criteria)', () => {
  it('deletes the one match', async () => {
    const sys = system('delete');
    const doomed = await createPatient('Doomed', { system: sys, value: '1' });
    const keeper = await createPatient('Keeper', { system: sys, value: '2' });
    const res = await server.request('DELETE', `/fhir/Patient?identifier=${sys}|1`);
    expect([200, 204]).toContain(res.status);
    expect((await server.request('GET', `/fhir/Patient/${doomed}`)).status).toBe(410);
    expect((await server.request('GET', `/fhir/Patient/${keeper}`)).status).toBe(200);
    expect((await search(`identifier=${sys}|1`)).total).toBe(0);
    expect(await historyTotal(`Patient/${doomed}`)).toBe(2);
  });

  it('answers 412 when two resources match, and deletes neither', async () => {
    const sys = system('delete-many');
    const a = await createPatient('A', { system: sys, value: '1' });
    const b = await createPatient('B', { system: sys, value: '1' });
    const res = await server.request('DELETE', `/fhir/Patient?identifier=${sys}|1`);
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await server.request('GET', `/fhir/Patient/${a}`)).status).toBe(200);
    expect((await server.request('GET', `/fhir/Patient/${b}`)).status).toBe(200);
  });

  it('answers 400 to criteria with an unknown parameter instead of deleting more than meant', async () => {
    const sys = system('delete-unknown');
    const id = await createPatient('Safe', { system: sys, value: '1' });
    for (const query of [`identifier=${sys}|1&no-such-param=x`, `no-such-param=x`]) {
      const res = await server.request('DELETE', `/fhir/Patient?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    expect((await server.request('GET', `/fhir/Patient/${id}`)).status).toBe(200);
    expect(await historyTotal(`Patient/${id}`)).toBe(1);
  });
});

describe('versioned update (If-Match) under concurrency', () => {
  it('lets exactly one of 10 parallel PUTs with If-Match W/"1" win; the others fail and the resource ends at version 2', async () => {
    const id = await createPatient('Contended');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient(`Writer${i}`), id }, headers: { 'if-match': 'W/"1"' } }),
      ),
    );
    const winners = results.filter((res) => res.status === 200);
    const losers = results.filter((res) => res.status !== 200);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(9);
    for (const loser of losers) {
      expect([409, 412]).toContain(loser.status);
      expect(loser.body.resourceType).toBe('OperationOutcome');
    }
    expect(winners[0].body.meta.versionId).toBe('2');

    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.meta.versionId).toBe('2');
    expect(read.body.name[0].family).toBe(winners[0].body.name[0].family);
    expect(await historyTotal(`Patient/${id}`)).toBe(2);
  });

  it('accepts an If-Match naming the current version and rejects a stale one with 412', async () => {
    const id = await createPatient('Versioned');
    const stale = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Stale'), id }, headers: { 'if-match': 'W/"2"' } });
    expect(stale.status).toBe(412);
    const fresh = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Fresh'), id }, headers: { 'if-match': 'W/"1"' } });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('etag')).toBe('W/"2"');
  });
});
