// npm run bench:export [-- --members N] [--load-batch N] [--load-concurrency N]
//
// Bulk Data export throughput: a system-level $export by hub-admin of everything the server holds,
// timed from the kick-off to the complete manifest, as resources written to NDJSON per second
// (target ≥ 20,000/s). Baseline in the same run: the same rows read with a plain keyset-paged
// `SELECT content::text` and written to one file (when the database is at hand), else the same
// types paged through FHIR search (_count=1000) and written to a file.
//
// `benchExport(server)` is what bench/measures.ts calls on its 100,000-member data set. Run on its
// own, this file loads `--members` (default 10,000) members itself through the server's write path
// (hub-admin transaction Bundles: per member a Patient, a Coverage, two Observations and a Procedure),
// on PostgreSQL when DATABASE_URL is set (a fresh schema, dropped at the end), else PGlite in a
// temporary DATA_DIR; Redis from REDIS_URL, else 127.0.0.1:6379, under a private prefix deleted at the end.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from 'fhir/r4';
import type { Database } from '../src/store/database.ts';

const log = (message: string) => console.log(message);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TARGET_PER_SECOND = 20_000;

interface Manifest {
  output: { type: string; url: string; count: number }[];
}

async function waitForManifest(statusUrl: string, token: string): Promise<Manifest> {
  for (;;) {
    const response = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    if (response.status === 200) return (await response.json()) as Manifest;
    if (response.status !== 202) throw new Error(`export status ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
    await sleep(50);
  }
}

/** Raw baseline: every live row's content as text, keyset-paged, written to one file. */
async function sqlBaseline(db: Database, file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  let after: [string, string] = ['', ''];
  let rows = 0;
  for (;;) {
    const page = await db.query<{ resource_type: string; id: string; c: string }>(
      `SELECT resource_type, id, content::text AS c FROM resource WHERE NOT deleted AND (resource_type, id) > ($1, $2) ORDER BY resource_type, id LIMIT 5000`,
      after,
    );
    if (page.length === 0) break;
    if (!out.write(`${page.map((row) => row.c).join('\n')}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    rows += page.length;
    after = [page[page.length - 1].resource_type, page[page.length - 1].id];
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return rows;
}

/** Baseline without the database at hand: the same types paged through FHIR search and written to a file. */
async function searchBaseline(server: { url: string; token: string }, types: string[], file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  let rows = 0;
  for (const type of types) {
    let next: string | undefined = `${server.url}/fhir/${type}?_count=1000`;
    while (next) {
      const response = await fetch(next, { headers: { authorization: `Bearer ${server.token}` } });
      const bundle = (await response.json()) as { entry?: { resource: Resource }[]; link?: { relation: string; url: string }[] };
      const lines = (bundle.entry ?? []).map((entry) => JSON.stringify(entry.resource));
      if (lines.length) out.write(`${lines.join('\n')}\n`);
      rows += lines.length;
      next = bundle.link?.find((link) => link.relation === 'next')?.url;
    }
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return rows;
}

/**
 * Runs a system-level export on whatever the server holds, waits for it and prints resources/s
 * written to NDJSON and the ratio to the raw baseline (`db`, when given, makes it plain SQL).
 */
export async function benchExport(server: { url: string; token: string; db?: Database }): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  const kickOff = await fetch(`${server.url}/fhir/$export`, { headers: { authorization: `Bearer ${server.token}`, prefer: 'respond-async', accept: 'application/fhir+json' } });
  if (kickOff.status !== 202) throw new Error(`export kick-off answered ${kickOff.status}: ${await kickOff.text()}`);
  await kickOff.arrayBuffer();
  const statusUrl = kickOff.headers.get('content-location')!;
  const manifest = await waitForManifest(statusUrl, server.token);
  const exportSeconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const resources = manifest.output.reduce((sum, file) => sum + file.count, 0);
  const perSecond = resources / exportSeconds;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-baseline-'));
  try {
    const b0 = performance.now();
    const types = [...new Set(manifest.output.map((file) => file.type))];
    const rows = server.db ? await sqlBaseline(server.db, path.join(dir, 'raw.ndjson')) : await searchBaseline(server, types, path.join(dir, 'search.ndjson'));
    const baselineSeconds = (performance.now() - b0) / 1000;
    const baselinePerSecond = rows / baselineSeconds;
    log(`Bulk export (system level, hub-admin): ${resources.toLocaleString('en-US')} resources in ${manifest.output.length} files, ${exportSeconds.toFixed(2)} s from kick-off to manifest`);
    log(`  throughput: ${Math.round(perSecond).toLocaleString('en-US')} resources/s written to NDJSON  (target ≥ ${TARGET_PER_SECOND.toLocaleString('en-US')}/s: ${perSecond >= TARGET_PER_SECOND ? 'met' : 'NOT met'})`);
    log(`  process RSS during the export: ${Math.round(rssBefore / 2 ** 20)} MiB before, ${Math.round(peakRss / 2 ** 20)} MiB peak`);
    log(`raw baseline (${server.db ? 'keyset-paged SELECT content::text' : 'FHIR search, _count=1000'} of ${rows.toLocaleString('en-US')} rows written to a file): ${baselineSeconds.toFixed(2)} s, ${Math.round(baselinePerSecond).toLocaleString('en-US')} rows/s`);
    log(`ratio export / baseline throughput: ${(perSecond / baselinePerSecond).toFixed(2)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${server.token}` } }).then((response) => response.arrayBuffer());
  }
}

