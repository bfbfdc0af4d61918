// _include / _revinclude (typed, wildcard, :iterate, deleted targets), the Gravity IG polling
// queries, _sort on several keys and types, paging through a sorted result set while data changes,
// _total, _summary and _elements.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  entriesByMode,
  follow,
  includeRefsOf,
  linkOf,
  matchIdsOf,
  put,
  putAll,
  ref,
  remove,
  searchBundle,
  searchIds,
  searchOrder,
  searchPath,
  sorted,
  SUBSETTED,
  type Json,
} from './search-helpers.ts';

let server: TestServer;
const ids = (search: string) => searchIds(server, search);
const order = (search: string) => searchOrder(server, search);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sorted match ids and sorted `Type/id` of included resources; an included resource appears once. */
async function withIncludes(search: string): Promise<{ matches: string[]; included: string[] }> {
  const bundle = await searchBundle(server, search);
  const included = includeRefsOf(bundle);
  expect(included.length, `duplicate include entries: ${included.join(', ')}`).toBe(new Set(included).size);
  for (const entry of entriesByMode(bundle, 'include')) {
    expect(entry.fullUrl).toBe(`${server.fhir}/${entry.resource.resourceType}/${entry.resource.id}`);
  }
  return { matches: sorted(matchIdsOf(bundle)), included: sorted(included) };
}

const task = (id: string, status: string, extra: Json): Json => ({ resourceType: 'Task', id, status, intent: 'order', ...extra });
const serviceRequest = (id: string, subject: string, requester: string, extra: Json = {}): Json => ({
  resourceType: 'ServiceRequest',
  id,
  status: 'active',
  intent: 'order',
  subject: ref(subject),
  requester: ref(requester),
  ...extra,
});
const provenance = (id: string, targets: string[]): Json => ({
  resourceType: 'Provenance',
  id,
  target: targets.map(ref),
  recorded: '2025-03-01T10:00:00Z',
  agent: [{ who: ref('Organization/org-cbo') }],
});

const SORT = 'urn:test:sort';
const PAGE = 'urn:test:page';
const SUMMARY = 'urn:test:summary';

const sortPatient = (id: string, family: string | undefined, birthDate: string | undefined): Json => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: SORT, value: id }],
  ...(family ? { name: [{ family }] } : {}),
  ...(birthDate ? { birthDate } : {}),
});
const sortObservation = (id: string, effectiveDateTime: string): Json => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: SORT, code: 'sort' }] },
  effectiveDateTime,
});

const summaryPatient: Json = {
  resourceType: 'Patient',
  id: 'sm-1',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Summary Test</div>' },
  identifier: [{ system: SUMMARY, value: 'sm-1' }],
  active: true,
  name: [{ family: 'Summary', given: ['Sam'] }],
  gender: 'female',
  birthDate: '1975-04-04',
  maritalStatus: { text: 'Married' },
  contact: [{ name: { family: 'Contact', given: ['Casey'] } }],
  communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } }],
};

