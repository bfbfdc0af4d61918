// npm run bench:policy [-- --patients N] [--requests N] [--warmup N] [--block N] [--concurrency N]
//                        [--sequential N] [--load-batch N] [--keep]
//
// What the consent / minimum-necessary policy costs per request: the same requests timed for an
// unrestricted caller (hub-admin) and for a CBO (role cbo, purpose COC, Organization/cbo-a), whose
// every request goes through search narrowing (related patients + their Consents from SQL),
// per-resource decisions and element redaction. Both callers also write an AuditEvent per request.
// PostgreSQL when DATABASE_URL is set (in a fresh schema, dropped at the end), else PGlite in a
// temporary DATA_DIR.
//
// 1. Loads through the server with hub-admin transaction bundles: Organization/cbo-a and cbo-b,
//    and per patient a ServiceRequest, an in-progress referral Task (owner alternating cbo-a /
//    cbo-b, focus the ServiceRequest), 5 SDOH Observations and an active IDSCL Consent whose
//    permit provision names the Task owner.
// 2. Checks the policy is in force (cbo-a gets 404 / an empty search for a cbo-b patient) and
//    that the CBO sees its own patients' data.
// 3. Times five request kinds for both callers: blocks of one kind, `--concurrency` in flight,
//    hub-admin and CBO blocks alternating (who goes first alternates too) over identical request
//    lists, after a warm-up. Every response must be 200, and for the CBO non-empty.
// 4. Times a raw baseline in the same database: SELECT content FROM resource by primary key.
import os from 'node:os';
import type { Bundle, BundleEntry, Consent, Observation, Organization, Patient, Resource, ServiceRequest, Task } from 'fhir/r4';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { migrate } from '../src/store/migrations.ts';
import { integerOption, openBenchDatabase, percentile, runConcurrently as run } from './bench-kit.ts';
import { clientToken } from '../test/helpers/client-token.ts';

// ---------------------------------------------------------------------------------------------
// Options.


const PATIENTS = Math.max(4, integerOption('patients', 2_000));
/** Timed requests per caller, spread evenly over the request kinds. */
const REQUESTS = integerOption('requests', 5_000);
/** Untimed requests per caller before the timing starts. */
const WARMUP = integerOption('warmup', 500);
/** Requests per block (one caller, one kind). */
const BLOCK = integerOption('block', 100);
const CONCURRENCY = integerOption('concurrency', 8);
/** Requests per kind and caller timed one at a time (the unloaded latency, column p50@1). */
const SEQUENTIAL = integerOption('sequential', 40);
/** Patients per transaction bundle while loading (9 resources each). */
const LOAD_BATCH = integerOption('load-batch', 50);
/** Keep the PostgreSQL schema at the end (to EXPLAIN queries against the data set); drop it yourself. */
const KEEP = process.argv.includes('--keep');
const TARGET_RATIO = 1.3;
const DATABASE_URL = process.env.DATABASE_URL || undefined;

const CBO_A = 'Organization/cbo-a';
const CBO_B = 'Organization/cbo-b';
const LOINC = 'http://loinc.org';
const log = (message: string) => console.log(message);

// ---------------------------------------------------------------------------------------------
// Data set: patient i is cbo-a's when i is even, cbo-b's when odd.

const patientId = (i: number) => `pat-${i}`;
const ownerOf = (i: number) => (i % 2 === 0 ? CBO_A : CBO_B);
const OBSERVATIONS_PER_PATIENT = 5;

const SCREENINGS: { code: string; display: string; answer: { code: string; display: string } }[] = [
  { code: '88122-7', display: 'Within the past 12 months we worried whether our food would run out before we got money to buy more', answer: { code: 'LA28397-0', display: 'Often true' } },
  { code: '88123-5', display: "Within the past 12 months the food we bought just didn't last and we didn't have money to get more", answer: { code: 'LA6729-3', display: 'Sometimes true' } },
  { code: '71802-3', display: 'Housing status', answer: { code: 'LA31993-1', display: 'I have housing' } },
  { code: '93030-5', display: 'Has lack of transportation kept you from medical appointments, meetings, work, or from getting things needed for daily living', answer: { code: 'LA33-6', display: 'Yes' } },
  { code: '96779-4', display: 'Has the electric, gas, oil, or water company threatened to shut off services in your home in past 12 months', answer: { code: 'LA32-8', display: 'No' } },
];

