// npm run bench:measures [-- --members N] [--load-batch N] [--load-concurrency N] [--keep]
//
// SNS-E evaluation time over a plan of `--members` (default 100,000) members, against a raw baseline.
// PostgreSQL when DATABASE_URL is set (a fresh schema, dropped at the end), else PGlite in a temporary DATA_DIR.
//
// 1. Loads the first `--validated` members through the server (hub-admin transaction Bundles: every
//    resource validated, versioned and indexed like any write), which proves the generated resources
//    valid; then the rest by bulk SQL through the store's own write path, `--load-batch` members per
//    database transaction: one multi-row insert of version 1 into resource_version and resource, the
//    search index rows from extractIndexRows + writeSearchIndex (as persistVersion writes them), and
//    the policy epochs bumped. (Through HTTP alone, PGlite loads ~250 resources/s: 30 minutes.) Per member: Patient, Coverage (the plan, the whole year; every 50th has a 60-day gap, so
//    fails enrollment), a food screening (every 3rd positive), a housing screening (every 5th positive),
//    and a completed intervention for two thirds of the food positives (on time or late).
// 2. Times GET /fhir/Measure/sns-e/$evaluate-measure?payer=…&reportType=population (MY2025), after one
//    untimed warm-up, and checks the counts against the numbers the generator implies.
// 3. Times the raw baseline in the same database: one SQL count over the same rows the evaluation
//    reads (the plan's Coverages, and its members' Patients, Observations and Procedures).
// 4. Then, if bench/export-bench.ts exists (the Bulk Data export's benchmark), runs its benchExport
//    against the same server and data with a hub-admin token.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, BundleEntry, MeasureReport, Resource } from 'fhir/r4';
import { extractIndexRows } from '../src/fhir/search/index-rows.ts';
import { SearchParameterRegistry } from '../src/fhir/search/search-parameter-registry.ts';
import type { Database } from '../src/store/database.ts';
import { bumpPolicyEpoch } from '../src/store/policy-epoch.ts';
import { writeSearchIndex } from '../src/store/search-index.ts';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { migrate } from '../src/store/migrations.ts';
import { integerOption, openBenchDatabase } from './bench-kit.ts';
import { clientToken } from '../test/helpers/client-token.ts';
import { deleteQueueKeys } from '../src/queue/queue-keys.ts';

const MEMBERS = integerOption('members', 100_000);
const LOAD_BATCH = integerOption('load-batch', 1_000);
const VALIDATED = Math.min(MEMBERS, integerOption('validated', 200));
const KEEP = process.argv.includes('--keep');
const TARGET_SECONDS = 30;
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const PLAN = 'bench-plan';
const log = (message: string) => console.log(message);

const dayOf = (i: number) => new Date(Date.UTC(2025, 0, 1) + (i % 300) * 86_400_000).toISOString().slice(0, 10);
const plusDays = (date: string, days: number) => new Date(Date.parse(date) + days * 86_400_000).toISOString().slice(0, 10);

function memberResources(i: number): Resource[] {
  const id = `m${i}`;
  const subject = { reference: `Patient/${id}` };
  const screened = dayOf(i);
  const gap = i % 50 === 0;
  const resources: Resource[] = [
    { resourceType: 'Patient', id, birthDate: `${1940 + (i % 80)}-06-15`, gender: i % 2 ? 'female' : 'male' } as Resource,
    {
      resourceType: 'Coverage', id: `c${i}`, status: 'active', beneficiary: subject, payor: [{ reference: `Organization/${PLAN}` }],
      period: gap ? { start: '2025-03-02', end: '2025-12-31' } : { start: '2025-01-01', end: '2025-12-31' },
    } as Resource,
    {
      resourceType: 'Observation', id: `f${i}`, status: 'final', subject, effectiveDateTime: screened,
      code: { coding: [{ system: LOINC, code: '88122-7' }] },
      valueCodeableConcept: { coding: [{ system: LOINC, code: i % 3 === 0 ? 'LA28397-0' : 'LA28398-8' }] },
    } as Resource,
    {
      resourceType: 'Observation', id: `h${i}`, status: 'final', subject, effectiveDateTime: screened,
      code: { coding: [{ system: LOINC, code: '71802-3' }] },
      valueCodeableConcept: { coding: [{ system: LOINC, code: i % 5 === 0 ? 'LA31994-9' : 'LA31993-1' }] },
    } as Resource,
  ];
  if (i % 3 === 0 && i % 9 !== 0) {
    // Food positives: i % 9 == 3 on time (+10 days), i % 9 == 6 late (+40 days).
    resources.push({
      resourceType: 'Procedure', id: `p${i}`, status: 'completed', subject, performedDateTime: plusDays(screened, i % 9 === 3 ? 10 : 40),
      code: { coding: [{ system: SNOMED, code: '710925007' }] },
    } as Resource);
  }
  return resources;
}

