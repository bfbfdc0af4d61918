// npm run bench:referrals [-- --referrals N] [--cbos N] [--poll-ms N] [--cbo-concurrency N] [--timeout-s N] [--submit-as ehr|hub-admin]
//
// The closed loop under load, in one process: N referrals (default 200) submitted at once by an EHR
// (role referral-source, its own token, one transaction of ServiceRequest + Task each) go through the whole
// loop over HTTP and the real queues (outbox → BullMQ → workflow jobs): routing to one of the light CBOs,
// the CBO accepting, delivering (a Procedure) and completing, and the outcome reaching the source Task.
// Each CBO is a script acting as the CBO's app: it polls its work list (Task?owner=…&status=requested) every
// --poll-ms, and for each Task PUTs accepted, POSTs a Procedure and PUTs completed with it as output.
//
// Figures: referrals/s (N / wall time from the first submit to the last outcome) and time-to-outcome per
// referral (submit → the source Task's completed version, from its meta.lastUpdated), p50/p95/p99; also
// time-to-routed (submit → the hub's Task created). Baseline in the same run and database: the same number
// of plain HTTP Task creates (a Task that is no referral: no outbox message, no queue), at the same
// concurrency. PostgreSQL when DATABASE_URL is set (a fresh schema, dropped at the end), else PGlite in a
// temporary DATA_DIR; Redis from REDIS_URL, else 127.0.0.1:6379, under a private queue prefix deleted at the end.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Bundle, Resource, Task } from 'fhir/r4';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { migrate } from '../src/store/migrations.ts';
import { integerOption, openBenchDatabase, option, percentile, runConcurrently as run } from './bench-kit.ts';
import { clientToken } from '../test/helpers/client-token.ts';
import { deleteQueueKeys } from '../src/queue/queue-keys.ts';


const REFERRALS = integerOption('referrals', 200);
const CBOS = integerOption('cbos', 4);
const POLL_MS = integerOption('poll-ms', 100);
/** Tasks one CBO script works on at once. */
const CBO_CONCURRENCY = integerOption('cbo-concurrency', 8);
const TIMEOUT_S = integerOption('timeout-s', 600);
/** Who submits the referrals: the EHR's own token (default), or hub-admin (no partner policy or SDOHCC profile checks on the submit). */
const SUBMIT_AS = option('submit-as') ?? 'ehr';
if (SUBMIT_AS !== 'ehr' && SUBMIT_AS !== 'hub-admin') throw new Error(`--submit-as must be ehr or hub-admin, got '${SUBMIT_AS}'`);
const DATABASE_URL = process.env.DATABASE_URL || undefined;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SD = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition';
const log = (message: string) => console.log(message);