function memberResources(i: number): Resource[] {
  const id = `m${i}`;
  const subject = { reference: `Patient/${id}` };
  const observation = (n: number, code: string) => ({
    resourceType: 'Observation', id: `${id}-o${n}`, status: 'final', subject, effectiveDateTime: '2025-03-01T10:00:00Z',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] }, valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: 'LA33-6' }] },
  });
  return [
    { resourceType: 'Patient', id, gender: i % 2 ? 'female' : 'male', birthDate: `19${50 + (i % 50)}-01-01`, name: [{ family: `Member${i}` }] },
    { resourceType: 'Coverage', id: `${id}-cov`, status: 'active', beneficiary: subject, payor: [{ reference: `Organization/bench-plan-${i % 3}` }], period: { start: '2025-01-01' } },
    observation(1, '88122-7'),
    observation(2, '71802-3'),
    { resourceType: 'Procedure', id: `${id}-p`, status: 'completed', subject, performedDateTime: '2025-03-10', code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] } },
  ] as unknown as Resource[];
}

async function standalone(): Promise<void> {
  const { Redis } = await import('ioredis');
  const { pino } = await import('pino');
  const { loadConfig } = await import('../src/config.ts');
  const { startServer } = await import('../src/server.ts');
  const { migrate } = await import('../src/store/migrations.ts');
  const { integerOption, openBenchDatabase, runConcurrently } = await import('./bench-kit.ts');
  const { clientToken } = await import('../test/helpers/client-token.ts');
  const members = integerOption('members', 10_000);
  const batch = integerOption('load-batch', 250);
  const concurrency = integerOption('load-concurrency', 3);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const bench = await openBenchDatabase('export');
  await migrate(bench.db);
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: bench.dir, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, TOKEN_TTL_SECONDS: '3600' });
  const server = await startServer(config, { db: bench.db, logger: pino({ level: 'silent' }), queues: {} });
  try {
    const token = await clientToken(server.url, bench.db, 'hub-admin');
    const orgs = [0, 1, 2].map((n) => ({ resource: { resourceType: 'Organization', id: `bench-plan-${n}`, name: `Plan ${n}` }, request: { method: 'PUT', url: `Organization/bench-plan-${n}` } }));
    const t0 = performance.now();
    const batches = Math.ceil(members / batch);
    await runConcurrently(batches, concurrency, async (b) => {
      const entry = [...(b === 0 ? orgs : [])];
      for (let i = b * batch; i < Math.min(members, (b + 1) * batch); i++) {
        for (const resource of memberResources(i)) entry.push({ resource: resource as never, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });
      }
      const response = await fetch(`${server.url}/fhir`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
      });
      if (response.status !== 200) throw new Error(`load failed: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    });
    log(`loaded ${members.toLocaleString('en-US')} members (${(members * 5).toLocaleString('en-US')} resources) in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${bench.db.kind}`);
    // Let the payer Groups settle, so the export does not race their writes.
    await server.queues?.nudge();
    await sleep(2000);
    await benchExport({ url: server.url, token, db: bench.db });
  } finally {
    await server.close();
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    await bench.db.close();
    await bench.drop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await standalone();
