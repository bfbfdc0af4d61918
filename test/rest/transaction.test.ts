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

const urn = () => `urn:uuid:${randomUUID()}`;
/** An identifier system of its own for each test, so tests never see each other's data. */
const system = (name: string) => `urn:test:transaction:${name}:${randomUUID().slice(0, 8)}`;

const patient = (family: string, identifier?: { system: string; value: string }) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Tess'] }],
  ...(identifier ? { identifier: [identifier] } : {}),
});

const observation = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'transaction test' },
  ...extra,
});

const transaction = (entry: Json[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });

const postTransaction = (entry: Json[]) => server.request('POST', '/fhir', { body: transaction(entry) });

async function createPatient(family: string, identifier?: { system: string; value: string }): Promise<string> {
  const res = await server.request('POST', '/fhir/Patient', { body: patient(family, identifier) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function search(type: string, criteria: string): Promise<Json> {
  const res = await server.request('GET', `/fhir/${type}?${criteria}`);
  expect(res.status).toBe(200);
  return res.body;
}

const searchTotal = async (type: string, criteria: string): Promise<number> => (await search(type, criteria)).total;

async function historyTotal(type: string): Promise<number> {
  const res = await server.request('GET', `/fhir/${type}/_history?_count=1`);
  expect(res.status).toBe(200);
  return res.body.total as number;
}

/** `Patient/abc` from `http://host/fhir/Patient/abc/_history/1`. */
const idFromLocation = (location: string) => /\/([A-Za-z]+)\/([^/]+)\/_history\/\d+$/.exec(location)!.slice(1).join('/');

describe('transaction response', () => {
  it('answers with a transaction-response whose entries follow request order, each with status, location and etag', async () => {
    const putId = `tx-put-${randomUUID().slice(0, 8)}`;
    const existing = await createPatient('Existing');
    const res = await postTransaction([
      { request: { method: 'PUT', url: `Patient/${putId}` }, resource: { ...patient('PutCreated'), id: putId } },
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Posted') },
      { request: { method: 'PUT', url: `Patient/${existing}` }, resource: { ...patient('Updated'), id: existing } },
      { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation() },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    expect(res.body.type).toBe('transaction-response');
    const entries = res.body.entry as Json[];
    expect(entries).toHaveLength(4);

    expect(entries[0].response.status).toBe('201 Created');
    expect(entries[0].response.location).toBe(`${server.fhir}/Patient/${putId}/_history/1`);
    expect(entries[0].response.etag).toBe('W/"1"');
    expect(entries[0].resource.name[0].family).toBe('PutCreated');

    expect(entries[1].response.status).toBe('201 Created');
    expect(entries[1].response.location).toMatch(new RegExp(`^${server.fhir}/Patient/[0-9a-f-]{36}/_history/1$`));
    expect(entries[1].response.etag).toBe('W/"1"');
    expect(Date.parse(entries[1].response.lastModified)).toBeGreaterThan(Date.now() - 60_000);
    expect(entries[1].resource.name[0].family).toBe('Posted');
    expect(entries[1].response.location).toContain(entries[1].resource.id);

    expect(entries[2].response.status).toBe('200 OK');
    expect(entries[2].response.location).toBe(`${server.fhir}/Patient/${existing}/_history/2`);
    expect(entries[2].response.etag).toBe('W/"2"');

    expect(entries[3].response.status).toBe('201 Created');
    expect(entries[3].response.location).toMatch(/\/Observation\/[0-9a-f-]{36}\/_history\/1$/);
    expect(entries[3].resource.resourceType).toBe('Observation');

    // And the writes are really there.
    const posted = await server.request('GET', `/fhir/${idFromLocation(entries[1].response.location)}`);
    expect(posted.status).toBe(200);
    expect(posted.body.name[0].family).toBe('Posted');
    const updated = await server.request('GET', `/fhir/Patient/${existing}`);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.body.name[0].family).toBe('Updated');
    expect((await server.request('GET', `/fhir/Patient/${putId}`)).status).toBe(200);
  });

  it('omits written resources with Prefer: return=minimal but keeps status and location', async () => {
    const existing = await createPatient('ReadMe');
    const res = await server.request('POST', '/fhir', {
      body: transaction([
        { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Minimal') },
        { request: { method: 'GET', url: `Patient/${existing}` } },
      ]),
      headers: { prefer: 'return=minimal' },
    });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('201 Created');
    expect(res.body.entry[0].response.location).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
    expect(res.body.entry[0].resource).toBeUndefined();
    // A read entry answers with what it read, whatever Prefer says about writes.
    expect(res.body.entry[1].response.status).toBe('200 OK');
    expect(res.body.entry[1].resource.id).toBe(existing);
  });
});

describe('urn:uuid placeholders', () => {
  it('rewrites every reference to an entry fullUrl, in nested elements, arrays and a PUT entry', async () => {
    const patientUrn = urn();
    const practitionerUrn = urn();
    const observationUrn = urn();
    const encounterId = `tx-enc-${randomUUID().slice(0, 8)}`;
    const encounterUrn = urn();
    const res = await postTransaction([
      {
        fullUrl: observationUrn,
        request: { method: 'POST', url: 'Observation' },
        resource: observation({
          subject: { reference: patientUrn, display: 'the patient' },
          performer: [{ reference: practitionerUrn }, { reference: patientUrn }],
          extension: [{ url: 'http://example.org/fhir/StructureDefinition/recorder', valueReference: { reference: practitionerUrn } }],
          encounter: { reference: encounterUrn },
        }),
      },
      {
        fullUrl: encounterUrn,
        request: { method: 'PUT', url: `Encounter/${encounterId}` },
        resource: {
          resourceType: 'Encounter',
          id: encounterId,
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: patientUrn },
          participant: [{ individual: { reference: practitionerUrn } }],
        },
      },
      { fullUrl: patientUrn, request: { method: 'POST', url: 'Patient' }, resource: patient('Referenced') },
      {
        fullUrl: practitionerUrn,
        request: { method: 'POST', url: 'Practitioner' },
        resource: { resourceType: 'Practitioner', name: [{ family: 'Doc' }] },
      },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    const observationRef = idFromLocation(entries[0].response.location);
    const patientRef = idFromLocation(entries[2].response.location);
    const practitionerRef = idFromLocation(entries[3].response.location);
    expect(patientRef).toMatch(/^Patient\/[0-9a-f-]{36}$/);
    expect(practitionerRef).toMatch(/^Practitioner\/[0-9a-f-]{36}$/);

    const storedObservation = (await server.request('GET', `/fhir/${observationRef}`)).body;
    expect(storedObservation.subject).toEqual({ reference: patientRef, display: 'the patient' });
    expect(storedObservation.performer).toEqual([{ reference: practitionerRef }, { reference: patientRef }]);
    expect(storedObservation.extension[0].valueReference.reference).toBe(practitionerRef);
    expect(storedObservation.encounter.reference).toBe(`Encounter/${encounterId}`);
    expect(JSON.stringify(storedObservation)).not.toContain('urn:uuid');

    const storedEncounter = (await server.request('GET', `/fhir/Encounter/${encounterId}`)).body;
    expect(storedEncounter.subject.reference).toBe(patientRef);
    expect(storedEncounter.participant[0].individual.reference).toBe(practitionerRef);

    // The references point at resources that really exist.
    expect((await server.request('GET', `/fhir/${patientRef}`)).body.name[0].family).toBe('Referenced');
    expect((await server.request('GET', `/fhir/${practitionerRef}`)).body.name[0].family).toBe('Doc');
    // The response bodies carry the rewritten references too.
    expect(entries[0].resource.subject.reference).toBe(patientRef);
  });

  it('rejects a reference to a urn:uuid that no entry has as fullUrl with 400, and writes nothing', async () => {
    const sys = system('dangling');
    const before = await historyTotal('Patient');
    const res = await postTransaction([
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Dangling', { system: sys, value: '1' }) },
      { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: urn() } }) },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[1\]\.resource\.subject/);
    expect(await searchTotal('Patient', `identifier=${sys}|1`)).toBe(0);
    expect(await historyTotal('Patient')).toBe(before);
  });

  it('rejects two entries that change the same resource with 400, and writes nothing', async () => {
    const sys = system('overlap');
    const id = await createPatient('Overlap');
    for (const second of [
      { request: { method: 'PUT', url: `Patient/${id}` }, resource: { ...patient('Twice'), id } },
      { request: { method: 'DELETE', url: `Patient/${id}` } },
    ]) {
      const res = await postTransaction([
        { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Side effect', { system: sys, value: '1' }) },
        { request: { method: 'PUT', url: `Patient/${id}` }, resource: { ...patient('Once'), id } },
        second,
      ]);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    expect(await searchTotal('Patient', `identifier=${sys}|1`)).toBe(0);
    const stored = (await server.request('GET', `/fhir/Patient/${id}`)).body;
    expect(stored.meta.versionId).toBe('1');
    expect(stored.name[0].family).toBe('Overlap');
  });

  it('rejects two entries with the same fullUrl with 400', async () => {
    const sys = system('dup-fullurl');
    const shared = urn();
    const before = await historyTotal('Patient');
    const res = await postTransaction([
      { fullUrl: shared, request: { method: 'POST', url: 'Patient' }, resource: patient('First', { system: sys, value: '1' }) },
      { fullUrl: shared, request: { method: 'POST', url: 'Patient' }, resource: patient('Second', { system: sys, value: '2' }) },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[1\]/);
    expect(await searchTotal('Patient', `identifier=${sys}|`)).toBe(0);
    expect(await historyTotal('Patient')).toBe(before);
  });
});

describe('processing order', () => {
  it('runs DELETE, then POST, then PUT/PATCH, then GET, whatever the order of the entries', async () => {
    const sys = system('order');
    const toDelete = await createPatient('ToDelete');
    const toUpdate = await createPatient('ToUpdate');
    const toPatch = await createPatient('ToPatch');
    const patchDoc = Buffer.from(JSON.stringify([{ op: 'replace', path: '/name/0/family', value: 'Patched' }])).toString('base64');
    const res = await postTransaction([
      { request: { method: 'GET', url: `Patient?identifier=${sys}|new` } },
      { request: { method: 'GET', url: `Patient/${toUpdate}` } },
      { request: { method: 'PATCH', url: `Patient/${toPatch}` }, resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patchDoc } },
      { request: { method: 'PUT', url: `Patient/${toUpdate}` }, resource: { ...patient('Updated'), id: toUpdate } },
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('New', { system: sys, value: 'new' }) },
      { request: { method: 'DELETE', url: `Patient/${toDelete}` } },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expect(entries.map((entry) => entry.response.status)).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '201 Created', '204 No Content']);

    // The GETs, listed first, ran last: they see the POST and the PUT listed after them.
    const newId = entries[4].resource.id;
    expect(entries[0].resource.resourceType).toBe('Bundle');
    expect(entries[0].resource.type).toBe('searchset');
    expect(entries[0].resource.entry.map((e: Json) => e.resource.id)).toEqual([newId]);
    expect(entries[1].resource.name[0].family).toBe('Updated');
    expect(entries[1].resource.meta.versionId).toBe('2');

    // Write order, newest first: the PUT and PATCH (in entry order), the POST, and the DELETE listed last came first.
    const history = await server.request('GET', '/fhir/Patient/_history?_count=4');
    const written = (history.body.entry as Json[]).map((entry) => `${entry.request.method} ${entry.fullUrl.split('/').pop()}`);
    expect(written).toEqual([`PUT ${toUpdate}`, `PUT ${toPatch}`, `POST ${newId}`, `DELETE ${toDelete}`]);
    expect((await server.request('GET', `/fhir/Patient/${toDelete}`)).status).toBe(410);
  });
});

describe('atomicity', () => {
  const patchBinary = (ops: unknown) => ({
    resourceType: 'Binary',
    contentType: 'application/json-patch+json',
    data: Buffer.from(JSON.stringify(ops)).toString('base64'),
  });

  const cases: { name: string; last: (ids: { spare: string }) => Json; status: number; expression: RegExp }[] = [
    {
      name: 'a schema error in a PUT entry',
      last: () => {
        const id = `tx-bad-${randomUUID().slice(0, 8)}`;
        return { request: { method: 'PUT', url: `Patient/${id}` }, resource: { ...patient('Bad'), id, birthDate: 'not-a-date' } };
      },
      status: 400,
      expression: /^Bundle\.entry\[4\]\.resource\.birthDate$/,
    },
    {
      name: 'an unknown element in a POST entry',
      last: () => ({ fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: { ...patient('Bad'), favouriteColour: 'blue' } }),
      status: 400,
      expression: /^Bundle\.entry\[4\]\.resource\.favouriteColour$/,
    },
    {
      name: 'an If-Match that fails',
      last: ({ spare }) => ({ request: { method: 'PUT', url: `Patient/${spare}`, ifMatch: 'W/"7"' }, resource: { ...patient('Stale'), id: spare } }),
      status: 412,
      expression: /^Bundle\.entry\[4\]/,
    },
    {
      name: 'a PUT whose body id differs from its URL',
      last: ({ spare }) => ({ request: { method: 'PUT', url: `Patient/${spare}` }, resource: { ...patient('Mismatch'), id: 'some-other-id' } }),
      status: 400,
      expression: /^Bundle\.entry\[4\]\.resource\.id$/,
    },
    {
      name: 'a PATCH that cannot apply',
      last: ({ spare }) => ({ request: { method: 'PATCH', url: `Patient/${spare}` }, resource: patchBinary([{ op: 'remove', path: '/telecom/5' }]) }),
      status: 422,
      expression: /^Bundle\.entry\[4\]/,
    },
  ];

  for (const { name, last, status, expression } of cases) {
    it(`rolls back every entry when the last one fails: ${name}`, async () => {
      const sys = system('atomic');
      const toUpdate = await createPatient('Original');
      const toDelete = await createPatient('Survivor');
      const spare = await createPatient('Spare');
      const observationsBefore = await historyTotal('Observation');
      const patientsBefore = await historyTotal('Patient');
      const patientUrn = urn();

      const res = await postTransaction([
        { fullUrl: patientUrn, request: { method: 'POST', url: 'Patient' }, resource: patient('Created', { system: sys, value: 'created' }) },
        { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: patientUrn }, identifier: [{ system: sys, value: 'obs' }] }) },
        { request: { method: 'PUT', url: `Patient/${toUpdate}` }, resource: { ...patient('Changed'), id: toUpdate } },
        { request: { method: 'DELETE', url: `Patient/${toDelete}` } },
        last({ spare }),
      ]);

      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue.length).toBeGreaterThan(0);
      expect(res.body.issue.some((issue: Json) => expression.test(issue.expression?.[0] ?? ''))).toBe(true);

      // None of the other entries' writes survived.
      expect(await searchTotal('Patient', `identifier=${sys}|created`)).toBe(0);
      expect(await searchTotal('Observation', `identifier=${sys}|obs`)).toBe(0);
      const updated = await server.request('GET', `/fhir/Patient/${toUpdate}`);
      expect(updated.body.meta.versionId).toBe('1');
      expect(updated.body.name[0].family).toBe('Original');
      const deleted = await server.request('GET', `/fhir/Patient/${toDelete}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body.name[0].family).toBe('Survivor');
      const untouched = await server.request('GET', `/fhir/Patient/${spare}`);
      expect(untouched.body.meta.versionId).toBe('1');
      expect(await historyTotal('Patient')).toBe(patientsBefore);
      expect(await historyTotal('Observation')).toBe(observationsBefore);
    });
  }
});

describe('conditional entries', () => {
  it('conditional create with an existing match answers 200 with that id and points references at it', async () => {
    const sys = system('ifnoneexist-match');
    const existing = await createPatient('Existing', { system: sys, value: '1' });
    const patientUrn = urn();
    const res = await postTransaction([
      {
        fullUrl: patientUrn,
        request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|1` },
        resource: patient('Duplicate', { system: sys, value: '1' }),
      },
      { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: patientUrn } }) },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expect(entries[0].response.status).toBe('200 OK');
    expect(entries[0].response.location).toBe(`${server.fhir}/Patient/${existing}/_history/1`);
    expect(entries[1].response.status).toBe('201 Created');

    const stored = (await server.request('GET', `/fhir/${idFromLocation(entries[1].response.location)}`)).body;
    expect(stored.subject.reference).toBe(`Patient/${existing}`);
    const matches = await search('Patient', `identifier=${sys}|1`);
    expect(matches.total).toBe(1);
    expect(matches.entry[0].resource.name[0].family).toBe('Existing');
  });

  it('conditional create without a match creates the resource and points references at it', async () => {
    const sys = system('ifnoneexist-new');
    const patientUrn = urn();
    const res = await postTransaction([
      { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: patientUrn } }) },
      {
        fullUrl: patientUrn,
        request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|1` },
        resource: patient('Fresh', { system: sys, value: '1' }),
      },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expect(entries[1].response.status).toBe('201 Created');
    const created = await search('Patient', `identifier=${sys}|1`);
    expect(created.total).toBe(1);
    const stored = (await server.request('GET', `/fhir/${idFromLocation(entries[0].response.location)}`)).body;
    expect(stored.subject.reference).toBe(`Patient/${created.entry[0].resource.id}`);
  });

  it('creates exactly one resource when 10 transactions with the same conditional create race', async () => {
    const sys = system('ifnoneexist-race');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const patientUrn = urn();
        return postTransaction([
          { fullUrl: patientUrn, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|1` }, resource: patient(`Racer${i}`, { system: sys, value: '1' }) },
          { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: patientUrn } }) },
        ]);
      }),
    );
    expect(results.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(results.map((res) => res.body.entry[0].response.status).sort()).toEqual([...Array(9).fill('200 OK'), '201 Created']);
    const found = await search('Patient', `identifier=${sys}|1`);
    expect(found.total).toBe(1);
    const id = found.entry[0].resource.id;
    for (const res of results) expect(res.body.entry[1].resource.subject.reference).toBe(`Patient/${id}`);
  });

  it('conditional create matching more than one resource fails the whole transaction with 412', async () => {
    const sys = system('ifnoneexist-many');
    await createPatient('One', { system: sys, value: '1' });
    await createPatient('Two', { system: sys, value: '1' });
    const res = await postTransaction([
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Other', { system: sys, value: 'other' }) },
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|1` }, resource: patient('Three', { system: sys, value: '1' }) },
    ]);
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await searchTotal('Patient', `identifier=${sys}|other`)).toBe(0);
    expect(await searchTotal('Patient', `identifier=${sys}|1`)).toBe(2);
  });

  it('conditional update updates the one match, and references to its fullUrl point at it', async () => {
    const sys = system('cond-update');
    const existing = await createPatient('Before', { system: sys, value: '1' });
    const patientUrn = urn();
    const res = await postTransaction([
      { fullUrl: patientUrn, request: { method: 'PUT', url: `Patient?identifier=${sys}|1` }, resource: patient('After', { system: sys, value: '1' }) },
      { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: patientUrn } }) },
      { request: { method: 'PUT', url: `Patient?identifier=${sys}|2` }, resource: patient('Brand new', { system: sys, value: '2' }) },
    ]);
    expect(res.status).toBe(200);
    const entries = res.body.entry as Json[];
    expect(entries[0].response.status).toBe('200 OK');
    expect(entries[0].response.location).toBe(`${server.fhir}/Patient/${existing}/_history/2`);
    expect(entries[2].response.status).toBe('201 Created');

    const updated = (await server.request('GET', `/fhir/Patient/${existing}`)).body;
    expect(updated.name[0].family).toBe('After');
    expect(updated.meta.versionId).toBe('2');
    expect(await searchTotal('Patient', `identifier=${sys}|1`)).toBe(1);
    expect(await searchTotal('Patient', `identifier=${sys}|2`)).toBe(1);
    const stored = (await server.request('GET', `/fhir/${idFromLocation(entries[1].response.location)}`)).body;
    expect(stored.subject.reference).toBe(`Patient/${existing}`);
  });

  it('conditional update matching two resources fails the transaction with 412', async () => {
    const sys = system('cond-update-many');
    const a = await createPatient('A', { system: sys, value: '1' });
    await createPatient('B', { system: sys, value: '1' });
    const res = await postTransaction([
      { request: { method: 'PUT', url: `Patient/${a}` }, resource: { ...patient('A changed', { system: sys, value: '1' }), id: a } },
      { request: { method: 'PUT', url: `Patient?identifier=${sys}|1` }, resource: patient('Which?', { system: sys, value: '1' }) },
    ]);
    expect(res.status).toBe(412);
    expect((await server.request('GET', `/fhir/Patient/${a}`)).body.meta.versionId).toBe('1');
  });

  it('conditional update whose body id differs from the one match is a 400, as outside a transaction', async () => {
    const sys = system('cond-update-id');
    const existing = await createPatient('Matched', { system: sys, value: '1' });
    const body = { ...patient('Hijack', { system: sys, value: '1' }), id: `other-${randomUUID().slice(0, 8)}` };

    const direct = await server.request('PUT', `/fhir/Patient?identifier=${sys}|1`, { body });
    expect(direct.status).toBe(400);

    const res = await postTransaction([{ request: { method: 'PUT', url: `Patient?identifier=${sys}|1` }, resource: body }]);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const stored = (await server.request('GET', `/fhir/Patient/${existing}`)).body;
    expect(stored.meta.versionId).toBe('1');
    expect(stored.name[0].family).toBe('Matched');
  });

  it('rejects an unknown search parameter in ifNoneExist with 400 instead of ignoring it', async () => {
    const sys = system('ifnoneexist-unknown');
    await createPatient('Existing', { system: sys, value: '1' });
    const res = await postTransaction([
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${sys}|1&no-such-param=x` }, resource: patient('New', { system: sys, value: '1' }) },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await searchTotal('Patient', `identifier=${sys}|1`)).toBe(1);
  });

  it('conditional delete removes the one match', async () => {
    const sys = system('cond-delete');
    const doomed = await createPatient('Doomed', { system: sys, value: '1' });
    const keeper = await createPatient('Keeper', { system: sys, value: '2' });
    const res = await postTransaction([
      { request: { method: 'DELETE', url: `Patient?identifier=${sys}|1` } },
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Added', { system: sys, value: '3' }) },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toMatch(/^20[04]/);
    expect((await server.request('GET', `/fhir/Patient/${doomed}`)).status).toBe(410);
    expect((await server.request('GET', `/fhir/Patient/${keeper}`)).status).toBe(200);
    expect(await searchTotal('Patient', `identifier=${sys}|`)).toBe(2);
  });

  it('conditional delete matching two resources fails the transaction with 412', async () => {
    const sys = system('cond-delete-many');
    const a = await createPatient('A', { system: sys, value: '1' });
    const b = await createPatient('B', { system: sys, value: '1' });
    const res = await postTransaction([
      { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Added', { system: sys, value: '2' }) },
      { request: { method: 'DELETE', url: `Patient?identifier=${sys}|1` } },
    ]);
    expect(res.status).toBe(412);
    expect((await server.request('GET', `/fhir/Patient/${a}`)).status).toBe(200);
    expect((await server.request('GET', `/fhir/Patient/${b}`)).status).toBe(200);
    expect(await searchTotal('Patient', `identifier=${sys}|2`)).toBe(0);
  });
});

describe('conditional references', () => {
  it('resolves Patient?identifier=system|value to the one matching patient', async () => {
    const sys = system('cref');
    const target = await createPatient('Target', { system: sys, value: '42' });
    await createPatient('Other', { system: sys, value: '43' });
    const res = await postTransaction([
      {
        fullUrl: urn(),
        request: { method: 'POST', url: 'Observation' },
        resource: observation({ subject: { reference: `Patient?identifier=${sys}|42` }, performer: [{ reference: `Patient?identifier=${sys}|43` }] }),
      },
    ]);
    expect(res.status).toBe(200);
    const stored = (await server.request('GET', `/fhir/${idFromLocation(res.body.entry[0].response.location)}`)).body;
    expect(stored.subject.reference).toBe(`Patient/${target}`);
    expect(stored.performer[0].reference).toMatch(/^Patient\/[0-9a-f-]{36}$/);
    expect(stored.performer[0].reference).not.toBe(`Patient/${target}`);
  });

  it('resolves a conditional reference whose identifier system is an http URL', async () => {
    const sys = `http://example.org/fhir/mrn/${randomUUID().slice(0, 8)}`;
    const target = await createPatient('UrlSystem', { system: sys, value: '7' });
    const res = await postTransaction([
      { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: `Patient?identifier=${sys}|7` } }) },
    ]);
    expect(res.body.issue ?? []).toEqual([]);
    expect(res.status).toBe(200);
    const stored = (await server.request('GET', `/fhir/${idFromLocation(res.body.entry[0].response.location)}`)).body;
    expect(stored.subject.reference).toBe(`Patient/${target}`);
  });

  it('fails the transaction with 412 when a conditional reference matches nothing (or more than one)', async () => {
    const sys = system('cref-none');
    await createPatient('Twin', { system: sys, value: 'twin' });
    await createPatient('Twin', { system: sys, value: 'twin' });
    const before = await historyTotal('Observation');
    for (const value of ['nobody', 'twin']) {
      const res = await postTransaction([
        { fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('Side effect', { system: sys, value: 'side' }) },
        { fullUrl: urn(), request: { method: 'POST', url: 'Observation' }, resource: observation({ subject: { reference: `Patient?identifier=${sys}|${value}` } }) },
      ]);
      expect(res.status).toBe(412);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[1\]/);
      expect(res.body.issue[0].diagnostics).toContain(`Patient?identifier=${sys}|${value}`);
    }
    expect(await searchTotal('Patient', `identifier=${sys}|side`)).toBe(0);
    expect(await historyTotal('Observation')).toBe(before);
  });
});

