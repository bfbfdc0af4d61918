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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const patient = (family: string) => ({ resourceType: 'Patient', name: [{ family }] });

async function create(type: string, body: Record<string, unknown> = {}): Promise<{ id: string; lastUpdated: string }> {
  const res = await server.request('POST', `/fhir/${type}`, { body: { resourceType: type, ...body } });
  expect(res.status).toBe(201);
  return { id: res.body.id, lastUpdated: res.body.meta.lastUpdated };
}

async function update(type: string, id: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await server.request('PUT', `/fhir/${type}/${id}`, { body: { resourceType: type, id, ...body } });
  expect(res.status).toBeLessThan(300);
  return res.body.meta.lastUpdated;
}

async function get(path: string): Promise<HttpResult> {
  const res = await server.request('GET', path);
  expect(res.status, res.text).toBe(200);
  expect(res.body.resourceType).toBe('Bundle');
  expect(res.body.type).toBe('history');
  return res;
}

const link = (bundle: { link?: { relation: string; url: string }[] }, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;

/** Fetches a link URL the server handed out, by its path below the server. */
async function follow(url: string | undefined): Promise<HttpResult> {
  expect(url).toBeDefined();
  expect(url!.startsWith(`${server.fhir}/`)).toBe(true);
  return get(url!.slice(server.url.length));
}

/** `Type/id/_history/version` of each entry, for order assertions. */
const versions = (entries: Entry[] | undefined) =>
  (entries ?? []).map((entry) => `${entry.fullUrl.slice(server.fhir.length + 1)}/${entry.response.etag.replace(/^W\/"|"$/g, '')}`);

describe('instance history', () => {
  it('lists every version newest first, with deletions as DELETE entries without a resource', async () => {
    const { id } = await create('Patient', patient('One'));
    await update('Patient', id, patient('Two'));
    expect((await server.request('DELETE', `/fhir/Patient/${id}`)).status).toBe(204);
    await update('Patient', id, patient('Four'));

    const { body } = await get(`/fhir/Patient/${id}/_history`);
    expect(body.total).toBe(4);
    expect(versions(body.entry)).toEqual([4, 3, 2, 1].map((v) => `Patient/${id}/${v}`));
    const [v4, v3, v2, v1] = body.entry;

    expect(v4.resource.name[0].family).toBe('Four');
    expect(v4.resource.meta.versionId).toBe('4');
    expect(v4.request).toEqual({ method: 'PUT', url: `Patient/${id}` });
    expect(v4.response.status).toBe('201'); // re-created after the delete

    expect(v3.request.method).toBe('DELETE');
    expect(v3.request.url).toBe(`Patient/${id}`);
    expect(v3.resource).toBeUndefined();
    expect(v3.fullUrl).toBe(`${server.fhir}/Patient/${id}`);

    expect(v2.resource.name[0].family).toBe('Two');
    expect(v2.request).toEqual({ method: 'PUT', url: `Patient/${id}` });
    expect(v2.response.status).toBe('200');

    expect(v1.resource.name[0].family).toBe('One');
    expect(v1.request).toEqual({ method: 'POST', url: 'Patient' });
    expect(v1.response.status).toBe('201');
    for (const entry of body.entry) expect(Date.parse(entry.response.lastModified)).not.toBeNaN();
    // Newest first by time as well.
    const times = body.entry.map((entry: Entry) => Date.parse(entry.response.lastModified));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('is still available after a delete', async () => {
    const { id } = await create('Patient', patient('Gone'));
    await server.request('DELETE', `/fhir/Patient/${id}`);
    const { body } = await get(`/fhir/Patient/${id}/_history`);
    expect(versions(body.entry)).toEqual([`Patient/${id}/2`, `Patient/${id}/1`]);
    expect(body.entry[0].request.method).toBe('DELETE');
  });

  it('is 404 for an unknown resource and for an unknown type', async () => {
    const unknown = await server.request('GET', '/fhir/Patient/no-such-patient/_history');
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
    expect((await server.request('GET', '/fhir/NoSuchType/x/_history')).status).toBe(404);
    expect((await server.request('GET', '/fhir/NoSuchType/_history')).status).toBe(404);
  });

  it('pages with _count and next links to the oldest version', async () => {
    const { id } = await create('Patient', patient('v1'));
    for (const family of ['v2', 'v3', 'v4', 'v5']) await update('Patient', id, patient(family));
    let page = await get(`/fhir/Patient/${id}/_history?_count=2`);
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      expect(page.body.total).toBe(5);
      expect(page.body.entry.length).toBeLessThanOrEqual(2);
      seen.push(...versions(page.body.entry));
      if (!link(page.body, 'next')) break;
      page = await follow(link(page.body, 'next'));
    }
    expect(seen).toEqual([5, 4, 3, 2, 1].map((v) => `Patient/${id}/${v}`));
  });
});

describe('type history', () => {
  it('lists the versions of one type only, newest first', async () => {
    // Device is used by this test only, so the type's history is exactly what it wrote.
    const a = await create('Device', { manufacturer: 'A' });
    await create('Patient', patient('Other type'));
    const b = await create('Device', { manufacturer: 'B' });
    await update('Device', a.id, { manufacturer: 'A2' });

    const { body } = await get('/fhir/Device/_history');
    expect(body.total).toBe(3);
    expect(versions(body.entry)).toEqual([`Device/${a.id}/2`, `Device/${b.id}/1`, `Device/${a.id}/1`]);
    expect(body.entry.map((entry: Entry) => entry.resource.manufacturer)).toEqual(['A2', 'B', 'A']);
    expect(link(body, 'self')).toBe(`${server.fhir}/Device/_history`);
  });
});

describe('system history', () => {
  it('lists versions of every type, newest first', async () => {
    const start = new Date().toISOString();
    const p = await create('Patient', patient('System'));
    const o = await create('Organization', { name: 'Hub' });
    await update('Patient', p.id, patient('System 2'));

    const { body } = await get(`/fhir/_history?_since=${encodeURIComponent(start)}`);
    const mine = versions(body.entry).filter((v) => v.includes(p.id) || v.includes(o.id));
    expect(mine).toEqual([`Patient/${p.id}/2`, `Organization/${o.id}/1`, `Patient/${p.id}/1`]);
    expect(body.total).toBeGreaterThanOrEqual(3);
  });

  it('includes writes of any type and is newest first across them', async () => {
    const before = await get('/fhir/_history?_count=1');
    const totalBefore = before.body.total as number;
    const m = await create('Medication', { status: 'active' });
    const after = await get('/fhir/_history?_count=1');
    expect(after.body.total).toBe(totalBefore + 1);
    expect(versions(after.body.entry)).toEqual([`Medication/${m.id}/1`]);
  });
});

describe('_since', () => {
  it('keeps only versions written at or after the instant', async () => {
    const { id } = await create('Patient', patient('s1'));
    await sleep(15);
    const second = await update('Patient', id, patient('s2'));
    await sleep(15);
    await update('Patient', id, patient('s3'));

    const since = await get(`/fhir/Patient/${id}/_history?_since=${encodeURIComponent(second)}`);
    expect(since.body.total).toBe(2);
    expect(versions(since.body.entry)).toEqual([`Patient/${id}/3`, `Patient/${id}/2`]);

    const all = await get(`/fhir/Patient/${id}/_history?_since=2000-01-01T00:00:00Z`);
    expect(all.body.total).toBe(3);

    const future = await get(`/fhir/Patient/${id}/_history?_since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.body.total).toBe(0);
    expect(future.body.entry ?? []).toEqual([]);
  });

  it('filters type history and accepts a time zone offset', async () => {
    // Substance is used by this test only.
    await create('Substance', { code: { text: 'old' } });
    await sleep(15);
    const cut = new Date();
    await sleep(5);
    const recent = await create('Substance', { code: { text: 'new' } });
    // The same instant written in UTC+02:00.
    const shifted = new Date(cut.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    for (const value of [cut.toISOString(), shifted]) {
      const { body } = await get(`/fhir/Substance/_history?_since=${encodeURIComponent(value)}`);
      expect(body.total, value).toBe(1);
      expect(versions(body.entry)).toEqual([`Substance/${recent.id}/1`]);
    }
    expect((await get('/fhir/Substance/_history')).body.total).toBe(2);
  });

  it('is 400 for an invalid _since', async () => {
    expect((await server.request('GET', '/fhir/_history?_since=yesterday')).status).toBe(400);
  });
});

describe('paging', () => {
  it('follows next and previous links that stay put while new versions are written (keyset paging)', async () => {
    // Location is used by this test only.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create('Location', { name: `L${i}` })).id);
    const expected = [...ids].reverse().map((id) => `Location/${id}/1`);

    const first = await get('/fhir/Location/_history?_count=2');
    expect(first.body.total).toBe(5);
    expect(versions(first.body.entry)).toEqual(expected.slice(0, 2));
    expect(link(first.body, 'previous')).toBeUndefined();
    const nextUrl = link(first.body, 'next');
    expect(nextUrl).toContain('_count=2');

    // Two new resources arrive between page fetches: offset paging would shift them in.
    const late: string[] = [];
    for (let i = 0; i < 2; i++) late.push((await create('Location', { name: `late${i}` })).id);

    const second = await follow(nextUrl);
    expect(second.body.total).toBe(7);
    expect(versions(second.body.entry)).toEqual(expected.slice(2, 4));

    const third = await follow(link(second.body, 'next'));
    expect(versions(third.body.entry)).toEqual(expected.slice(4));
    expect(link(third.body, 'next')).toBeUndefined();

    // Back again: previous of the last page is the second page, unchanged.
    const back = await follow(link(third.body, 'previous'));
    expect(versions(back.body.entry)).toEqual(expected.slice(2, 4));
    const backToFirst = await follow(link(back.body, 'previous'));
    expect(versions(backToFirst.body.entry)).toEqual(expected.slice(0, 2));
    // And the versions written meanwhile are one page further back, newest first.
    const newest = await follow(link(backToFirst.body, 'previous'));
    expect(versions(newest.body.entry)).toEqual([...late].reverse().map((id) => `Location/${id}/1`));
    expect(link(newest.body, 'previous')).toBeUndefined();
    expect(link(newest.body, 'next')).toBeDefined();
  });

  it('keeps _since in the paging links', async () => {
    // Practitioner is used by this test only.
    for (let i = 0; i < 3; i++) await create('Practitioner', { name: [{ family: `P${i}` }] });
    const since = '2000-01-01T00:00:00Z';
    let page = await get(`/fhir/Practitioner/_history?_count=1&_since=${encodeURIComponent(since)}`);
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(...versions(page.body.entry));
      const next = link(page.body, 'next');
      if (!next) break;
      expect(new URL(next).searchParams.get('_since')).toBe(since);
      page = await follow(next);
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('rejects a non-numeric or negative _count with 400', async () => {
    expect((await server.request('GET', '/fhir/_history?_count=-1')).status).toBe(400);
    expect((await server.request('GET', '/fhir/_history?_count=abc')).status).toBe(400);
  });
});
