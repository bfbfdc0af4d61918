// Search behaviour that is not about one parameter type: unknown parameters (lenient and strict),
// malformed values, updates and deletes seen by search, POST _search, types without instances and
// SearchParameters added at runtime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  entriesByMode,
  expectSearchError,
  includeRefsOf,
  matchIdsOf,
  put,
  putAll,
  ref,
  remove,
  searchBundle,
  searchIds,
  searchPath,
  type Json,
} from './search-helpers.ts';

let server: TestServer;
const ids = (search: string) => searchIds(server, search);

const GENERAL = 'urn:test:general';

const data: Json[] = [
  { resourceType: 'Patient', id: 'ungar', name: [{ family: 'Ungar' }] },
  { resourceType: 'Organization', id: 'gen-org', name: 'General Org' },
  { resourceType: 'Organization', id: 'gen-org-2', name: 'Second Org' },
  { resourceType: 'Task', id: 'gt-1', status: 'requested', intent: 'order', owner: ref('Organization/gen-org') },
  { resourceType: 'Task', id: 'gt-2', status: 'requested', intent: 'order', owner: ref('Organization/gen-org-2') },
  { resourceType: 'Task', id: 'gt-3', status: 'requested', intent: 'order', owner: ref('Organization/gen-org') },
  { resourceType: 'Task', id: 'gt-4', status: 'completed', intent: 'order', owner: ref('Organization/gen-org') },
  { resourceType: 'Task', id: 'gt-5', status: 'requested', intent: 'order' },
];

beforeAll(async () => {
  server = await startTestServer();
  await putAll(server, data);
});
afterAll(async () => {
  await server?.close();
});

describe('unknown parameters', () => {
  it('are ignored, with an OperationOutcome entry naming them', async () => {
    const bundle = await searchBundle(server, 'Patient?family=ungar&foo-bar=x');
    expect(matchIdsOf(bundle)).toEqual(['ungar']);
    const outcomes = entriesByMode(bundle, 'outcome');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].resource.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(outcomes[0].resource.issue)).toContain('foo-bar');
    expect(['warning', 'information']).toContain(outcomes[0].resource.issue[0].severity);
    // Prefer: handling=lenient is the default behaviour.
    const lenient = await searchBundle(server, 'Patient?family=ungar&foo-bar=x', { prefer: 'handling=lenient' });
    expect(matchIdsOf(lenient)).toEqual(['ungar']);
  });

  it('are a 400 with Prefer: handling=strict', async () => {
    const strict = await server.request('GET', searchPath('Patient?family=ungar&foo-bar=x'), { headers: { prefer: 'handling=strict' } });
    expect(strict.status).toBe(400);
    expect(strict.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(strict.body)).toContain('foo-bar');
    const known = await server.request('GET', searchPath('Patient?family=ungar'), { headers: { prefer: 'handling=strict' } });
    expect(known.status).toBe(200);
    expect(matchIdsOf(known.body)).toEqual(['ungar']);
  });
});

describe('malformed values', () => {
  it('are a 400 naming the parameter', async () => {
    await expectSearchError(server, 'Observation?date=xx2020', 'date');
    await expectSearchError(server, 'Observation?date=2020-01-01Tnoon', 'date');
    await expectSearchError(server, 'RiskAssessment?probability=abc', 'probability');
    await expectSearchError(server, 'RiskAssessment?probability=gtabc', 'probability');
    await expectSearchError(server, 'Observation?value-quantity=abc||mg', 'value-quantity');
    await expectSearchError(server, 'Patient?gender:missing=perhaps', 'gender');
    await expectSearchError(server, 'Patient?_count=many', '_count');
  });
});

