// Every bad input gets an OperationOutcome with the right HTTP status and, where there is one,
// the FHIRPath of the failing element in issue.expression. Rejected writes leave no trace.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type HttpResult, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
let small: TestServer;
beforeAll(async () => {
  [server, small] = await Promise.all([startTestServer(), startTestServer({ MAX_BODY_SIZE: '1kb' })]);
});
afterAll(async () => {
  await Promise.all([server?.close(), small?.close()]);
});

const patient = (family = 'Rivera') => ({ resourceType: 'Patient', name: [{ family, given: ['Ana'] }], birthDate: '1980-02-03' });

/** Asserts an error response: the status, a FHIR JSON OperationOutcome with at least one error issue. */
function expectOutcome(res: HttpResult, status: number): { severity: string; code: string; diagnostics?: string; expression?: string[] }[] {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/fhir+json');
  expect(res.body?.resourceType).toBe('OperationOutcome');
  expect(Array.isArray(res.body.issue)).toBe(true);
  expect(res.body.issue.length).toBeGreaterThan(0);
  expect(res.body.issue.some((issue: { severity: string }) => issue.severity === 'error' || issue.severity === 'fatal')).toBe(true);
  return res.body.issue;
}

/** Every expression of every issue, flattened. */
const expressions = (issues: { expression?: string[] }[]) => issues.flatMap((issue) => issue.expression ?? []);

/** Number of Patient versions whose name has this family (via type history, which sees every version). */
async function patientVersionsNamed(family: string): Promise<number> {
  const res = await server.request('GET', '/fhir/Patient/_history?_count=1000');
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).filter((e: { resource?: { name?: { family?: string }[] } }) => e.resource?.name?.[0]?.family === family).length;
}

async function systemHistoryTotal(): Promise<number> {
  const res = await server.request('GET', '/fhir/_history?_count=1');
  expect(res.status).toBe(200);
  return res.body.total;
}

describe('malformed and mismatched bodies', () => {
  it('rejects malformed JSON with 400 and does not echo the body', async () => {
    const res = await server.request('POST', '/fhir/Patient', {
      rawBody: '{"resourceType": "Patient", "name": [{"family": "Secretname"}',
      headers: { 'content-type': 'application/fhir+json' },
    });
    const issues = expectOutcome(res, 400);
    expect(issues[0].code).toBe('structure');
    expect(res.text).not.toContain('Secretname');
  });

  it('rejects an empty body on create with 400', async () => {
    const res = await server.request('POST', '/fhir/Patient', { rawBody: '', headers: { 'content-type': 'application/fhir+json' } });
    expectOutcome(res, 400);
  });

  it('rejects a body that is not a JSON object with 400', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: [patient()] });
    expectOutcome(res, 400);
  });

  it('rejects a body whose resourceType does not match the URL (create and update)', async () => {
    const created = await server.request('POST', '/fhir/Observation', {
      body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
    });
    expect(created.status).toBe(201);
    const post = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
    const issues = expectOutcome(post, 400);
    expect(expressions(issues).join(' ')).toContain('resourceType');

    const put = await server.request('PUT', `/fhir/Patient/${created.body.id}`, {
      body: { resourceType: 'Observation', id: created.body.id, status: 'final', code: { text: 'x' } },
    });
    expectOutcome(put, 400);
  });

  it('rejects a body without resourceType with 400', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { name: [{ family: 'X' }] } });
    expectOutcome(res, 400);
  });
});