const data: Json[] = [
  { resourceType: 'Organization', id: 'org-cbo', name: 'Harbor Food Bank' },
  { resourceType: 'Organization', id: 'org-clinic', name: 'Harbor Clinic' },
  { resourceType: 'Organization', id: 'org-plan', name: 'Harbor Health Plan' },
  { resourceType: 'Practitioner', id: 'prac-1', name: [{ family: 'Owner' }] },
  { resourceType: 'Patient', id: 'pat-a', name: [{ family: 'Include' }] },
  { resourceType: 'Patient', id: 'pat-b', name: [{ family: 'Include' }] },
  { resourceType: 'Condition', id: 'cond-1', subject: ref('Patient/pat-a'), code: { text: 'Food insecurity' } },
  { resourceType: 'Observation', id: 'obs-1', status: 'final', subject: ref('Patient/pat-a'), code: { text: 'Hunger vital sign' } },
  { resourceType: 'Procedure', id: 'proc-1', status: 'completed', subject: ref('Patient/pat-a') },

  serviceRequest('sr-1', 'Patient/pat-a', 'Organization/org-clinic', { supportingInfo: [ref('Condition/cond-1'), ref('Observation/obs-1')] }),
  serviceRequest('sr-2', 'Patient/pat-b', 'Organization/org-plan'),
  serviceRequest('sr-3', 'Patient/pat-b', 'Organization/org-clinic'),
  serviceRequest('sr-gone', 'Patient/pat-b', 'Organization/org-plan'),

  task('t-1', 'requested', {
    focus: ref('ServiceRequest/sr-1'),
    owner: ref('Organization/org-cbo'),
    for: ref('Patient/pat-a'),
    output: [{ type: { text: 'Resulting procedure' }, valueReference: ref('Procedure/proc-1') }],
  }),
  task('t-2', 'in-progress', {
    focus: ref('ServiceRequest/sr-1'),
    owner: ref('Organization/org-cbo'),
    for: ref('Patient/pat-b'),
    requester: ref('Organization/org-clinic'),
  }),
  task('t-3', 'requested', { focus: ref('ServiceRequest/sr-2'), for: ref('Patient/pat-b') }),
  task('t-4', 'requested', { focus: ref('ServiceRequest/sr-3'), owner: ref('Practitioner/prac-1'), for: ref('Patient/pat-a') }),
  // Its focus is deleted below.
  task('t-5', 'requested', { focus: ref('ServiceRequest/sr-gone'), owner: ref('Organization/org-cbo') }),
  task('t-6', 'completed', { focus: ref('ServiceRequest/sr-2'), owner: ref('Organization/org-plan') }),

  provenance('prov-1', ['Task/t-1']),
  provenance('prov-2', ['Task/t-1', 'Task/t-2']),
  // Deleted below.
  provenance('prov-gone', ['Task/t-3']),

  { resourceType: 'Location', id: 'loc-1', name: 'Harbor pantry' },
  { resourceType: 'Location', id: 'loc-2', name: 'Harbor office' },
  { resourceType: 'HealthcareService', id: 'hs-1', name: 'Food delivery', location: [ref('Location/loc-1'), ref('Location/loc-2')] },
  { resourceType: 'HealthcareService', id: 'hs-2', name: 'Housing help', location: [ref('Location/loc-2')] },
  { resourceType: 'HealthcareService', id: 'hs-3', name: 'Phone line' },

  sortPatient('ps-1', 'Adams', '1990-01-01'),
  sortPatient('ps-2', 'Baker', '1985-05-05'),
  sortPatient('ps-3', 'Adams', '1995-03-03'),
  sortPatient('ps-4', 'Clark', undefined),
  sortPatient('ps-5', undefined, '1970'),
  sortPatient('ps-6', 'Adams', '1992-07-07'),

  sortObservation('os-1', '2024-01-01'),
  sortObservation('os-2', '2024-06-01T10:00:00Z'),
  sortObservation('os-3', '2024-03-15T08:00:00+02:00'),
  sortObservation('os-4', '2023'),

  summaryPatient,
];

const PAGE_FAMILIES = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot', 'Golf', 'Hotel'];
// Written in an order unrelated to the sort order, so neither ids nor write times give it.
const pagePatients: Json[] = [3, 7, 0, 5, 1, 6, 2, 4].map((i) => ({
  resourceType: 'Patient',
  id: `pg-${String.fromCharCode(104 - i)}`, // pg-h for Alpha ... pg-a for Hotel: id order is the reverse
  identifier: [{ system: PAGE, value: PAGE_FAMILIES[i] }],
  name: [{ family: PAGE_FAMILIES[i] }],
}));
const pageIdOf = (family: string) => pagePatients.find((p) => p.name[0].family === family)!.id as string;

beforeAll(async () => {
  server = await startTestServer();
  await putAll(server, [...data, ...pagePatients]);
  await remove(server, 'ServiceRequest/sr-gone');
  await remove(server, 'Provenance/prov-gone');
});
afterAll(async () => {
  await server?.close();
});