describe('search sees the current version only', () => {
  it('an updated resource matches its new values, not its old ones', async () => {
    await put(server, { resourceType: 'Patient', id: 'upd-1', name: [{ family: 'Averyold' }], gender: 'male', birthDate: '1990-02-02' });
    expect(await ids('Patient?family=averyold')).toEqual(['upd-1']);
    expect(await ids('Patient?gender=male')).toEqual(['upd-1']);

    await put(server, { resourceType: 'Patient', id: 'upd-1', name: [{ family: 'Blakenew' }], gender: 'female' });
    expect(await ids('Patient?family=averyold')).toEqual([]);
    expect(await ids('Patient?family=blakenew')).toEqual(['upd-1']);
    expect(await ids('Patient?gender=male')).toEqual([]);
    expect(await ids('Patient?gender=female')).toEqual(['upd-1']);
    // A removed element no longer matches, and is now missing.
    expect(await ids('Patient?birthdate=1990')).toEqual([]);
    expect(await ids('Patient?birthdate:missing=true')).toEqual(['ungar', 'upd-1']);
  });

  it('a PATCH re-indexes too', async () => {
    await put(server, { resourceType: 'Task', id: 'patched', status: 'requested', intent: 'order', owner: ref('Organization/gen-org-2') });
    const res = await server.request('PATCH', '/fhir/Task/patched', {
      rawBody: JSON.stringify([{ op: 'replace', path: '/status', value: 'cancelled' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status, res.text).toBe(200);
    expect(await ids('Task?status=cancelled')).toEqual(['patched']);
    expect(await ids('Task?owner=Organization/gen-org-2&status=requested')).toEqual(['gt-2']);
  });

  it('a deleted resource disappears from searches, chains and _has', async () => {
    await putAll(server, [
      { resourceType: 'Patient', id: 'del-pat', name: [{ family: 'Zebulon' }] },
      {
        resourceType: 'Observation',
        id: 'del-obs',
        status: 'final',
        code: { coding: [{ system: GENERAL, code: 'deleted' }] },
        subject: ref('Patient/del-pat'),
      },
    ]);
    expect(await ids(`Observation?code=${GENERAL}|deleted`)).toEqual(['del-obs']);
    expect(await ids('Observation?subject:Patient.name=zebulon')).toEqual(['del-obs']);
    expect(await ids(`Patient?_has:Observation:subject:code=${GENERAL}|deleted`)).toEqual(['del-pat']);

    await remove(server, 'Observation/del-obs');
    expect(await ids(`Observation?code=${GENERAL}|deleted`)).toEqual([]);
    expect(await ids(`Patient?_has:Observation:subject:code=${GENERAL}|deleted`)).toEqual([]);
    expect(await ids('Patient?family=zebulon')).toEqual(['del-pat']);

    // Re-created with other values: found by the new ones only.
    await put(server, {
      resourceType: 'Observation',
      id: 'del-obs',
      status: 'final',
      code: { coding: [{ system: GENERAL, code: 'recreated' }] },
      subject: ref('Patient/del-pat'),
    });
    expect(await ids(`Observation?code=${GENERAL}|deleted`)).toEqual([]);
    expect(await ids(`Observation?code=${GENERAL}|recreated`)).toEqual(['del-obs']);

    // Deleting the chain's target: the chain no longer matches.
    await remove(server, 'Patient/del-pat');
    expect(await ids('Patient?family=zebulon')).toEqual([]);
    expect(await ids('Observation?subject:Patient.name=zebulon')).toEqual([]);
  });
});

describe('POST [type]/_search', () => {
  it('with a form body gives the same result as GET', async () => {
    const query = 'status=requested&owner=Organization/gen-org&_include=Task:owner&_sort=-_id';
    const get = await searchBundle(server, `Task?${query}`);
    expect(matchIdsOf(get)).toEqual(['gt-3', 'gt-1']);
    expect(includeRefsOf(get)).toEqual(['Organization/gen-org']);

    const post = await server.request('POST', '/fhir/Task/_search', {
      rawBody: searchPath(`Task?${query}`).split('?')[1],
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status, post.text).toBe(200);
    expect(post.body.type).toBe('searchset');
    expect(post.body.total).toBe(get.total);
    expect(matchIdsOf(post.body)).toEqual(matchIdsOf(get));
    expect(includeRefsOf(post.body)).toEqual(includeRefsOf(get));
  });
});

describe('a resource type without instances', () => {
  it('gives an empty searchset with total 0', async () => {
    for (const search of ['BodyStructure', 'Substance?code=abc', 'ImmunizationRecommendation?status=due']) {
      const bundle = await searchBundle(server, search);
      expect(bundle.total, search).toBe(0);
      expect(bundle.entry ?? [], search).toEqual([]);
    }
  });
});

describe('a SearchParameter created at runtime', () => {
  it('is used for resources written after it, without a restart', async () => {
    const strictBefore = await server.request('GET', searchPath('Patient?nickname=bob'), { headers: { prefer: 'handling=strict' } });
    expect(strictBefore.status).toBe(400);

    const created = await server.request('POST', '/fhir/SearchParameter', {
      body: {
        resourceType: 'SearchParameter',
        url: 'http://example.org/fhir/SearchParameter/patient-nickname',
        name: 'PatientNickname',
        status: 'active',
        description: 'A given name used as a nickname',
        code: 'nickname',
        base: ['Patient'],
        type: 'string',
        expression: "Patient.name.where(use='nickname').given",
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(await ids('SearchParameter?code=nickname')).toEqual([created.body.id]);

    await putAll(server, [
      {
        resourceType: 'Patient',
        id: 'nick-1',
        name: [
          { use: 'official', family: 'Robertson', given: ['Robert'] },
          { use: 'nickname', given: ['Bobby'] },
        ],
      },
      // Bobby, but not as a nickname.
      { resourceType: 'Patient', id: 'nick-2', name: [{ use: 'official', family: 'Bobson', given: ['Bobby'] }] },
    ]);
    expect(await ids('Patient?nickname=bob')).toEqual(['nick-1']);
    expect(await ids('Patient?nickname:exact=Bobby')).toEqual(['nick-1']);
    expect(await ids('Patient?nickname=robert')).toEqual([]);
    expect(await ids('Patient?given=bob')).toEqual(['nick-1', 'nick-2']);

    const strictAfter = await server.request('GET', searchPath('Patient?nickname=bob'), { headers: { prefer: 'handling=strict' } });
    expect(strictAfter.status, strictAfter.text).toBe(200);
    expect(matchIdsOf(strictAfter.body)).toEqual(['nick-1']);
  });
});