describe('schema validation names the failing path', () => {
  it('rejects an unknown element with expression Patient.foo', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), foo: 'bar' } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.foo');
  });

  it('rejects an unknown nested element with its full path', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Patient', name: [{ family: 'X' }, { family: 'Y', nickname: 'Z' }] } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.name[1].nickname');
  });

  it('rejects a wrong type with expression Patient.name[0].family', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Patient', name: [{ family: 42 }] } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.name[0].family');
  });

  it('rejects a string, number or null where a complex datatype is required', async () => {
    for (const [body, path] of [
      [{ resourceType: 'Patient', name: ['Smith'] }, 'Patient.name[0]'],
      [{ resourceType: 'Patient', name: [42] }, 'Patient.name[0]'],
      [{ resourceType: 'Patient', name: [null] }, 'Patient.name[0]'],
      [{ resourceType: 'Patient', maritalStatus: 'married' }, 'Patient.maritalStatus'],
      [{ resourceType: 'Patient', birthDate: '1980-01-01', _birthDate: 'x' }, 'Patient._birthDate'],
    ] as const) {
      const res = await server.request('POST', '/fhir/Patient', { body });
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(expressions(expectOutcome(res, 400)), JSON.stringify(body)).toContain(path);
    }
  });

  it('rejects an object where an array is required', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Patient', name: { family: 'X' } } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.name');
  });

  it('rejects a malformed date with expression Patient.birthDate', async () => {
    for (const birthDate of ['1980-13-45', '03/02/1980', '1980-2-3', 'yesterday']) {
      const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), birthDate } });
      const issues = expectOutcome(res, 400);
      expect(expressions(issues), birthDate).toContain('Patient.birthDate');
    }
  });

  it('rejects a date that matches the pattern but does not exist (Feb 30)', async () => {
    // FHIR R4 date: "Dates SHALL be valid dates" — 1980-02-30 is not one.
    const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), birthDate: '1980-02-30' } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.birthDate');
  });

  it('rejects empty arrays and empty objects (FHIR JSON: never empty; ele-1)', async () => {
    const emptyArray = await server.request('POST', '/fhir/Patient', { body: { ...patient(), identifier: [] } });
    expect(expressions(expectOutcome(emptyArray, 400))).toContain('Patient.identifier');
    const emptyObject = await server.request('POST', '/fhir/Patient', { body: { ...patient(), name: [{}] } });
    expect(expressions(expectOutcome(emptyObject, 400))).toContain('Patient.name[0]');
  });

  it('rejects null values with the path of the element', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), birthDate: null } });
    expect(expressions(expectOutcome(res, 400))).toContain('Patient.birthDate');
  });

  it('rejects invalid content inside contained resources with the nested path', async () => {
    const res = await server.request('POST', '/fhir/Patient', {
      body: { ...patient(), contained: [{ resourceType: 'Practitioner', id: 'p1', bogus: 1 }] },
    });
    expect(expressions(expectOutcome(res, 400))).toContain('Patient.contained[0].bogus');
  });

  it('rejects an invalid code with the path of the code', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), gender: 'robot' } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.gender');
  });

  it('reports every problem, each with its own path', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Patient', foo: 1, name: [{ family: 42 }], birthDate: 'nope' } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toEqual(expect.arrayContaining(['Patient.foo', 'Patient.name[0].family', 'Patient.birthDate']));
  });

  it('validates PUT bodies the same way', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const id = created.body.id;
    const res = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient(), id, foo: true } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.foo');
  });
});

describe('reference syntax', () => {
  it.each([
    ['Patient/', 'an empty id'],
    ['Foo/1', 'an unknown type'],
    ['patient/1', 'a lower-case type'],
    ['Patient/a b', 'a space in the id'],
    ['urn:uuid:not-a-uuid', 'a malformed urn:uuid'],
  ])('rejects %s (%s) with the reference path', async (reference) => {
    const res = await server.request('POST', '/fhir/Patient', {
      body: { ...patient(), generalPractitioner: [{ reference: 'Practitioner/ok' }, { reference }] },
    });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toEqual(['Patient.generalPractitioner[1].reference']);
  });

  it('names the path of a bad reference in a non-Patient resource', async () => {
    const res = await server.request('POST', '/fhir/Observation', {
      body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Foo/1' } },
    });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Observation.subject.reference');
  });

  it('accepts the valid reference forms', async () => {
    for (const reference of ['Practitioner/abc-1.2', 'Practitioner/abc/_history/2', 'https://example.org/fhir/Practitioner/1', 'urn:uuid:0b6e1b3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b']) {
      const res = await server.request('POST', '/fhir/Patient', { body: { ...patient(), generalPractitioner: [{ reference }] } });
      expect(res.status, `${reference}: ${res.text}`).toBe(201);
    }
  });
});