describe('_include', () => {
  it('adds the referenced resources once each, with search.mode include', async () => {
    expect(await withIncludes('Task?_id=t-1,t-2&_include=Task:focus')).toEqual({ matches: ['t-1', 't-2'], included: ['ServiceRequest/sr-1'] });
    expect(await withIncludes('Task?_id=t-1,t-3&_include=Task:focus')).toEqual({
      matches: ['t-1', 't-3'],
      included: ['ServiceRequest/sr-1', 'ServiceRequest/sr-2'],
    });
    // Without _include, nothing is added.
    expect(await withIncludes('Task?_id=t-1,t-3')).toEqual({ matches: ['t-1', 't-3'], included: [] });
  });

  it('a target type restricts what is included', async () => {
    expect(await withIncludes('Task?_id=t-1,t-4&_include=Task:owner:Organization')).toEqual({
      matches: ['t-1', 't-4'],
      included: ['Organization/org-cbo'],
    });
    expect(await withIncludes('Task?_id=t-1,t-4&_include=Task:owner')).toEqual({
      matches: ['t-1', 't-4'],
      included: ['Organization/org-cbo', 'Practitioner/prac-1'],
    });
  });

  it('Task:* includes every reference parameter, and several _include parameters add up', async () => {
    expect(await withIncludes('Task?_id=t-2&_include=Task:*')).toEqual({
      matches: ['t-2'],
      included: ['Organization/org-cbo', 'Organization/org-clinic', 'Patient/pat-b', 'ServiceRequest/sr-1'],
    });
    expect(await withIncludes('Task?_id=t-1&_include=Task:focus&_include=Task:patient')).toEqual({
      matches: ['t-1'],
      included: ['Patient/pat-a', 'ServiceRequest/sr-1'],
    });
  });

  it('does not include deleted resources', async () => {
    expect(await withIncludes('Task?_id=t-5&_include=Task:focus')).toEqual({ matches: ['t-5'], included: [] });
    expect(await withIncludes('Task?_id=t-5,t-3&_include=Task:focus')).toEqual({ matches: ['t-3', 't-5'], included: ['ServiceRequest/sr-2'] });
  });

  it('_include:iterate follows references of included resources; plain _include does not', async () => {
    expect(await withIncludes('Task?_id=t-1&_include=Task:focus&_include:iterate=ServiceRequest:requester')).toEqual({
      matches: ['t-1'],
      included: ['Organization/org-clinic', 'ServiceRequest/sr-1'],
    });
    // Without :iterate, ServiceRequest:requester does not apply to a Task search: the server may reject it
    // (400) or ignore it, but must not follow it from the included ServiceRequest.
    const plain = await server.request('GET', searchPath('Task?_id=t-1&_include=Task:focus&_include=ServiceRequest:requester'));
    expect([200, 400], plain.text).toContain(plain.status);
    if (plain.status === 200) expect(sorted(includeRefsOf(plain.body))).toEqual(['ServiceRequest/sr-1']);
    // From reverse-included Tasks to their owners.
    expect(await withIncludes('ServiceRequest?_id=sr-1&_revinclude=Task:focus&_include:iterate=Task:owner')).toEqual({
      matches: ['sr-1'],
      included: ['Organization/org-cbo', 'Task/t-1', 'Task/t-2'],
    });
  });
});

describe('_revinclude', () => {
  it('adds the resources that refer to the matches, once each, never deleted ones', async () => {
    expect(await withIncludes('Task?_id=t-1,t-2,t-3&_revinclude=Provenance:target')).toEqual({
      matches: ['t-1', 't-2', 't-3'],
      included: ['Provenance/prov-1', 'Provenance/prov-2'],
    });
    expect(await withIncludes('Task?_id=t-3&_revinclude=Provenance:target')).toEqual({ matches: ['t-3'], included: [] });
    expect(await withIncludes('ServiceRequest?_id=sr-2&_revinclude=Task:focus')).toEqual({ matches: ['sr-2'], included: ['Task/t-3', 'Task/t-6'] });
  });
});

describe('Gravity IG queries', () => {
  it('Task?owner:missing=true&status=requested: unassigned requested Tasks', async () => {
    expect(await ids('Task?owner:missing=true&status=requested')).toEqual(['t-3']);
  });

  it('Task?focus=...&_include=Task:output', async () => {
    expect(await withIncludes('Task?focus=ServiceRequest/sr-1&_include=Task:output')).toEqual({
      matches: ['t-1', 't-2'],
      included: ['Procedure/proc-1'],
    });
  });

  it('ServiceRequest?_include=ServiceRequest:supporting-info', async () => {
    expect(await withIncludes('ServiceRequest?_include=ServiceRequest:supporting-info')).toEqual({
      matches: ['sr-1', 'sr-2', 'sr-3'],
      included: ['Condition/cond-1', 'Observation/obs-1'],
    });
  });

  it('HealthcareService?_include=HealthcareService:location', async () => {
    expect(await withIncludes('HealthcareService?_include=HealthcareService:location')).toEqual({
      matches: ['hs-1', 'hs-2', 'hs-3'],
      included: ['Location/loc-1', 'Location/loc-2'],
    });
  });
});