function summary(values: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const bench = await openBenchDatabase('referrals');
const { db, dir: tmpDir, schema } = bench;
const queuePrefix = `bench${randomBytes(4).toString('hex')}`;

async function cleanUp(): Promise<void> {
  await deleteQueueKeys(REDIS_URL, queuePrefix);
  await bench.drop();
}


const cboId = (k: number) => `cbo-${k}`;
const patientId = (i: number) => `bench-pat-${i}`;

let exitCode = 0;
try {
  await migrate(db);
  const config = loadConfig({
    ...process.env, PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: tmpDir, TOKEN_TTL_SECONDS: '86400', BASE_URL: '', REDIS_URL, QUEUE_PREFIX: queuePrefix,
  });
  const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: { dispatchIntervalMs: 20 } });
  const stopCbos = { stopped: false };
  try {
    const where = DATABASE_URL ? `PostgreSQL schema ${schema}` : 'PGlite (temporary DATA_DIR)';
    log(`bench:referrals  referrals=${REFERRALS}  submit as ${SUBMIT_AS}  light CBOs=${CBOS}  CBO poll=${POLL_MS} ms  CBO concurrency=${CBO_CONCURRENCY}  database=${where}  cpus=${os.cpus().length}`);
    const admin = await clientToken(server.url, db, 'hub-admin');
    const ehr = await clientToken(server.url, db, 'referral-source', 'Organization/ehr', ['TREAT']);
    const cboTokens = await Promise.all(Array.from({ length: CBOS }, (_, k) => clientToken(server.url, db, 'cbo', `Organization/${cboId(k)}`, ['COC'])));
    const request = async (method: string, pathAndQuery: string, token: string, body?: unknown) => {
      const response = await fetch(`${server.url}/fhir${pathAndQuery}`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', ...(body ? { 'content-type': 'application/fhir+json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${method} ${pathAndQuery} → ${response.status} ${text.slice(0, 1500)}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };

    // ---- Network and patients (untimed): CBOs serving food insecurity in 97201, each patient consenting to all of them.
    const put = (resource: Resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });
    const network: Resource[] = [
      ...['hub', 'ehr', ...Array.from({ length: CBOS }, (_, k) => cboId(k))].map((id) => ({ resourceType: 'Organization', id, active: true, name: id }) as Resource),
      { resourceType: 'Location', id: 'area-97201', meta: { profile: [`${SD}/SDOHCC-Location`] }, status: 'active', name: 'Portland 97201', address: { postalCode: '97201', state: 'OR' } } as Resource,
      ...Array.from({ length: CBOS }, (_, k) => ({
        resourceType: 'HealthcareService', id: `hs-${cboId(k)}`, active: true, providedBy: { reference: `Organization/${cboId(k)}` }, name: `Meals ${k}`,
        category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }], coverageArea: [{ reference: 'Location/area-97201' }],
      }) as Resource),
    ];
    await request('POST', '', admin, { resourceType: 'Bundle', type: 'transaction', entry: network.map(put) });
    const permit = {
      type: 'deny',
      provision: [{ type: 'permit', actor: Array.from({ length: CBOS }, (_, k) => ({ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Organization/${cboId(k)}` } })) }],
    };
    for (let from = 0; from < REFERRALS; from += 50) {
      const entry = [];
      for (let i = from; i < Math.min(REFERRALS, from + 50); i++) {
        entry.push(put({ resourceType: 'Patient', id: patientId(i), name: [{ family: `Bench${i}` }], address: [{ use: 'home', postalCode: '97201', state: 'OR' }] } as Resource));
        entry.push(put({
          resourceType: 'Consent', id: `consent-${i}`, status: 'active',
          scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
          category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IDSCL' }] }],
          patient: { reference: `Patient/${patientId(i)}` }, dateTime: '2026-01-01T00:00:00Z', organization: [{ reference: 'Organization/hub' }],
          policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] }, provision: permit,
        } as Resource));
      }
      await request('POST', '', admin, { resourceType: 'Bundle', type: 'transaction', entry });
    }

    // ---- The CBO scripts: poll the work list, accept, deliver, complete.
    let cboRequests = 0;
    const cboFailures: string[] = [];
    const cboLoop = async (k: number) => {
      const token = cboTokens[k];
      const owner = `Organization/${cboId(k)}`;
      const working = new Set<string>();
      const inFlight = new Set<Promise<void>>();
      const work = async (task: Task) => {
        try {
          cboRequests += 3;
          const accepted = (await request('PUT', `/Task/${task.id}`, token, { ...task, status: 'accepted' })) as unknown as Task;
          const procedure = await request('POST', '/Procedure', token, {
            resourceType: 'Procedure', status: 'completed', subject: task.for, performedDateTime: '2026-11-20',
            category: { coding: [{ system: SDOHCC, code: 'food-insecurity' }] }, code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
          });
          await request('PUT', `/Task/${task.id}`, token, {
            ...accepted, status: 'completed', output: [{ type: { coding: [{ system: SDOHCC, code: 'resulting-activity' }] }, valueReference: { reference: `Procedure/${procedure.id}` } }],
          });
        } catch (error) {
          cboFailures.push((error as Error).message);
        }
      };
      while (!stopCbos.stopped) {
        try {
          cboRequests++;
          const bundle = (await request('GET', `/Task?owner=${owner}&status=requested&_count=200`, token)) as unknown as Bundle;
          for (const entry of bundle.entry ?? []) {
            const task = entry.resource as Task;
            if (working.has(task.id!)) continue;
            working.add(task.id!);
            while (inFlight.size >= CBO_CONCURRENCY) await Promise.race(inFlight);
            const p: Promise<void> = work(task).finally(() => inFlight.delete(p));
            inFlight.add(p);
          }
        } catch (error) {
          cboFailures.push((error as Error).message);
        }
        await sleep(POLL_MS);
      }
      await Promise.all(inFlight);
    };
    const cbos = Array.from({ length: CBOS }, (_, k) => cboLoop(k));

    // ---- The referrals, all at once.
    const submittedAt: number[] = new Array(REFERRALS);
    const sourceIds: string[] = new Array(REFERRALS);
    log(`network and ${REFERRALS} patients with consents loaded; submitting`);
    const loopStarted = Date.now();
    const submit = await run(REFERRALS, REFERRALS, async (i) => {
      const srUrn = `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      submittedAt[i] = Date.now();
      const bundle = await request('POST', '', SUBMIT_AS === 'ehr' ? ehr : admin, {
        resourceType: 'Bundle', type: 'transaction',
        entry: [
          {
            fullUrl: srUrn,
            request: { method: 'POST', url: 'ServiceRequest' },
            resource: {
              resourceType: 'ServiceRequest', meta: { profile: [`${SD}/SDOHCC-ServiceRequest`] }, status: 'active', intent: 'order',
              subject: { reference: `Patient/${patientId(i)}` }, category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
              code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] }, requester: { reference: 'Organization/ehr' }, authoredOn: '2026-11-01',
            },
          },
          {
            request: { method: 'POST', url: 'Task' },
            resource: {
              resourceType: 'Task', meta: { profile: [`${SD}/SDOHCC-TaskForReferralManagement`] }, status: 'requested', intent: 'order',
              code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] }, focus: { reference: srUrn },
              for: { reference: `Patient/${patientId(i)}` }, authoredOn: '2026-11-01T10:00:00Z', requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
            },
          },
        ],
      });
      const location = ((bundle.entry as { response: { location: string } }[])[1]).response.location;
      sourceIds[i] = location.split('/Task/')[1].split('/')[0];
    });

    // ---- Wait for every outcome (read from the store, so observing costs no HTTP polling).
    const completedAt = new Map<string, number>();
    const deadline = Date.now() + TIMEOUT_S * 1000;
    while (completedAt.size < REFERRALS && Date.now() < deadline) {
      const rows = await db.query<{ id: string; last_updated: string | Date }>(
        `SELECT id, last_updated FROM resource WHERE resource_type = 'Task' AND id = ANY($1::text[]) AND content->>'status' IN ('completed', 'failed', 'rejected')`,
        [sourceIds.filter((id) => !completedAt.has(id))],
      );
      for (const row of rows) completedAt.set(row.id, new Date(row.last_updated).getTime());
      if (completedAt.size < REFERRALS) await sleep(50);
    }
    const loopWallMs = Math.max(...completedAt.values()) - loopStarted;
    stopCbos.stopped = true;
    await Promise.all(cbos);

    const statuses = await db.query<{ status: string; n: number }>(
      `SELECT content->>'status' AS status, count(*)::int AS n FROM resource WHERE resource_type = 'Task' AND id = ANY($1::text[]) GROUP BY 1`,
      [sourceIds],
    );
    const routedRows = await db.query<{ source: string; created: string | Date }>(
      `SELECT s.target_id AS source, min(v.last_updated) AS created FROM search_reference s
         JOIN resource_version v ON v.resource_type = 'Task' AND v.id = s.id AND v.version_id = 1
        WHERE s.resource_type = 'Task' AND s.code = 'part-of' AND s.target_id = ANY($1::text[]) GROUP BY s.target_id`,
      [sourceIds],
    );
    const routedAt = new Map(routedRows.map((row) => [row.source, new Date(row.created).getTime()]));
    const outcome = sourceIds.flatMap((id, i) => (completedAt.has(id) ? [completedAt.get(id)! - submittedAt[i]] : []));
    const routed = sourceIds.flatMap((id, i) => (routedAt.has(id) ? [routedAt.get(id)! - submittedAt[i]] : []));
    const perCbo = await db.query<{ owner: string; n: number }>(
      `SELECT content->'owner'->>'reference' AS owner, count(*)::int AS n FROM resource WHERE resource_type = 'Task' AND content->'partOf' IS NOT NULL
          AND content->>'status' = 'completed' GROUP BY 1 ORDER BY 1`,
    );

    const writtenRows = await db.query<{ audit: boolean; n: number }>(
      `SELECT resource_type = 'AuditEvent' AS audit, count(*)::int AS n FROM resource_version WHERE last_updated >= $1 AND last_updated <= $2 GROUP BY 1`,
      [new Date(loopStarted).toISOString(), new Date(loopStarted + loopWallMs).toISOString()],
    );
    const written = { audit: writtenRows.find((row) => row.audit)?.n ?? 0, other: writtenRows.find((row) => !row.audit)?.n ?? 0 };

    // ---- Baseline: the same number of plain Task creates over HTTP, same concurrency.
    const plain = (i: number) => ({
      resourceType: 'Task', status: 'requested', intent: 'order', code: { text: 'baseline' }, for: { reference: `Patient/${patientId(i)}` },
      authoredOn: '2026-11-01T10:00:00Z', requester: { reference: 'Organization/hub' }, owner: { reference: 'Organization/hub' },
    });
    const baseline = await run(REFERRALS, REFERRALS, async (i) => {
      await request('POST', '/Task', admin, plain(i));
    });

    const f = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : '-');
    const o = summary(outcome);
    const r = summary(routed);
    const b = summary(baseline.latencies);
    const s = summary(submit.latencies);
    log(`\n═══ bench:referrals — ${REFERRALS} concurrent referrals, ${CBOS} light CBOs, ${db.kind} ═══`);
    log(`whole loop (submit → source completed)   ${(completedAt.size / (loopWallMs / 1000)).toFixed(1)} referrals/s   wall ${(loopWallMs / 1000).toFixed(2)} s`);
    log(`  time-to-outcome  ms   p50 ${f(o.p50)}   p95 ${f(o.p95)}   p99 ${f(o.p99)}   max ${f(o.max)}   (n=${outcome.length})`);
    log(`  time-to-routed   ms   p50 ${f(r.p50)}   p95 ${f(r.p95)}   p99 ${f(r.p99)}   max ${f(r.max)}   (hub Task created)`);
    log(`  submit (EHR transaction SR + Task)   p50 ${f(s.p50)} ms   p95 ${f(s.p95)} ms   ${(REFERRALS / (submit.wallMs / 1000)).toFixed(1)}/s`);
    log(`  CBO requests ${cboRequests} (work-list polls + 3 per referral); completed per CBO: ${perCbo.map((row) => `${row.owner.split('/')[1]} ${row.n}`).join(', ')}`);
    log(`baseline: ${REFERRALS} plain POST /fhir/Task (no referral, no queue), ${REFERRALS} in flight`);
    log(`  ${(REFERRALS / (baseline.wallMs / 1000)).toFixed(1)} creates/s   latency p50 ${f(b.p50)} ms   p95 ${f(b.p95)} ms   wall ${(baseline.wallMs / 1000).toFixed(2)} s`);
    log(`  the loop's wall time is ${(loopWallMs / baseline.wallMs).toFixed(1)}× the baseline's; per referral it wrote ${(written.other / REFERRALS).toFixed(1)} resource versions + ${(written.audit / REFERRALS).toFixed(1)} AuditEvents`);
    log(`source Task statuses: ${statuses.map((row) => `${row.status} ${row.n}`).join(', ')}`);
    const anomalies: string[] = [];
    if (completedAt.size < REFERRALS) anomalies.push(`${REFERRALS - completedAt.size} referrals had no outcome within ${TIMEOUT_S} s`);
    const notCompleted = statuses.filter((row) => row.status !== 'completed').reduce((sum, row) => sum + row.n, 0);
    if (notCompleted) anomalies.push(`${notCompleted} source Tasks did not end completed`);
    if (cboFailures.length) anomalies.push(`${cboFailures.length} CBO requests failed; first: ${cboFailures[0]}`);
    if (anomalies.length) {
      exitCode = 1;
      log(`\nANOMALIES:`);
      for (const anomaly of anomalies) log(`  - ${anomaly}`);
    }
  } finally {
    stopCbos.stopped = true;
    await server.close();
  }
} finally {
  await db.close();
  await cleanUp();
}
process.exitCode = exitCode;