describe('unknown endpoints', () => {
  it('answers 404 for an unknown resource type (read, search, create)', async () => {
    expectOutcome(await server.request('GET', '/fhir/Foo'), 404);
    expectOutcome(await server.request('GET', '/fhir/Foo/1'), 404);
    expectOutcome(await server.request('POST', '/fhir/Foo', { body: { resourceType: 'Foo' } }), 404);
    // A lower-case spelling of a real type is not that type.
    expectOutcome(await server.request('GET', '/fhir/patient'), 404);
  });

  it('answers 404 for an unknown $operation', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    expectOutcome(await server.request('GET', `/fhir/Patient/${created.body.id}/$everything-else`), 404);
    expectOutcome(await server.request('GET', '/fhir/Patient/$nope'), 404);
    expectOutcome(await server.request('POST', '/fhir/$nope', { body: { resourceType: 'Parameters' } }), 404);
  });

  it('answers 400 to an invalid id in the URL', async () => {
    expectOutcome(await server.request('GET', '/fhir/Patient/a%20b'), 400);
    expectOutcome(await server.request('GET', `/fhir/Patient/${'a'.repeat(65)}`), 400);
    const put = await server.request('PUT', '/fhir/Patient/bad_id', { body: { ...patient(), id: 'bad_id' } });
    expectOutcome(put, 400);
    expect((await server.request('GET', '/fhir/Patient?_id=bad_id')).body.entry ?? []).toHaveLength(0);
  });

  it('answers 404 with an OperationOutcome for paths outside /fhir', async () => {
    expectOutcome(await server.request('GET', '/nowhere'), 404);
  });
});