describe('PATCH entries', () => {
  it('applies a JSON Patch carried as a base64 Binary', async () => {
    const id = await createPatient('BeforePatch');
    const ops = [
      { op: 'replace', path: '/name/0/family', value: 'AfterPatch' },
      { op: 'add', path: '/gender', value: 'female' },
    ];
    const res = await postTransaction([
      {
        request: { method: 'PATCH', url: `Patient/${id}` },
        resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(ops)).toString('base64') },
      },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('200 OK');
    expect(res.body.entry[0].response.etag).toBe('W/"2"');
    expect(res.body.entry[0].response.location).toBe(`${server.fhir}/Patient/${id}/_history/2`);
    const stored = (await server.request('GET', `/fhir/Patient/${id}`)).body;
    expect(stored.name[0].family).toBe('AfterPatch');
    expect(stored.gender).toBe('female');
    expect(stored.meta.versionId).toBe('2');
  });

  it('rejects a PATCH entry whose Binary is not a JSON Patch with 400', async () => {
    const id = await createPatient('NotPatched');
    const res = await postTransaction([
      {
        request: { method: 'PATCH', url: `Patient/${id}` },
        resource: { resourceType: 'Binary', contentType: 'application/json', data: Buffer.from('[]').toString('base64') },
      },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[0\]\.resource/);
    expect((await server.request('GET', `/fhir/Patient/${id}`)).body.meta.versionId).toBe('1');
  });
});

describe('bundle shape', () => {
  it('rejects Bundle types other than batch and transaction with 400', async () => {
    const sys = system('bundle-type');
    for (const type of ['collection', 'document', 'transaction-response', 'searchset']) {
      const res = await server.request('POST', '/fhir', {
        body: { resourceType: 'Bundle', type, entry: [{ fullUrl: urn(), request: { method: 'POST', url: 'Patient' }, resource: patient('X', { system: sys, value: type }) }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].expression).toEqual(['Bundle.type']);
    }
    expect(await searchTotal('Patient', `identifier=${sys}|`)).toBe(0);
  });

  it('rejects a body that is not a Bundle with 400', async () => {
    const res = await server.request('POST', '/fhir', { body: patient('NotABundle') });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});