describe('_sort', () => {
  it('several keys, descending with -, missing values last when ascending', async () => {
    expect(await order(`Patient?identifier=${SORT}|&_sort=family,-birthdate`)).toEqual(['ps-3', 'ps-6', 'ps-1', 'ps-2', 'ps-4', 'ps-5']);
    expect(await order(`Patient?identifier=${SORT}|&_sort=birthdate`)).toEqual(['ps-5', 'ps-2', 'ps-1', 'ps-6', 'ps-3', 'ps-4']);
    // Descending: where a resource without a value goes (ps-5 has no family) is not asserted.
    const descendingFamily = await order(`Patient?identifier=${SORT}|&_sort=-family,birthdate`);
    expect(sorted(descendingFamily)).toEqual(['ps-1', 'ps-2', 'ps-3', 'ps-4', 'ps-5', 'ps-6']);
    expect(descendingFamily.filter((id) => id !== 'ps-5')).toEqual(['ps-4', 'ps-2', 'ps-1', 'ps-6', 'ps-3']);
    const descendingBirth = await order(`Patient?identifier=${SORT}|&_sort=-birthdate`);
    expect(sorted(descendingBirth)).toEqual(['ps-1', 'ps-2', 'ps-3', 'ps-4', 'ps-5', 'ps-6']);
    expect(descendingBirth.filter((id) => id !== 'ps-4')).toEqual(['ps-3', 'ps-6', 'ps-1', 'ps-2', 'ps-5']);
  });

  it('by date, on dateTimes with offsets and partial dates', async () => {
    expect(await order(`Observation?code=${SORT}|sort&_sort=-date`)).toEqual(['os-2', 'os-3', 'os-1', 'os-4']);
    expect(await order(`Observation?code=${SORT}|sort&_sort=date`)).toEqual(['os-4', 'os-1', 'os-3', 'os-2']);
  });

  it('by a token (Task.status), with _id to break ties', async () => {
    expect(await order('Task?_sort=status,_id')).toEqual(['t-6', 't-2', 't-1', 't-3', 't-4', 't-5']);
    expect(await order('Task?_sort=-status,-_id')).toEqual(['t-5', 't-4', 't-3', 't-1', 't-2', 't-6']);
  });
});