describe('media types', () => {
  it('answers 415 to text/plain on create and update', async () => {
    const text = JSON.stringify(patient());
    const post = await server.request('POST', '/fhir/Patient', { rawBody: text, headers: { 'content-type': 'text/plain' } });
    expectOutcome(post, 415);
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const put = await server.request('PUT', `/fhir/Patient/${created.body.id}`, {
      rawBody: JSON.stringify({ ...patient(), id: created.body.id }),
      headers: { 'content-type': 'text/plain' },
    });
    expectOutcome(put, 415);
  });

  it('answers 415 to a POST without Content-Type', async () => {
    const res = await server.request('POST', '/fhir/Patient', { rawBody: JSON.stringify(patient()) });
    expectOutcome(res, 415);
  });

  it('answers 415 to XML', async () => {
    const res = await server.request('POST', '/fhir/Patient', {
      rawBody: '<Patient xmlns="http://hl7.org/fhir"/>',
      headers: { 'content-type': 'application/fhir+xml' },
    });
    expectOutcome(res, 415);
  });

  it('answers 415 to a PATCH that is not JSON Patch', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const res = await server.request('PATCH', `/fhir/Patient/${created.body.id}`, {
      body: [{ op: 'replace', path: '/birthDate', value: '1990-01-01' }],
      headers: { 'content-type': 'application/json' },
    });
    expectOutcome(res, 415);
  });

  it('accepts application/json and a charset parameter', async () => {
    const res = await server.request('POST', '/fhir/Patient', { body: patient(), headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(res.status).toBe(201);
  });

  it('answers 406 to _format=xml and to an Accept that excludes JSON', async () => {
    expectOutcome(await server.request('GET', '/fhir/Patient?_format=xml'), 406);
    expectOutcome(await server.request('GET', '/fhir/metadata?_format=application/fhir%2Bxml'), 406);
    expectOutcome(await server.request('GET', '/fhir/Patient', { headers: { accept: 'application/fhir+xml' } }), 406);
    // _format=json is fine
    expect((await server.request('GET', '/fhir/Patient?_format=json')).status).toBe(200);
  });
});

describe('body encodings', () => {
  it('accepts a gzip-compressed body', async () => {
    const res = await server.request('POST', '/fhir/Patient', {
      rawBody: gzipSync(JSON.stringify(patient('Gzipped'))),
      headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.name[0].family).toBe('Gzipped');
  });

  it('answers 400 (not 500) to a body that claims gzip but is not', async () => {
    const res = await server.request('POST', '/fhir/Patient', {
      rawBody: JSON.stringify(patient()),
      headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' },
    });
    expectOutcome(res, 400);
  });

  it('answers 415 to an unknown Content-Encoding', async () => {
    const res = await server.request('POST', '/fhir/Patient', {
      rawBody: JSON.stringify(patient()),
      headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'x-custom' },
    });
    expectOutcome(res, 415);
  });
});

describe('body size limit', () => {
  it('answers 413 to a body over MAX_BODY_SIZE', async () => {
    const big = { ...patient(), name: [{ family: 'X'.repeat(2048) }] };
    const res = await small.request('POST', '/fhir/Patient', { body: big });
    const issues = expectOutcome(res, 413);
    expect(issues[0].code).toBe('too-costly');
    const after = await small.request('GET', '/fhir/Patient?_total=accurate');
    expect(after.status).toBe(200);
    expect(after.body.entry ?? []).toHaveLength(0);
  });

  it('applies the limit to the decompressed body (gzip)', async () => {
    const big = JSON.stringify({ ...patient(), name: [{ family: 'X'.repeat(4096) }] });
    const compressed = gzipSync(big);
    expect(compressed.length).toBeLessThan(1024);
    const res = await small.request('POST', '/fhir/Patient', {
      rawBody: compressed,
      headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' },
    });
    expectOutcome(res, 413);
  });

  it('still accepts a body under the limit on that server', async () => {
    const res = await small.request('POST', '/fhir/Patient', { body: patient() });
    expect(res.status).toBe(201);
  });

  it('does not apply the small limit to the default server', async () => {
    const big = { ...patient(), name: [{ family: 'X'.repeat(2048) }] };
    const res = await server.request('POST', '/fhir/Patient', { body: big });
    expect(res.status).toBe(201);
  });
});

describe('methods', () => {
  const allowOf = (res: HttpResult) =>
    (res.headers.get('allow') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);

  it('answers 405 with Allow to DELETE on a version', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const res = await server.request('DELETE', `/fhir/Patient/${created.body.id}/_history/1`);
    expectOutcome(res, 405);
    expect(allowOf(res)).toContain('GET');
    expect(allowOf(res)).not.toContain('DELETE');
    // The version is still there.
    expect((await server.request('GET', `/fhir/Patient/${created.body.id}/_history/1`)).status).toBe(200);
  });

  it('answers 405 with Allow to POST on an instance', async () => {
    const res = await server.request('POST', '/fhir/Patient/123', { body: { ...patient(), id: '123' } });
    expectOutcome(res, 405);
    expect(allowOf(res)).toEqual(expect.arrayContaining(['GET', 'PUT', 'DELETE']));
    expect(allowOf(res)).not.toContain('POST');
    expect((await server.request('GET', '/fhir/Patient/123')).status).toBe(404);
  });

  it('answers 405 with Allow to PUT on history and to GET on the base', async () => {
    const put = await server.request('PUT', '/fhir/Patient/_history', { body: patient() });
    expectOutcome(put, 405);
    expect(allowOf(put)).toContain('GET');
    const base = await server.request('GET', '/fhir');
    expectOutcome(base, 405);
    expect(allowOf(base)).toEqual(['POST']);
  });
});