const day = (i: number) => new Date(Date.UTC(2025, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);

function organization(id: string, name: string): Organization {
  return {
    resourceType: 'Organization', id, active: true, name,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'cg', display: 'Community Group' }] }],
  };
}

function patientResources(i: number): Resource[] {
  const pid = patientId(i);
  const subject = { reference: `Patient/${pid}` };
  const owner = ownerOf(i);
  const patient: Patient = {
    resourceType: 'Patient', id: pid, active: true,
    name: [{ use: 'official', family: `Family${i}`, given: [`Given${i}`] }],
    gender: i % 3 === 0 ? 'male' : 'female',
    birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    address: [{ use: 'home', line: [`${100 + i} Main St`], city: 'Portland', state: 'OR', postalCode: '97201', country: 'US' }],
  };
  const serviceRequest: ServiceRequest = {
    resourceType: 'ServiceRequest', id: `sr-${i}`, status: 'active', intent: 'order',
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category', code: 'sdoh', display: 'SDOH' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109', display: 'Assistance with application for food pantry program' }] },
    subject,
    authoredOn: `${day(i)}T09:00:00Z`,
    requester: { reference: 'Organization/hub' },
  };
  const task: Task = {
    resourceType: 'Task', id: `task-${i}`, status: 'in-progress', intent: 'order', priority: 'routine',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill', display: 'Fulfill the focal request' }] },
    focus: { reference: `ServiceRequest/sr-${i}` },
    for: subject,
    authoredOn: `${day(i)}T10:00:00Z`,
    lastModified: `${day(i)}T11:00:00Z`,
    requester: { reference: 'Organization/hub' },
    owner: { reference: owner },
  };
  const observations: Observation[] = SCREENINGS.slice(0, OBSERVATIONS_PER_PATIENT).map((screening, k) => ({
    resourceType: 'Observation', id: `obs-${i}-${k}`, status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'social-history', display: 'Social History' }] }],
    code: { coding: [{ system: LOINC, code: screening.code, display: screening.display }] },
    subject,
    effectiveDateTime: `${day(i + k)}T08:30:00Z`,
    valueCodeableConcept: { coding: [{ system: LOINC, code: screening.answer.code, display: screening.answer.display }] },
  }));
  const consent: Consent = {
    resourceType: 'Consent', id: `consent-${i}`, status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IDSCL' }] }],
    patient: subject,
    dateTime: `${day(i)}T08:00:00Z`,
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'deny',
      provision: [{
        type: 'permit',
        actor: [{
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
          reference: { reference: owner },
        }],
      }],
    },
  };
  return [patient, serviceRequest, task, ...observations, consent];
}

function transaction(resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource): BundleEntry => ({
      fullUrl: `${resource.resourceType}/${resource.id}`,
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring.


interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  perSecond: number;
}

function stats(latencies: number[], wallMs: number): Stats {
  const sorted = Float64Array.from(latencies).sort();
  return { n: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), perSecond: sorted.length / (wallMs / 1000) };
}


/** A small deterministic PRNG (mulberry32), so both callers get identical request lists. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kind {
  name: string;
  /** Example shown in the table. */
  example: string;
  /** The path (below /fhir) of request `r` drawn with `next`. */
  path: (next: () => number) => string;
  search: boolean;
}

const CBO_A_PATIENTS = Math.ceil(PATIENTS / 2);
/** A patient index of cbo-a (even). */
const ownPatient = (next: () => number) => 2 * Math.floor(next() * CBO_A_PATIENTS);

const KINDS: Kind[] = [
  { name: 'read Task', example: 'GET Task/{id}', search: false, path: (next) => `Task/task-${ownPatient(next)}` },
  { name: 'read Observation', example: 'GET Observation/{id}', search: false, path: (next) => `Observation/obs-${ownPatient(next)}-${Math.floor(next() * OBSERVATIONS_PER_PATIENT)}` },
  { name: 'Observation?patient', example: 'GET Observation?patient={id}', search: true, path: (next) => `Observation?patient=${patientId(ownPatient(next))}` },
  { name: 'Task?owner&status', example: 'GET Task?owner=Organization/cbo-a&status=in-progress&_count=20', search: true, path: () => `Task?owner=${CBO_A}&status=in-progress&_count=20` },
  { name: 'Task?patient&_include', example: 'GET Task?patient={id}&_include=Task:focus', search: true, path: (next) => `Task?patient=${patientId(ownPatient(next))}&_include=Task:focus` },
];