/** What the generator implies for food-screening and food-intervention. */
function expected(): { ip: number; foodDen: number; foodNum: number } {
  let ip = 0, foodDen = 0, foodNum = 0;
  for (let i = 0; i < MEMBERS; i++) {
    if (i % 50 === 0) continue;
    ip++;
    if (i % 3 === 0) foodDen++;
    if (i % 9 === 3 && plusDays(dayOf(i), 10) <= '2025-12-31') foodNum++;
  }
  return { ip, foodDen, foodNum };
}

/** Version 1 of new resources, written as persistVersion writes them, in one transaction. */
async function bulkStore(db: Database, registry: SearchParameterRegistry, resources: Resource[]): Promise<void> {
  const lastUpdated = new Date().toISOString();
  const stored = resources.map((resource) => ({ ...resource, meta: { versionId: '1', lastUpdated } }) as Resource);
  const byType = new Map<string, Resource[]>();
  for (const resource of stored) byType.set(resource.resourceType, [...(byType.get(resource.resourceType) ?? []), resource]);
  await db.transaction(async (tx) => {
    const rows = JSON.stringify(stored.map((resource) => ({ resource_type: resource.resourceType, id: resource.id, content: resource })));
    const source = `SELECT resource_type, id, 1, $2::timestamptz, false, content, 'Organization/hub' FROM jsonb_to_recordset($1::jsonb) AS x(resource_type text, id text, content jsonb)`;
    await tx.query(
      `WITH v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, deleted, content, author) ${source})
       INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, created_by) ${source}`,
      [rows, lastUpdated],
    );
    for (const [type, list] of byType) {
      await writeSearchIndex(tx, type, list.map((resource) => ({ resourceType: type, id: resource.id!, rows: extractIndexRows(registry, resource), replace: false })));
      await bumpPolicyEpoch(tx, type);
    }
  });
}

