// npm run bench:crud [-- N]  — creates and reads N Observations over HTTP (keep-alive, 16 in
// flight) and compares with plain SQL INSERT/SELECT of the same JSON into a same-shaped table in
// the same database, in the same run. PostgreSQL when DATABASE_URL is set, else PGlite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { migrate } from '../src/store/migrations.ts';
import { openDatabase } from '../src/store/open-database.ts';
import { clientToken } from '../test/helpers/client-token.ts';

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const observation = (i: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'social-history' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '88122-7', display: 'Within the past 12 months we worried whether our food would run out' }] },
  subject: { reference: `Patient/p${i % 500}` },
  effectiveDateTime: '2026-01-15T10:00:00Z',
  valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: 'LA28397-0', display: 'Often true' }] },
});

interface Run {
  perSecond: number;
  p50: number;
  p95: number;
}

/** Runs `task(i)` for i in [0, n) with `concurrency` in flight; returns throughput and latency percentiles. */
async function measure(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<Run> {
  const latencies = new Float64Array(n);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return { perSecond: n / seconds, p50: sorted[Math.floor(n * 0.5)], p95: sorted[Math.floor(n * 0.95)] };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-crud-'));
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
const db = await openDatabase(config);
await migrate(db);
const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: false });
try {
  const token = await clientToken(server.url, db, 'hub-admin');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };

  // Warm up the validator and connections so the first requests do not skew the figures.
  for (let i = 0; i < 50; i++) {
    await fetch(`${server.url}/fhir/Observation`, { method: 'POST', headers, body: JSON.stringify(observation(i)) }).then((r) => r.arrayBuffer());
  }

  const ids: string[] = new Array(N);
  const creates = await measure(N, CONCURRENCY, async (i) => {
    const response = await fetch(`${server.url}/fhir/Observation`, { method: 'POST', headers: { ...headers, prefer: 'return=minimal' }, body: JSON.stringify(observation(i)) });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`create failed: ${response.status}`);
    ids[i] = response.headers.get('location')!.split('/').at(-3)!;
  });
  const reads = await measure(N, CONCURRENCY, async (i) => {
    const response = await fetch(`${server.url}/fhir/Observation/${ids[i]}`, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`read failed: ${response.status}`);
  });

  // Raw baseline: the same JSON, plain INSERT and SELECT by primary key, same concurrency.
  await db.exec('DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (id text PRIMARY KEY, content jsonb NOT NULL)');
  const rawInserts = await measure(N, CONCURRENCY, async (i) => {
    await db.query('INSERT INTO bench_raw (id, content) VALUES ($1, $2::jsonb)', [`r${i}`, JSON.stringify(observation(i))]);
  });
  const rawSelects = await measure(N, CONCURRENCY, async (i) => {
    const rows = await db.query('SELECT content FROM bench_raw WHERE id = $1', [`r${i}`]);
    if (rows.length !== 1) throw new Error('raw select failed');
  });
  await db.exec('DROP TABLE bench_raw');

  const fmt = (run: Run) => `${run.perSecond.toFixed(0).padStart(7)} /s   p50 ${run.p50.toFixed(2)} ms   p95 ${run.p95.toFixed(2)} ms`;
  console.log(`bench:crud  N=${N}  concurrency=${CONCURRENCY}  database=${db.kind}`);
  console.log(`  FHIR create (HTTP)   ${fmt(creates)}`);
  console.log(`  FHIR read   (HTTP)   ${fmt(reads)}`);
  console.log(`  raw INSERT  (${db.kind})  ${fmt(rawInserts)}`);
  console.log(`  raw SELECT  (${db.kind})  ${fmt(rawSelects)}`);
  console.log(`  ratio create / raw insert: ${(creates.perSecond / rawInserts.perSecond).toFixed(2)}`);
  console.log(`  ratio read   / raw select: ${(reads.perSecond / rawSelects.perSecond).toFixed(2)}`);
} finally {
  await server.close();
  await db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
