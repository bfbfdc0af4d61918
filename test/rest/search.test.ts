import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type HttpResult, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Entry = any;
interface Identifier {
  system?: string;
  value: string;
}
interface Created {
  id: string;
  lastUpdated: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A system no other test uses, so each test sees only its own resources. */
const newSystem = () => `urn:uuid:${randomUUID()}`;

async function createPatient(identifier: Identifier[], family = 'Search'): Promise<Created> {
  const res = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Patient', identifier, name: [{ family }] } });
  expect(res.status).toBe(201);
  return { id: res.body.id, lastUpdated: res.body.meta.lastUpdated };
}

async function createMany(system: string, n: number): Promise<Created[]> {
  const created: Created[] = [];
  for (let i = 0; i < n; i++) created.push(await createPatient([{ system, value: `v${i}` }]));
  return created;
}

async function search(params: Record<string, string> | [string, string][], headers: Record<string, string> = {}): Promise<HttpResult> {
  const query = new URLSearchParams(params).toString();
  const res = await server.request('GET', `/fhir/Patient?${query}`, { headers });
  expect(res.status, res.text).toBe(200);
  expect(res.body.resourceType).toBe('Bundle');
  expect(res.body.type).toBe('searchset');
  return res;
}

const matches = (bundle: { entry?: Entry[] }) => (bundle.entry ?? []).filter((entry) => entry.search?.mode === 'match');
const matchIds = (bundle: { entry?: Entry[] }) => matches(bundle).map((entry) => entry.resource.id as string);
const sorted = (ids: string[]) => [...ids].sort();

async function ids(params: Record<string, string> | [string, string][]): Promise<string[]> {
  return sorted(matchIds((await search(params)).body));
}

const link = (bundle: { link?: { relation: string; url: string }[] }, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;

async function follow(url: string | undefined): Promise<HttpResult> {
  expect(url).toBeDefined();
  expect(url!.startsWith(`${server.fhir}/`)).toBe(true);
  const res = await server.request('GET', url!.slice(server.url.length));
  expect(res.status, res.text).toBe(200);
  return res;
}

describe('_id', () => {
  it('matches one id, or any of several separated by commas', async () => {
    const system = newSystem();
    const [a, b, c] = await createMany(system, 3);
    expect(await ids({ _id: a.id })).toEqual([a.id]);
    expect(await ids({ _id: `${a.id},${c.id}` })).toEqual(sorted([a.id, c.id]));
    expect(await ids({ _id: `${b.id},no-such-id` })).toEqual([b.id]);
    expect(await ids({ _id: 'no-such-id' })).toEqual([]);
    // Combined with another parameter, both must hold.
    expect(await ids({ _id: `${a.id},${b.id}`, identifier: `${system}|v1` })).toEqual([b.id]);
  });
});

describe('identifier', () => {
  it('matches system|value, |value, system| and a bare value', async () => {
    const system = newSystem();
    const other = newSystem();
    const value = `val-${randomUUID()}`;
    const withSystem = await createPatient([{ system, value }]);
    const otherSystem = await createPatient([{ system: other, value }]);
    const noSystem = await createPatient([{ value }]);
    const sameSystemOtherValue = await createPatient([{ system, value: `${value}-2` }]);
    const secondIdentifier = await createPatient([
      { system: other, value: 'something-else' },
      { system, value },
    ]);

    expect(await ids({ identifier: `${system}|${value}` })).toEqual(sorted([withSystem.id, secondIdentifier.id]));
    expect(await ids({ identifier: `|${value}` })).toEqual([noSystem.id]);
    expect(await ids({ identifier: `${system}|` })).toEqual(sorted([withSystem.id, sameSystemOtherValue.id, secondIdentifier.id]));
    expect(await ids({ identifier: value })).toEqual(sorted([withSystem.id, otherSystem.id, noSystem.id, secondIdentifier.id]));
    // The system and value must be on the same identifier.
    expect(await ids({ identifier: `${other}|${value}` })).toEqual([otherSystem.id]);
    // Comma is OR.
    expect(await ids({ identifier: `${other}|${value},|${value}` })).toEqual(sorted([otherSystem.id, noSystem.id]));
    expect(await ids({ identifier: `${system}|nothing-like-it` })).toEqual([]);
  });
});

describe('_lastUpdated', () => {
  it('compares at second and millisecond precision with every prefix', async () => {
    const system = newSystem();
    const a = await createPatient([{ system, value: 'a' }]);
    // The next resource lands in a later second.
    await sleep(1000 - new Date(a.lastUpdated).getUTCMilliseconds() + 20);
    const b = await createPatient([{ system, value: 'b' }]);
    const secondA = a.lastUpdated.slice(0, 19);
    const secondB = b.lastUpdated.slice(0, 19);
    expect(secondA).not.toBe(secondB);

    const scoped = (value: string) => ids([['identifier', `${system}|`], ['_lastUpdated', value]]);
    const both = sorted([a.id, b.id]);
    expect(await scoped(`${secondA}Z`)).toEqual([a.id]);
    expect(await scoped(`eq${secondA}Z`)).toEqual([a.id]);
    expect(await scoped(`eq${secondB}`)).toEqual([b.id]);
    expect(await scoped(`gt${secondA}Z`)).toEqual([b.id]);
    expect(await scoped(`ge${secondA}Z`)).toEqual(both);
    expect(await scoped(`ge${secondB}Z`)).toEqual([b.id]);
    expect(await scoped(`lt${secondB}Z`)).toEqual([a.id]);
    expect(await scoped(`lt${secondA}Z`)).toEqual([]);
    expect(await scoped(`le${secondA}Z`)).toEqual([a.id]);
    expect(await scoped(`le${secondB}Z`)).toEqual(both);
    expect(await scoped(`gt${secondB}Z`)).toEqual([]);
    expect(await scoped(`ne${secondA}Z`)).toEqual([b.id]);

    // Millisecond precision: the exact instant.
    expect(await scoped(`eq${a.lastUpdated}`)).toEqual([a.id]);
    expect(await scoped(`gt${a.lastUpdated}`)).toEqual([b.id]);
    expect(await scoped(`le${a.lastUpdated}`)).toEqual([a.id]);
  });

  it('compares at day, month and year precision', async () => {
    const system = newSystem();
    const a = await createPatient([{ system, value: 'a' }]);
    const day = a.lastUpdated.slice(0, 10);
    const dayMs = Date.parse(`${day}T00:00:00Z`);
    const previousDay = new Date(dayMs - 86_400_000).toISOString().slice(0, 10);
    const nextDay = new Date(dayMs + 86_400_000).toISOString().slice(0, 10);

    const scoped = (value: string) => ids([['identifier', `${system}|`], ['_lastUpdated', value]]);
    expect(await scoped(day)).toEqual([a.id]);
    expect(await scoped(`eq${day}`)).toEqual([a.id]);
    expect(await scoped(`ge${day}`)).toEqual([a.id]);
    expect(await scoped(`le${day}`)).toEqual([a.id]);
    expect(await scoped(`gt${day}`)).toEqual([]);
    expect(await scoped(`lt${day}`)).toEqual([]);
    expect(await scoped(`eq${previousDay}`)).toEqual([]);
    expect(await scoped(`gt${previousDay}`)).toEqual([a.id]);
    expect(await scoped(`lt${nextDay}`)).toEqual([a.id]);
    expect(await scoped(`ge${nextDay}`)).toEqual([]);

    expect(await scoped(`eq${day.slice(0, 7)}`)).toEqual([a.id]);
    expect(await scoped(day.slice(0, 4))).toEqual([a.id]);
    expect(await scoped('eq2001')).toEqual([]);
    expect(await scoped('gt2001-06')).toEqual([a.id]);
    expect(await scoped('lt2001')).toEqual([]);
  });

  it('honours a time zone offset', async () => {
    const system = newSystem();
    const a = await createPatient([{ system, value: 'a' }]);
    const instant = new Date(a.lastUpdated);
    // The minute of `a` written as local time at UTC+05:30.
    const local = new Date(instant.getTime() + 5.5 * 3_600_000).toISOString().slice(0, 16);
    const scoped = (value: string) => ids([['identifier', `${system}|`], ['_lastUpdated', value]]);
    expect(await scoped(`eq${local}+05:30`)).toEqual([a.id]);
    // The same wall-clock time at UTC-05:00 is a different instant.
    expect(await scoped(`eq${local}-05:00`)).toEqual([]);
    // Second precision in a zone.
    const localSecond = new Date(instant.getTime() - 3 * 3_600_000).toISOString().slice(0, 19);
    expect(await scoped(`eq${localSecond}-03:00`)).toEqual([a.id]);
    expect(await scoped(`lt${localSecond}-03:00`)).toEqual([]);
  });

  it('is 400 for an invalid date', async () => {
    const res = await server.request('GET', '/fhir/Patient?_lastUpdated=gtnot-a-date');
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('_count and paging', () => {
  it('follows next links to the end, seeing every match exactly once', async () => {
    const system = newSystem();
    const created = await createMany(system, 7);
    let page = await search({ identifier: `${system}|`, _count: '3', _total: 'accurate' });
    const seen: string[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect(page.body.total).toBe(7);
      sizes.push(matches(page.body).length);
      seen.push(...matchIds(page.body));
      const next = link(page.body, 'next');
      if (!next) break;
      expect(new URL(next).searchParams.get('identifier')).toBe(`${system}|`);
      page = await follow(next);
    }
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toHaveLength(7);
    expect(sorted(seen)).toEqual(sorted(created.map((c) => c.id)));
    // The default order is by id.
    expect(seen).toEqual(sorted(seen));

    // Previous from the last page gives the middle page again.
    const back = await follow(link(page.body, 'previous'));
    expect(matchIds(back.body)).toEqual(seen.slice(3, 6));
  });

  it('keeps pages stable while new matches are written (keyset paging)', async () => {
    const system = newSystem();
    const created: Created[] = [];
    for (let i = 0; i < 5; i++) {
      created.push(await createPatient([{ system, value: `v${i}` }]));
      await sleep(3);
    }
    const newestFirst = [...created].sort((x, y) => y.lastUpdated.localeCompare(x.lastUpdated) || x.id.localeCompare(y.id)).map((c) => c.id);

    let page = await search({ identifier: `${system}|`, _count: '2', _sort: '-_lastUpdated' });
    const seen = [...matchIds(page.body)];
    for (let i = 0; i < 10; i++) {
      const next = link(page.body, 'next');
      if (!next) break;
      // A new match arrives between page fetches; it sorts before the pages already read.
      await createPatient([{ system, value: `late${i}` }]);
      page = await follow(next);
      seen.push(...matchIds(page.body));
    }
    expect(seen).toEqual(newestFirst);
  });

  it('_count=0 gives the total without entries', async () => {
    const system = newSystem();
    await createMany(system, 2);
    const { body } = await search({ identifier: `${system}|`, _count: '0' });
    expect(body.total).toBe(2);
    expect(matches(body)).toHaveLength(0);
  });
});

describe('_sort', () => {
  it('orders by _lastUpdated, descending with -', async () => {
    const system = newSystem();
    const created: Created[] = [];
    for (let i = 0; i < 4; i++) {
      created.push(await createPatient([{ system, value: `v${i}` }]));
      await sleep(5);
    }
    const oldestFirst = created.map((c) => c.id);
    const descending = await search({ identifier: `${system}|`, _sort: '-_lastUpdated' });
    expect(matchIds(descending.body)).toEqual([...oldestFirst].reverse());
    const ascending = await search({ identifier: `${system}|`, _sort: '_lastUpdated' });
    expect(matchIds(ascending.body)).toEqual(oldestFirst);
  });

  it('rejects sorting by an unsupported parameter with 400', async () => {
    expect((await server.request('GET', '/fhir/Patient?_sort=no-such-param')).status).toBe(400);
    // A reference parameter has no order of its own.
    expect((await server.request('GET', '/fhir/Patient?_sort=general-practitioner')).status).toBe(400);
  });
});

describe('_total and _summary', () => {
  it('includes the total by default and omits it with _total=none', async () => {
    const system = newSystem();
    await createMany(system, 3);
    const withTotal = await search({ identifier: `${system}|` });
    expect(withTotal.body.total).toBe(3);
    const none = await search({ identifier: `${system}|`, _total: 'none' });
    expect('total' in none.body).toBe(false);
    expect(matches(none.body)).toHaveLength(3);
  });

  it('leaves the total out of a result that spans pages unless _total asks for it', async () => {
    const system = newSystem();
    await createMany(system, 5);
    const paged = await search({ identifier: `${system}|`, _count: '2' });
    expect(link(paged.body, 'next')).toBeDefined();
    expect('total' in paged.body).toBe(false);
    const accurate = await search({ identifier: `${system}|`, _count: '2', _total: 'accurate' });
    expect(accurate.body.total).toBe(5);
    const estimate = await search({ identifier: `${system}|`, _count: '2', _total: 'estimate' });
    expect(Number.isInteger(estimate.body.total)).toBe(true);
    expect(estimate.body.total).toBeGreaterThanOrEqual(0);
  });

  it('returns only the count with _summary=count', async () => {
    const system = newSystem();
    await createMany(system, 4);
    const { body } = await search({ identifier: `${system}|`, _summary: 'count' });
    expect(body.total).toBe(4);
    expect(body.entry ?? []).toHaveLength(0);
  });
});

describe('POST [type]/_search', () => {
  it('gives the same result as GET for a form-encoded body', async () => {
    const system = newSystem();
    const created = await createMany(system, 3);
    const params = { identifier: `${system}|`, _id: `${created[0].id},${created[2].id}`, _sort: '-_lastUpdated' };
    const get = await search(params);
    const post = await server.request('POST', '/fhir/Patient/_search', {
      rawBody: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status, post.text).toBe(200);
    expect(post.body.type).toBe('searchset');
    expect(post.body.total).toBe(2);
    expect(matchIds(post.body)).toEqual(matchIds(get.body));
    expect(matchIds(post.body)).toEqual([created[2].id, created[0].id]);
  });
});

describe('unknown parameters', () => {
  it('are ignored with a warning outcome entry', async () => {
    const system = newSystem();
    const [a] = await createMany(system, 1);
    const { body } = await search({ identifier: `${system}|`, 'no-such-param': 'x' });
    expect(matchIds(body)).toEqual([a.id]);
    expect(body.total).toBe(1);
    const outcomes = (body.entry as Entry[]).filter((entry) => entry.search?.mode === 'outcome');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].resource.resourceType).toBe('OperationOutcome');
    expect(outcomes[0].resource.issue[0].severity).toBe('warning');
    expect(outcomes[0].resource.issue[0].diagnostics).toContain('no-such-param');
  });

  it('are a 400 with Prefer: handling=strict', async () => {
    const system = newSystem();
    await createMany(system, 1);
    const query = new URLSearchParams({ identifier: `${system}|`, 'no-such-param': 'x' }).toString();
    const strict = await server.request('GET', `/fhir/Patient?${query}`, { headers: { prefer: 'handling=strict' } });
    expect(strict.status).toBe(400);
    expect(strict.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(strict.body)).toContain('no-such-param');
    // Strict handling with known parameters only is fine.
    const known = await server.request('GET', `/fhir/Patient?identifier=${encodeURIComponent(`${system}|`)}`, { headers: { prefer: 'handling=strict' } });
    expect(known.status).toBe(200);
    expect(matches(known.body)).toHaveLength(1);
  });
});

describe('searchset contents', () => {
  it('does not return deleted resources', async () => {
    const system = newSystem();
    const [kept, deleted] = await createMany(system, 2);
    expect((await server.request('DELETE', `/fhir/Patient/${deleted.id}`)).status).toBe(204);
    const { body } = await search({ identifier: `${system}|` });
    expect(matchIds(body)).toEqual([kept.id]);
    expect(body.total).toBe(1);
    const byId = await search({ _id: deleted.id });
    expect(byId.body.total).toBe(0);
    expect(matches(byId.body)).toHaveLength(0);
  });

  it('gives each match a fullUrl and search.mode match', async () => {
    const system = newSystem();
    const created = await createMany(system, 2);
    const { body } = await search({ identifier: `${system}|` });
    expect(body.entry).toHaveLength(2);
    for (const entry of body.entry as Entry[]) {
      expect(entry.fullUrl).toBe(`${server.fhir}/Patient/${entry.resource.id}`);
      expect(entry.search).toEqual({ mode: 'match' });
      expect(entry.resource.resourceType).toBe('Patient');
    }
    expect(sorted(matchIds(body))).toEqual(sorted(created.map((c) => c.id)));
    expect(link(body, 'self')).toContain(`${server.fhir}/Patient?`);
  });
});