type Caller = 'hub-admin' | 'cbo';
const CALLERS: Caller[] = ['hub-admin', 'cbo'];

interface Tally {
  latencies: number[];
  wallMs: number;
  matches: number;
  includes: number;
  failures: number;
  firstFailure?: string;
}

const newTally = (): Tally => ({ latencies: [], wallMs: 0, matches: 0, includes: 0, failures: 0 });

// ---------------------------------------------------------------------------------------------
// Main.

const bench = await openBenchDatabase('policy');
const { db, dir: tmpDir, schema } = bench;
let exitCode = 0;
try {
  await migrate(db);
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: tmpDir, TOKEN_TTL_SECONDS: '86400', BASE_URL: '' });
  const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: false });
  try {
    const where = DATABASE_URL ? `PostgreSQL ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')} schema ${schema}` : 'PGlite (temporary DATA_DIR)';
    log(`bench:policy  patients=${PATIENTS}  requests=${REQUESTS}/caller (+${WARMUP} warm-up)  block=${BLOCK}  concurrency=${CONCURRENCY}  database=${where}  cpus=${os.cpus().length}  load average ${os.loadavg()[0].toFixed(1)}`);

    const tokens: Record<Caller, string> = {
      'hub-admin': await clientToken(server.url, db, 'hub-admin'),
      cbo: await clientToken(server.url, db, 'cbo', CBO_A, ['COC']),
    };
    const headersOf = (caller: Caller) => ({ authorization: `Bearer ${tokens[caller]}`, accept: 'application/fhir+json' });
    const get = async (caller: Caller, pathAndQuery: string) => {
      const response = await fetch(`${server.url}/fhir/${pathAndQuery}`, { headers: headersOf(caller) });
      return { status: response.status, text: await response.text() };
    };

    // ---- 1. Load.
    const loadStarted = performance.now();
    const post = async (bundle: Bundle) => {
      const response = await fetch(`${server.url}/fhir`, {
        method: 'POST',
        headers: { ...headersOf('hub-admin'), 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
        body: JSON.stringify(bundle),
      });
      const text = await response.text();
      if (response.status !== 200) {
        throw new Error(`transaction of ${bundle.entry?.length} entries failed: HTTP ${response.status}\n${text.slice(0, 4000)}`);
      }
    };
    await post(transaction([organization('cbo-a', 'Harbor Food Bank'), organization('cbo-b', 'Eastside Housing Help'), organization('hub', 'Community Care Hub')]));
    const batches: number[][] = [];
    for (let from = 0; from < PATIENTS; from += LOAD_BATCH) batches.push(Array.from({ length: Math.min(LOAD_BATCH, PATIENTS - from) }, (_, k) => from + k));
    let nextBatch = 0;
    await Promise.all(
      Array.from({ length: db.kind === 'postgres' ? 4 : 1 }, async () => {
        while (nextBatch < batches.length) {
          const batch = batches[nextBatch++];
          await post(transaction(batch.flatMap(patientResources)));
        }
      }),
    );
    const loadMs = performance.now() - loadStarted;
    const loaded = PATIENTS * (3 + OBSERVATIONS_PER_PATIENT + 1) + 3;
    log(`  loaded ${loaded.toLocaleString('en-US')} resources in ${batches.length + 1} transaction bundles: ${(loadMs / 1000).toFixed(1)} s (${Math.round(loaded / (loadMs / 1000))}/s)`);
    // Planner statistics, as autovacuum would gather them in a live database (it may be off, as in
    // the test PostgreSQL): without them the freshly loaded tables get row estimates of 1 and
    // nested-loop plans that cost hundreds of ms per search, for hub-admin and the CBO alike.
    const analyzeStarted = performance.now();
    const tables = await db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()`);
    for (const { name } of tables) await db.exec(`VACUUM ANALYZE "${name}"`); // this schema's tables only, not the whole database
    log(`  VACUUM ANALYZE: ${((performance.now() - analyzeStarted) / 1000).toFixed(1)} s`);

    // ---- 2. Is the policy in force, and does the CBO see its own data?
    const anomalies: string[] = [];
    const expect = async (caller: Caller, request: string, want: string, ok: (status: number, body: Bundle & Resource) => boolean) => {
      const { status, text } = await get(caller, request);
      let body: Bundle & Resource;
      try {
        body = JSON.parse(text);
      } catch {
        body = {} as Bundle & Resource;
      }
      const passed = ok(status, body);
      log(`  ${passed ? 'ok  ' : 'FAIL'} ${caller.padEnd(9)} GET /fhir/${request} → ${status}${body.resourceType === 'Bundle' ? ` (${matchCount(body)} matches)` : ''}  (want ${want})`);
      if (!passed) anomalies.push(`${caller} GET /fhir/${request}: want ${want}, got HTTP ${status}\n      ${text.slice(0, 1500)}`);
    };
    const matchCount = (bundle: Bundle) => (bundle.entry ?? []).filter((entry) => entry.search?.mode === 'match').length;
    log('policy checks');
    await expect('cbo', 'Task/task-0', '200, own referral', (status) => status === 200);
    await expect('cbo', 'Task/task-1', '404, cbo-b\'s referral', (status) => status === 404);
    await expect('cbo', 'Observation/obs-1-0', '404, cbo-b\'s patient', (status) => status === 404);
    await expect('cbo', `Observation?patient=${patientId(1)}`, '200 with 0 matches', (status, body) => status === 200 && matchCount(body) === 0);
    await expect('cbo', `Observation?patient=${patientId(0)}`, `200 with ${OBSERVATIONS_PER_PATIENT} matches`, (status, body) => status === 200 && matchCount(body) === OBSERVATIONS_PER_PATIENT);
    await expect('hub-admin', 'Task/task-1', '200, unrestricted', (status) => status === 200);
    await expect('cbo', 'Patient/pat-0', '200, redacted (meta.security SUBSETTED)', (status, body) => status === 200 && (body.meta?.security ?? []).some((label) => label.code === 'SUBSETTED'));

    // ---- 3. Timed requests.
    const blocksPerKind = Math.max(1, Math.round(REQUESTS / KINDS.length / BLOCK));
    const warmupBlocksPerKind = Math.max(1, Math.round(WARMUP / KINDS.length / BLOCK));
    const tallies: Record<Caller, Tally[]> = { 'hub-admin': KINDS.map(newTally), cbo: KINDS.map(newTally) };
    const warmTallies: Record<Caller, Tally[]> = { 'hub-admin': KINDS.map(newTally), cbo: KINDS.map(newTally) };

    const runBlock = async (caller: Caller, kind: number, paths: string[], tally: Tally, concurrency: number) => {
      const { latencies, wallMs } = await run(paths.length, concurrency, async (i) => {
        const request = paths[i];
        const { status, text } = await get(caller, request);
        let problem: string | undefined;
        if (status !== 200) problem = `HTTP ${status}`;
        else if (KINDS[kind].search) {
          const bundle = JSON.parse(text) as Bundle;
          const matches = matchCount(bundle);
          tally.matches += matches;
          tally.includes += (bundle.entry ?? []).filter((entry) => entry.search?.mode === 'include').length;
          if (matches === 0 && caller === 'cbo') problem = 'no matches';
        }
        if (problem) {
          tally.failures++;
          tally.firstFailure ??= `${caller} GET /fhir/${request} → ${problem}\n      ${text.slice(0, 1500)}`;
        }
      });
      tally.latencies.push(...latencies);
      tally.wallMs += wallMs;
    };

    const rounds = async (blocks: number, target: Record<Caller, Tally[]>, seed: number, size = BLOCK, concurrency = CONCURRENCY) => {
      let pair = 0;
      for (let b = 0; b < blocks; b++) {
        for (let kind = 0; kind < KINDS.length; kind++) {
          const next = random(seed + b * KINDS.length + kind);
          const paths = Array.from({ length: size }, () => KINDS[kind].path(next));
          const order: Caller[] = pair++ % 2 === 0 ? CALLERS : [...CALLERS].reverse();
          for (const caller of order) await runBlock(caller, kind, paths, target[caller][kind], concurrency);
        }
      }
    };

    log(`warm-up: ${warmupBlocksPerKind * KINDS.length * BLOCK} requests per caller`);
    await rounds(warmupBlocksPerKind, warmTallies, 1_000_000);
    for (const caller of CALLERS) {
      for (const tally of warmTallies[caller]) if (tally.firstFailure) anomalies.push(`during warm-up: ${tally.failures} failed, first: ${tally.firstFailure}`);
    }
    log(`timing: ${blocksPerKind * KINDS.length * BLOCK} requests per caller (${blocksPerKind} blocks of ${BLOCK} per kind and caller, ${CONCURRENCY} in flight, callers alternating)`);
    const timingStarted = performance.now();
    await rounds(blocksPerKind, tallies, 1);
    log(`  done in ${((performance.now() - timingStarted) / 1000).toFixed(1)} s`);
    log(`one in flight: ${SEQUENTIAL} requests per kind and caller`);
    const sequential: Record<Caller, Tally[]> = { 'hub-admin': KINDS.map(newTally), cbo: KINDS.map(newTally) };
    await rounds(1, sequential, 2_000_000, SEQUENTIAL, 1);

    // ---- 4. Raw baseline: a primary-key SELECT of the same resources, same concurrency.
    const rawPaths: [string, string][] = [];
    {
      const next = random(7);
      for (let i = 0; i < Math.max(2_000, BLOCK * 10); i++) {
        const [type, id] = KINDS[i % 2].path(next).split('/');
        rawPaths.push([type, id]);
      }
    }
    await run(Math.min(500, rawPaths.length), CONCURRENCY, async (i) => {
      await db.query('SELECT content FROM resource WHERE resource_type = $1 AND id = $2', rawPaths[i]);
    });
    const raw = await run(rawPaths.length, CONCURRENCY, async (i) => {
      const rows = await db.query('SELECT content FROM resource WHERE resource_type = $1 AND id = $2', rawPaths[i]);
      if (rows.length !== 1) throw new Error(`raw select found ${rows.length} rows for ${rawPaths[i].join('/')}`);
    });
    const rawStats = stats(raw.latencies, raw.wallMs);
    const rawOne = await run(Math.min(500, rawPaths.length), 1, async (i) => {
      await db.query('SELECT content FROM resource WHERE resource_type = $1 AND id = $2', rawPaths[i]);
    });
    const rawOneP50 = stats(rawOne.latencies, rawOne.wallMs).p50;

    // ---- Summary.
    const f = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
    const pad = (value: string | number, width: number) => String(value).padStart(width);
    const line = (label: string, caller: string, s: Stats, one: number, entries: string, ratio: string) =>
      `${label.padEnd(24)} ${caller.padEnd(9)} ${pad(s.n, 6)} ${pad(f(s.p50), 8)} ${pad(f(s.p95), 8)} ${pad(f(s.p99), 8)} ${pad(s.perSecond.toFixed(0), 7)} ${pad(f(one), 7)} ${pad(entries, 10)}  ${ratio}`;
    const verdict = (ratio: number) => `${ratio.toFixed(2)}  ${ratio <= TARGET_RATIO ? 'ok' : 'OVER'}`;

    log(`\n═══ bench:policy summary — ${PATIENTS} patients (${CBO_A_PATIENTS} of them cbo-a's), ${db.kind}, ${CONCURRENCY} in flight, target CBO p95 / hub-admin p95 ≤ ${TARGET_RATIO.toFixed(2)} ═══`);
    log(`${'request'.padEnd(24)} ${'caller'.padEnd(9)} ${pad('n', 6)} ${pad('p50 ms', 8)} ${pad('p95 ms', 8)} ${pad('p99 ms', 8)} ${pad('req/s', 7)} ${pad('p50@1', 7)} ${pad('entries', 10)}  CBO/admin p95`);
    const overall: Record<Caller, Tally> = { 'hub-admin': newTally(), cbo: newTally() };
    const ratios: number[] = [];
    for (const [k, kind] of KINDS.entries()) {
      const perCaller = CALLERS.map((caller) => stats(tallies[caller][k].latencies, tallies[caller][k].wallMs));
      const ratio = perCaller[1].p95 / perCaller[0].p95;
      ratios.push(ratio);
      for (const [c, caller] of CALLERS.entries()) {
        const tally = tallies[caller][k];
        overall[caller].latencies.push(...tally.latencies);
        overall[caller].wallMs += tally.wallMs;
        overall[caller].failures += tally.failures;
        const entries = kind.search ? `${(tally.matches / tally.latencies.length).toFixed(1)}${tally.includes ? `+${(tally.includes / tally.latencies.length).toFixed(1)}i` : ''}` : '1';
        const one = stats(sequential[caller][k].latencies, 1).p50;
        log(line(c === 0 ? kind.name : '', caller, perCaller[c], one, entries, c === 1 ? verdict(ratio) : ''));
      }
    }
    const all = CALLERS.map((caller) => stats(overall[caller].latencies, overall[caller].wallMs));
    const overallRatio = all[1].p95 / all[0].p95;
    log('─'.repeat(100));
    const oneAll = (caller: Caller) => stats(sequential[caller].flatMap((tally) => tally.latencies), 1).p50;
    log(line('overall (mix)', 'hub-admin', all[0], oneAll('hub-admin'), '', ''));
    log(line('', 'cbo', all[1], oneAll('cbo'), '', verdict(overallRatio)));
    // Reads (the first two kinds) against the raw primary-key SELECT of the same rows.
    const readP95 = (caller: Caller) => stats([...tallies[caller][0].latencies, ...tallies[caller][1].latencies], 1).p95;
    log(line('raw SELECT by id', db.kind, rawStats, rawOneP50, '1', `reads p95 vs raw: hub-admin ${f(readP95('hub-admin') / rawStats.p95)}×, cbo ${f(readP95('cbo') / rawStats.p95)}×`));
    log('');
    for (const kind of KINDS) log(`  ${kind.name.padEnd(22)} ${kind.example}`);
    log(`  raw SELECT by id       SELECT content FROM resource WHERE resource_type=$1 AND id=$2 (the same Task/Observation ids, ${CONCURRENCY} in flight, no HTTP, no policy, no audit)`);
    log(`  p50/p95/p99, req/s: ${CONCURRENCY} in flight (req/s = requests / wall time of that caller's blocks); p50@1: one in flight, ${SEQUENTIAL} requests (not in the ratio)`);
    log(`  entries: mean matches per response (+ mean _include entries). Both callers write an AuditEvent per request.`);
    const within = ratios.filter((ratio) => ratio <= TARGET_RATIO).length;
    log(`  ${within} of ${KINDS.length} request kinds within the target; overall CBO p95 / hub-admin p95 = ${overallRatio.toFixed(2)}`);

    // Same requests, so the CBO should see as many matches as hub-admin on cbo-a's consented patients.
    for (const [k, kind] of KINDS.entries()) {
      const [admin, cbo] = CALLERS.map((caller) => tallies[caller][k]);
      if (kind.search && (cbo.matches !== admin.matches || cbo.includes !== admin.includes)) {
        anomalies.push(`${kind.name}: CBO saw ${cbo.matches} matches + ${cbo.includes} includes, hub-admin ${admin.matches} + ${admin.includes} for the same requests`);
      }
    }
    for (const caller of CALLERS) {
      for (const [k, tally] of [...tallies[caller].entries(), ...sequential[caller].entries()]) {
        if (tally.failures) anomalies.push(`${KINDS[k].name} (${caller}): ${tally.failures} of ${tally.latencies.length} failed; first: ${tally.firstFailure}`);
      }
    }
    if (anomalies.length) {
      exitCode = 1;
      log(`\nANOMALIES (${anomalies.length}) — the figures above include these responses:`);
      for (const anomaly of anomalies) log(`  - ${anomaly}`);
    } else {
      log('  every timed response was 200, every CBO response non-empty, CBO and hub-admin saw the same matches');
    }
  } finally {
    await server.close();
  }
} finally {
  await db.close();
  if (KEEP && schema) log(`--keep: schema ${schema} kept (DROP SCHEMA ${schema} CASCADE when done)`);
  await bench.drop(KEEP);
}
process.exitCode = exitCode;
