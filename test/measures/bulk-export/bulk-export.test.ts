// SMART Bulk Data export over HTTP with real queues: kick-off, polling, manifest, downloads, every
// parameter, cancel, other clients, and each file checked against the exporting client's policy.
// Also the payer Groups a plan exports from.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportRunObserver } from '../../../src/measures/bulk-export/export-runner.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { coverage, download, fetchWith, ids, kickOff, loadFixture, manifestOf, sleep, tempDataDir, waitFor } from './export-fixture.ts';

let server: TestServer;
let dataDir: string;
let analyticsA: string;

beforeAll(async () => {
  dataDir = tempDataDir();
  server = await startTestServer({ DATA_DIR: dataDir, BULK_EXPORT_PAGE_SIZE: '3' }, { queues: { dispatchIntervalMs: 50 } });
  await loadFixture(server);
  analyticsA = await server.tokenFor('plan-analytics', 'Organization/plan-a', ['PERFMSR']);
  // The payer Groups follow the Coverage writes (an outbox job per payer).
  await waitFor('the payer Groups', async () => (await server.request('GET', '/fhir/Group?_id=payer-plan-a,payer-plan-b')).body.entry?.length === 2);
}, 60_000);

afterEach(() => {
  exportRunObserver.afterPage = undefined;
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const exportDirs = () => (fs.existsSync(path.join(dataDir, 'bulk-export')) ? fs.readdirSync(path.join(dataDir, 'bulk-export')) : []);
const jobIdOf = (statusUrl: string) => statusUrl.split('/').pop()!;

describe('kick-off', () => {
  it('refuses a request without Prefer: respond-async (400, naming the header)', async () => {
    const res = await server.request('GET', '/fhir/$export', { headers: { accept: 'application/fhir+json' } });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Prefer']);
  });

  it.each([
    ['_outputFormat=text/csv', '_outputFormat'],
    ['_type=NotAType', '_type'],
    ['_since=yesterday', '_since'],
    ['_typeFilter=Observation%3F_sort%3Ddate', '_typeFilter'],
    ['_typeFilter=Observation%3Fnot-a-param%3D1', 'not-a-param'],
  ])('refuses %s with a 400 naming %s', async (query, expression) => {
    const res = await server.request('GET', `/fhir/$export?${query}`, { headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.issue[0].expression)).toContain(expression);
  });

  it('refuses a patient-level export of a type outside the patient compartment', async () => {
    const res = await server.request('GET', '/fhir/Patient/$export?_type=Organization', { headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(400);
  });
});

describe('the asynchronous flow', () => {
  it('202 with X-Progress while running, then the manifest; files only for the same client; downloads audited', async () => {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    let pausedOnce = false;
    exportRunObserver.afterPage = async () => {
      if (pausedOnce) return;
      pausedOnce = true;
      await paused;
    };
    const statusUrl = await kickOff(server, '$export?_type=Patient,Observation,Coverage&_outputFormat=application/fhir%2Bndjson');
    expect(statusUrl).toMatch(/\/bulk-data\/export\/[0-9a-f-]{36}$/);
    await waitFor('the first page', () => pausedOnce);
    const running = await fetchWith(statusUrl, server.token);
    expect(running.status).toBe(202);
    expect(running.headers.get('x-progress')).toMatch(/resources written/);
    release();

    const manifest = await manifestOf(statusUrl, server.token);
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toBe(`${server.url}/fhir/$export?_type=Patient%2CObservation%2CCoverage&_outputFormat=application%2Ffhir%2Bndjson`);
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThan(0);
    expect(manifest.error).toEqual([]);
    expect(manifest.output.map((file) => [file.type, file.count]).sort()).toEqual([['Coverage', 4], ['Observation', 8], ['Patient', 4]]);
    const files = await download(manifest, server.token);
    expect(ids(files.get('Patient'))).toEqual(['a1', 'a2', 'a3', 'b1']);
    // hub-admin gets whole resources
    expect(files.get('Patient')![0].name).toBeDefined();

    // Another client (even another hub-admin) does not see the job or its files; no token is 401.
    const other = await server.tokenFor('hub-admin');
    expect((await fetchWith(statusUrl, other)).status).toBe(404);
    expect((await fetchWith(manifest.output[0].url, other)).status).toBe(404);
    expect((await fetchWith(manifest.output[0].url, null)).status).toBe(401);

    // Kick-off and every download are AuditEvents.
    const downloads = await server.request('GET', '/fhir/AuditEvent?subtype=bulk-data-download&_count=50');
    expect(downloads.body.entry.length).toBeGreaterThanOrEqual(manifest.output.length);
    const kickOffs = await server.request('GET', `/fhir/AuditEvent?subtype=${encodeURIComponent('$export')}&_count=50`);
    expect(kickOffs.body.entry.length).toBeGreaterThanOrEqual(1);
  });

  it('cancel: DELETE answers 202, removes the files, the status URL is then unknown and the run stops', async () => {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    let reached = false;
    exportRunObserver.afterPage = async () => {
      reached = true;
      await paused;
    };
    const statusUrl = await kickOff(server, '$export?_type=Observation');
    await waitFor('the first page', () => reached);
    const jobId = jobIdOf(statusUrl);
    expect(exportDirs()).toContain(jobId);
    const cancelled = await fetchWith(statusUrl, server.token, 'DELETE');
    expect(cancelled.status).toBe(202);
    expect(exportDirs()).not.toContain(jobId);
    expect((await fetchWith(statusUrl, server.token)).status).toBe(404);
    exportRunObserver.afterPage = undefined;
    release();
    await sleep(300);
    expect(exportDirs()).not.toContain(jobId);
    expect((await fetchWith(statusUrl, server.token)).status).toBe(404);
  });
});

describe('parameters', () => {
  it('_typeFilter runs a search per type (alternatives OR-ed); _outputFormat=ndjson is accepted', async () => {
    const filter = encodeURIComponent('Observation?code=88122-7&subject=Patient/a1');
    const filter2 = encodeURIComponent('Observation?subject=Patient/b1');
    const manifest = await manifestOf(await kickOff(server, `$export?_type=Observation&_typeFilter=${filter}&_typeFilter=${filter2}&_outputFormat=ndjson`), server.token);
    const files = await download(manifest, server.token);
    expect(ids(files.get('Observation'))).toEqual(['obs-a1-1', 'obs-b1-1', 'obs-b1-2']);
  });

  it('_since: only what changed after it', async () => {
    await sleep(20);
    const since = new Date().toISOString();
    await sleep(20);
    const current = (await server.request('GET', '/fhir/Observation/obs-a2-2')).body;
    expect((await server.request('PUT', '/fhir/Observation/obs-a2-2', { body: { ...current, status: 'amended' } })).status).toBe(200);
    const manifest = await manifestOf(await kickOff(server, `$export?_type=Observation,Patient&_since=${encodeURIComponent(since)}`), server.token);
    const files = await download(manifest, server.token);
    expect([...files.keys()]).toEqual(['Observation']);
    expect(ids(files.get('Observation'))).toEqual(['obs-a2-2']);
  });

  it('Patient/$export: the patient compartment only', async () => {
    const manifest = await manifestOf(await kickOff(server, 'Patient/$export'), server.token);
    const types = new Set(manifest.output.map((file) => file.type));
    expect(types.has('Patient') && types.has('Observation') && types.has('Coverage') && types.has('Consent')).toBe(true);
    expect(types.has('Organization')).toBe(false);
  });

  it('an empty result is an empty output list', async () => {
    const manifest = await manifestOf(await kickOff(server, '$export?_type=Observation&_typeFilter=' + encodeURIComponent('Observation?code=00000-0')), server.token);
    expect(manifest.output).toEqual([]);
  });
});

describe('a plan-analytics client', () => {
  /** Every exported resource is about one of `allowed`, and carries none of the elements its profile drops. */
  function checkPolicy(files: Map<string, Record<string, unknown>[]>, allowed: string[]) {
    for (const [type, resources] of files) {
      for (const resource of resources) {
        const text = JSON.stringify(resource);
        for (const ref of text.match(/Patient\/[A-Za-z0-9-]+/g) ?? []) expect(allowed).toContain(ref.slice('Patient/'.length));
        if (type === 'Patient') {
          expect(allowed).toContain(resource.id);
          expect(Object.keys(resource).sort()).toEqual(['birthDate', 'gender', 'id', 'meta', 'resourceType']);
        }
        expect(resource).not.toHaveProperty('note');
        expect(resource).not.toHaveProperty('telecom');
        // (the payer Group's own name and identifier are the plan's, and in its profile)
        if (type !== 'Group') expect(resource).not.toHaveProperty('name');
        if (type !== 'Group') expect(resource).not.toHaveProperty('identifier');
      }
    }
  }

  it('finds its own payer Group by managing-entity, never another plan\'s', async () => {
    const own = await server.request('GET', '/fhir/Group?managing-entity=Organization/plan-a', { token: analyticsA });
    expect(own.status).toBe(200);
    expect(own.body.entry).toHaveLength(1);
    const group = own.body.entry[0].resource;
    expect(group).toMatchObject({ id: 'payer-plan-a', type: 'person', actual: true, managingEntity: { reference: 'Organization/plan-a' }, quantity: 3 });
    expect(group.member.map((member: { entity: { reference: string } }) => member.entity.reference)).toEqual(['Patient/a1', 'Patient/a2', 'Patient/a3']);
    const other = await server.request('GET', '/fhir/Group?managing-entity=Organization/plan-b', { token: analyticsA });
    expect(other.body.entry ?? []).toHaveLength(0);
    expect((await server.request('GET', '/fhir/Group/payer-plan-b', { token: analyticsA })).status).toBe(404);
  });

  it('Group/[id]/$export: its own members only, no opted-out member, only the profile\'s elements', async () => {
    const statusUrl = await kickOff(server, 'Group/payer-plan-a/$export', analyticsA);
    const manifest = await manifestOf(statusUrl, analyticsA);
    // The hub-admin who did not kick it off cannot fetch it either.
    expect((await fetchWith(statusUrl, server.token)).status).toBe(404);
    const files = await download(manifest, analyticsA);
    expect(ids(files.get('Patient'))).toEqual(['a1', 'a2']);
    expect(ids(files.get('Coverage'))).toEqual(['cov-a1', 'cov-a2']);
    expect(ids(files.get('Observation'))).toEqual(['obs-a1-1', 'obs-a1-2', 'obs-a2-1', 'obs-a2-2']);
    expect(files.has('Consent')).toBe(false); // not in its profile
    checkPolicy(files, ['a1', 'a2', 'a3']);
    for (const observation of files.get('Observation')!) expect(observation.meta).toMatchObject({ security: [expect.objectContaining({ code: 'SUBSETTED' })] });
  });

  it('a system-level export holds the same: other plans\' members and the opted-out member are absent', async () => {
    const manifest = await manifestOf(await kickOff(server, '$export', analyticsA), analyticsA);
    const files = await download(manifest, analyticsA);
    expect(ids(files.get('Patient'))).toEqual(['a1', 'a2']);
    expect(files.has('Organization')).toBe(false);
    expect(files.has('AuditEvent')).toBe(false);
    checkPolicy(files, ['a1', 'a2', 'a3']);
  });

  it('may not export another plan\'s Group (404) nor a type its profile does not allow (403)', async () => {
    const group = await server.request('GET', '/fhir/Group/payer-plan-b/$export', { token: analyticsA, headers: { prefer: 'respond-async' } });
    expect(group.status).toBe(404);
    const consent = await server.request('GET', '/fhir/$export?_type=Consent', { token: analyticsA, headers: { prefer: 'respond-async' } });
    expect(consent.status).toBe(403);
    const typeFilter = await server.request('GET', `/fhir/$export?_typeFilter=${encodeURIComponent('Patient?name=Family')}`, { token: analyticsA, headers: { prefer: 'respond-async' } });
    expect(typeFilter.status).toBe(400);
  });
});

describe('payer Groups', () => {
  it('follow Coverage writes: a new active Coverage adds the member, a cancelled one removes it', async () => {
    const members = async () => (await server.request('GET', '/fhir/Group/payer-plan-a')).body.quantity as number;
    await server.request('PUT', '/fhir/Patient/a4', { body: { resourceType: 'Patient', id: 'a4', gender: 'male' } });
    await server.request('PUT', '/fhir/Coverage/cov-a4', { body: coverage('cov-a4', 'a4', 'plan-a') });
    await waitFor('a4 in the Group', async () => (await members()) === 4);
    await server.request('PUT', '/fhir/Coverage/cov-a4', { body: coverage('cov-a4', 'a4', 'plan-a', 'cancelled') });
    await waitFor('a4 out of the Group', async () => (await members()) === 3);
    const group = (await server.request('GET', '/fhir/Group/payer-plan-a')).body;
    expect(group.member.map((member: { entity: { reference: string } }) => member.entity.reference)).not.toContain('Patient/a4');
  });
});