describe('versioned update', () => {
  it('answers 412 to a stale If-Match on update and leaves the resource unchanged', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient('Original') });
    const id = created.body.id;
    const second = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Second'), id }, headers: { 'if-match': 'W/"1"' } });
    expect(second.status).toBe(200);
    const stale = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Stale'), id }, headers: { 'if-match': 'W/"1"' } });
    expectOutcome(stale, 412);
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.name[0].family).toBe('Second');
    expect(read.body.meta.versionId).toBe('2');
  });

  it('answers 412 to a stale If-Match on patch and delete', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const id = created.body.id;
    await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Two'), id } });
    const patched = await server.request('PATCH', `/fhir/Patient/${id}`, {
      rawBody: JSON.stringify([{ op: 'replace', path: '/birthDate', value: '1999-09-09' }]),
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
    });
    expectOutcome(patched, 412);
    const deleted = await server.request('DELETE', `/fhir/Patient/${id}`, { headers: { 'if-match': 'W/"1"' } });
    expectOutcome(deleted, 412);
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.birthDate).toBe('1980-02-03');
  });

  it('answers 400 to an If-Match that is not an ETag', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const id = created.body.id;
    const res = await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient(), id }, headers: { 'if-match': 'banana' } });
    expectOutcome(res, 400);
  });

  it('answers 400 when the body id does not match the URL id', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient() });
    const res = await server.request('PUT', `/fhir/Patient/${created.body.id}`, { body: { ...patient(), id: 'other' } });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Patient.id');
  });
});

describe('rejected writes leave nothing behind', () => {
  it('an invalid create stores no version', async () => {
    const before = await systemHistoryTotal();
    const res = await server.request('POST', '/fhir/Patient', { body: { ...patient('Ghostcreate'), foo: 1 } });
    expect(res.status).toBe(400);
    const bad = await server.request('POST', '/fhir/Patient', { body: { ...patient('Ghostcreate'), generalPractitioner: [{ reference: 'Foo/1' }] } });
    expect(bad.status).toBe(400);
    expect(await systemHistoryTotal()).toBe(before);
    expect(await patientVersionsNamed('Ghostcreate')).toBe(0);
    const search = await server.request('GET', '/fhir/Patient?_count=1000');
    expect(search.body.entry?.some((e: { resource: { name?: { family?: string }[] } }) => e.resource.name?.[0]?.family === 'Ghostcreate') ?? false).toBe(false);
  });

  it('an invalid or stale update adds no version to the instance history', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient('Kept') });
    const id = created.body.id;
    const before = await systemHistoryTotal();
    expect((await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Ghostupdate'), id, birthDate: '1980-13-01' } })).status).toBe(400);
    expect((await server.request('PUT', `/fhir/Patient/${id}`, { body: { ...patient('Ghostupdate'), id }, headers: { 'if-match': 'W/"7"' } })).status).toBe(412);
    const bad = await server.request('PATCH', `/fhir/Patient/${id}`, {
      rawBody: JSON.stringify([{ op: 'add', path: '/foo', value: 1 }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expectOutcome(bad, 400);
    const history = await server.request('GET', `/fhir/Patient/${id}/_history`);
    expect(history.status).toBe(200);
    expect(history.body.total).toBe(1);
    expect(history.body.entry).toHaveLength(1);
    expect(await systemHistoryTotal()).toBe(before);
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.body.meta.versionId).toBe('1');
    expect(read.body.name[0].family).toBe('Kept');
    expect(read.body.foo).toBeUndefined();
  });

  it('a transaction with one bad entry stores none of its entries', async () => {
    const before = await systemHistoryTotal();
    const res = await server.request('POST', '/fhir', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:1b6e1b3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', resource: patient('Ghosttransaction'), request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Patient', name: [{ family: 99 }] }, request: { method: 'POST', url: 'Patient' } },
        ],
      },
    });
    const issues = expectOutcome(res, 400);
    expect(expressions(issues)).toContain('Bundle.entry[1].resource.name[0].family');
    expect(await systemHistoryTotal()).toBe(before);
    expect(await patientVersionsNamed('Ghosttransaction')).toBe(0);
  });
});