async function main(): Promise<void> {
  const bench = await openBenchDatabase('measures');
  await migrate(bench.db);
  // Tokens outlive the load (minutes at 100,000 members) and the export that follows it.
  // Queues on (the export runs as a queue job): Redis from REDIS_URL or 127.0.0.1:6379, under a private prefix.
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const queuePrefix = `bench${randomBytes(4).toString('hex')}`;
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: bench.dir, TOKEN_TTL_SECONDS: '3600', REDIS_URL: redisUrl, QUEUE_PREFIX: queuePrefix });
  const server = await startServer(config, { db: bench.db, logger: pino({ level: 'silent' }) });
  try {
    log(`SNS-E benchmark: ${MEMBERS.toLocaleString('en-US')} members on ${bench.db.kind}${bench.schema ? ` (schema ${bench.schema})` : ''}`);
    const token = await clientToken(server.url, bench.db, 'hub-admin');
    const post = async (bundle: Bundle) => {
      const response = await fetch(`${server.url}/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
        body: JSON.stringify(bundle),
      });
      if (!response.ok) throw new Error(`load failed: ${response.status} ${(await response.text()).slice(0, 300)}`);
      await response.arrayBuffer();
    };
    await post({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Organization', id: PLAN, name: 'Bench plan' } as Resource, request: { method: 'PUT', url: `Organization/${PLAN}` } }] });

    let resources = 0;
    const loadStart = performance.now();
    for (let from = 0; from < VALIDATED; from += 50) {
      const entries: BundleEntry[] = [];
      for (let i = from; i < Math.min(VALIDATED, from + 50); i++) {
        for (const resource of memberResources(i)) entries.push({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });
      }
      resources += entries.length;
      await post({ resourceType: 'Bundle', type: 'transaction', entry: entries });
    }
    const registry = new SearchParameterRegistry();
    for (let from = VALIDATED; from < MEMBERS; from += LOAD_BATCH) {
      const batch: Resource[] = [];
      for (let i = from; i < Math.min(MEMBERS, from + LOAD_BATCH); i++) batch.push(...memberResources(i));
      resources += batch.length;
      await bulkStore(bench.db, registry, batch);
      if ((from / LOAD_BATCH) % 10 === 0) process.stdout.write(`  loaded ${Math.min(MEMBERS, from + LOAD_BATCH).toLocaleString('en-US')} members\r`);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    log(`load: ${resources.toLocaleString('en-US')} resources in ${loadSeconds.toFixed(1)} s (${Math.round(resources / loadSeconds).toLocaleString('en-US')}/s; ${VALIDATED} members through the server, the rest by bulk SQL through the store's write path)`);
    await bench.db.query('ANALYZE');

    const url = `${server.url}/fhir/Measure/sns-e/$evaluate-measure?periodStart=2025-01-01&periodEnd=2025-12-31&payer=Organization/${PLAN}&reportType=population`;
    const evaluate = async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`evaluate failed: ${response.status} ${(await response.text()).slice(0, 300)}`);
      return (await response.json()) as MeasureReport;
    };
    await evaluate(); // warm-up (plans, caches)
    const t0 = performance.now();
    const report = await evaluate();
    const evaluateSeconds = (performance.now() - t0) / 1000;
    const counts = (code: string) => report.group!.find((g) => g.code!.coding![0].code === code)!.population!.map((p) => p.count);
    const want = expected();
    const [ip, , , ] = counts('food-screening');
    const [, foodDen, , foodNum] = counts('food-intervention');
    if (ip !== want.ip || foodDen !== want.foodDen || foodNum !== want.foodNum) {
      throw new Error(`unexpected counts: IP ${ip}/${want.ip}, food DEN ${foodDen}/${want.foodDen}, food NUM ${foodNum}/${want.foodNum}`);
    }

    const b0 = performance.now();
    const [raw] = await bench.db.query<{ n: string }>(
      `WITH members AS (
         SELECT DISTINCT b.target_id AS patient FROM search_reference o
           JOIN search_reference b ON b.resource_type = 'Coverage' AND b.id = o.id AND b.code = 'beneficiary'
          WHERE o.resource_type = 'Coverage' AND o.code = 'payor' AND o.target_type = 'Organization' AND o.target_id = $1)
       SELECT count(*)::text AS n FROM members m
         JOIN search_reference s ON s.resource_type IN ('Observation', 'Procedure') AND s.code = 'subject' AND s.target_type = 'Patient' AND s.target_id = m.patient
         JOIN resource r ON r.resource_type = s.resource_type AND r.id = s.id AND NOT r.deleted AND length(r.content::text) > 0`,
      [PLAN],
    );
    const baselineSeconds = (performance.now() - b0) / 1000;

    log('');
    log(`SNS-E $evaluate-measure (summary, ${MEMBERS.toLocaleString('en-US')} members, six rates + age strata): ${evaluateSeconds.toFixed(2)} s  (target < ${TARGET_SECONDS} s: ${evaluateSeconds < TARGET_SECONDS ? 'met' : 'NOT met'})`);
    log(`  counts checked: IP ${ip}, food-intervention DEN ${foodDen}, NUM ${foodNum}`);
    log(`raw baseline (one SQL count over the same Observation/Procedure rows, ${raw.n} rows): ${baselineSeconds.toFixed(2)} s`);
    log(`ratio evaluation / baseline: ${(evaluateSeconds / baselineSeconds).toFixed(1)}x`);

    const exportBench = path.join(import.meta.dirname, 'export-bench.ts');
    if (fs.existsSync(exportBench)) {
      log('');
      const { benchExport } = (await import(exportBench)) as { benchExport: (server: { url: string; token: string; db?: Database }) => Promise<void> };
      await benchExport({ url: server.url, token, db: bench.db }); // db: the raw SQL baseline
    } else {
      log('(bench/export-bench.ts not present: export throughput not measured)');
    }
  } finally {
    await server.close();
    await bench.db.close();
    await bench.drop(KEEP);
    await deleteQueueKeys(redisUrl, queuePrefix);
  }
}

await main();