describe('paging', () => {
  it('follows next links through a sorted set while new matches are written, without duplicates or gaps', async () => {
    let page = await searchBundle(server, `Patient?identifier=${PAGE}|&_sort=family&_count=3&_total=accurate`);
    expect(page.total).toBe(8);
    const pages: string[][] = [matchIdsOf(page)];
    for (let i = 0; i < 10; i++) {
      const next = linkOf(page, 'next');
      if (!next) break;
      // A new match that sorts before everything already read arrives between page fetches.
      await put(server, { resourceType: 'Patient', id: `pg-new-${i}`, identifier: [{ system: PAGE, value: `new-${i}` }], name: [{ family: `Aardvark${i}` }] });
      page = await follow(server, next);
      pages.push(matchIdsOf(page));
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(pages.flat()).toEqual(PAGE_FAMILIES.map(pageIdOf));

    // Back from the last page: the middle page again.
    const previous = await follow(server, linkOf(page, 'previous'));
    expect(matchIdsOf(previous)).toEqual(pages[1]);
    const first = await follow(server, linkOf(previous, 'previous'));
    expect(matchIdsOf(first)).toEqual(pages[0]);
  });

  it('_count limits the page and the next link carries the criteria', async () => {
    const page = await searchBundle(server, `Patient?identifier=${SORT}|&_sort=birthdate&_count=4`);
    expect(matchIdsOf(page)).toEqual(['ps-5', 'ps-2', 'ps-1', 'ps-6']);
    const next = linkOf(page, 'next');
    expect(new URL(next!).searchParams.get('identifier')).toBe(`${SORT}|`);
    expect(matchIdsOf(await follow(server, next))).toEqual(['ps-3', 'ps-4']);
  });
});

describe('_total and _summary=count', () => {
  it('_total=accurate gives the total, _total=none leaves it out', async () => {
    const accurate = await searchBundle(server, `Patient?identifier=${SORT}|&_total=accurate&_count=2`);
    expect(accurate.total).toBe(6);
    expect(matchIdsOf(accurate)).toHaveLength(2);
    const none = await searchBundle(server, `Patient?identifier=${SORT}|&_total=none`);
    expect('total' in none).toBe(false);
    expect(sorted(matchIdsOf(none))).toEqual(['ps-1', 'ps-2', 'ps-3', 'ps-4', 'ps-5', 'ps-6']);
  });

  it('_summary=count gives the total and no entries', async () => {
    const count = await searchBundle(server, `Patient?identifier=${SORT}|&_summary=count`);
    expect(count.total).toBe(6);
    expect(count.entry ?? []).toEqual([]);
    const tasks = await searchBundle(server, 'Task?status=requested&_summary=count');
    expect(tasks.total).toBe(4);
    expect(tasks.entry ?? []).toEqual([]);
  });
});

describe('_summary and _elements', () => {
  const only = async (search: string): Promise<Json> => {
    const bundle = await searchBundle(server, search);
    const matches = entriesByMode(bundle, 'match');
    expect(matches).toHaveLength(1);
    return matches[0].resource;
  };
  const isSubsetted = (resource: Json) =>
    (resource.meta?.tag ?? []).some((tag: Json) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code);

  it('_summary=true keeps only summary elements and marks the resource SUBSETTED', async () => {
    const resource = await only(`Patient?identifier=${SUMMARY}|&_summary=true`);
    expect(resource.resourceType).toBe('Patient');
    expect(resource.id).toBe('sm-1');
    expect(resource.name).toEqual(summaryPatient.name);
    expect(resource.birthDate).toBe('1975-04-04');
    expect(resource.identifier).toEqual(summaryPatient.identifier);
    expect(resource.gender).toBe('female');
    expect(resource.active).toBe(true);
    for (const dropped of ['contact', 'communication', 'maritalStatus', 'text']) expect(resource, dropped).not.toHaveProperty(dropped);
    expect(isSubsetted(resource)).toBe(true);
  });

  it('_summary=data drops the narrative only', async () => {
    const resource = await only(`Patient?identifier=${SUMMARY}|&_summary=data`);
    expect(resource).not.toHaveProperty('text');
    expect(resource.contact).toEqual(summaryPatient.contact);
    expect(resource.communication).toEqual(summaryPatient.communication);
    expect(resource.name).toEqual(summaryPatient.name);
  });

  it('_summary=text keeps the narrative, id and meta', async () => {
    const resource = await only(`Patient?identifier=${SUMMARY}|&_summary=text`);
    expect(resource.id).toBe('sm-1');
    expect(resource.text).toEqual(summaryPatient.text);
    for (const dropped of ['name', 'contact', 'birthDate', 'identifier']) expect(resource, dropped).not.toHaveProperty(dropped);
  });

  it('_summary=false returns the whole resource', async () => {
    const resource = await only(`Patient?identifier=${SUMMARY}|&_summary=false`);
    expect(resource.contact).toEqual(summaryPatient.contact);
    expect(resource.text).toEqual(summaryPatient.text);
    expect(isSubsetted(resource)).toBe(false);
  });

  it('_elements keeps the listed elements plus id, meta and resourceType, marked SUBSETTED', async () => {
    const resource = await only(`Patient?identifier=${SUMMARY}|&_elements=name,birthDate`);
    expect(Object.keys(resource).sort()).toEqual(['birthDate', 'id', 'meta', 'name', 'resourceType']);
    expect(resource.name).toEqual(summaryPatient.name);
    expect(resource.birthDate).toBe('1975-04-04');
    expect(isSubsetted(resource)).toBe(true);
  });

  it('leaves the stored resource whole', async () => {
    const res = await server.request('GET', '/fhir/Patient/sm-1');
    expect(res.status).toBe(200);
    expect(res.body.contact).toEqual(summaryPatient.contact);
    expect(res.body.text).toEqual(summaryPatient.text);
    expect(isSubsetted(res.body)).toBe(false);
  });
});

describe('polling for new work (runs last: it writes a Task)', () => {
  it('Task?owner=...&_lastUpdated=gt... finds what changed since', async () => {
    expect(await ids('Task?owner=Organization/org-cbo&_lastUpdated=gt2025-01-01T00:00:00Z')).toEqual(['t-1', 't-2', 't-5']);
    const read = await server.request('GET', '/fhir/Task/t-6');
    expect(read.status).toBe(200);
    const since = read.body.meta.lastUpdated as string;
    expect(await ids(`Task?owner=Organization/org-cbo&_lastUpdated=gt${since}`)).toEqual([]);
    await sleep(5);
    await put(server, task('t-7', 'requested', { focus: ref('ServiceRequest/sr-3'), owner: ref('Organization/org-cbo') }));
    expect(await ids(`Task?owner=Organization/org-cbo&_lastUpdated=gt${since}`)).toEqual(['t-7']);
    expect(await ids(`Task?owner=Organization/org-plan&_lastUpdated=gt${since}`)).toEqual([]);
  });
});
