// Claims delivered per second through the queue: each claim is an outbox message on the claims
// queue (BullMQ on Redis, 4 workers), decided by the policy at send time, audited, conditionally
// created at a local payer FHIR endpoint, and marked sent on the Claim. Raw baseline in the same
// run: plain HTTP POSTs of the same claims to the same endpoint, 4 at a time (no queue, no policy,
// no audit, no bookkeeping).
//   node bench/claims-delivery-bench.ts [--claims 200]       (alone: builds its own members and claims)
//   bench/claims.ts calls benchDelivery() with the claims it built.
// Redis from REDIS_URL, else 127.0.0.1:6379, under a private queue prefix deleted at the end.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Claim, Organization } from 'fhir/r4';
import { pino } from 'pino';
import { BILLING_PAYLOAD_TYPE, CLAIM_CONTROL_NUMBER_SYSTEM, CLAIMS_QUEUE, ENDPOINT_CONNECTION_TYPE_SYSTEM, LINE_CONTROL_NUMBER_EXTENSION, type PayerDeliveryMessage } from '../src/billing/billing-conventions.ts';
import { claimsQueue } from '../src/billing/delivery/claims-queue.ts';
import { commandLineEngine } from '../src/command-line-engine.ts';
import { loadConfig, type Config } from '../src/config.ts';
import type { FhirEngine } from '../src/fhir/engine.ts';
import { create } from '../src/fhir/interactions/create.ts';
import { persistVersion } from '../src/fhir/persist.ts';
import { enqueue } from '../src/queue/outbox.ts';
import { QueueService } from '../src/queue/queue-service.ts';
import type { Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrations.ts';
import { readCurrent } from '../src/store/resource-store.ts';
import { startPayerFhirEndpoint } from '../test/billing/delivery/payer-fhir-endpoint.ts';
import { integerOption, openBenchDatabase, runConcurrently } from './bench-kit.ts';
import { deleteQueueKeys } from '../src/queue/queue-keys.ts';

export interface DeliveryBenchOptions {
  db: Database;
  config: Config;
  engine: FhirEngine;
  /** `Claim/id` of stored claims (active, with control numbers) whose patients the payer covers. */
  claims: string[];
  payer: string;
}

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const CONCURRENCY = 4;

export async function benchDelivery(options: DeliveryBenchOptions): Promise<{ ours: number; raw: number }> {
  const { db, engine, claims, payer } = options;
  const hub = options.config.hubOrganization;
  const endpoint = await startPayerFhirEndpoint();
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const config: Config = { ...options.config, allowHttpEndpoints: true, queuePrefix: prefix };
  let service: QueueService | undefined;
  try {
    // The payer's billing Endpoint: the local FHIR server.
    await engine.runAsSystem('bench-endpoint', hub, async (scope) => {
      const orgId = payer.split('/')[1];
      await persistVersion(scope, 'Endpoint', 'bench-billing', {
        resourceType: 'Endpoint', id: 'bench-billing', status: 'active', address: endpoint.url, managingOrganization: { reference: payer },
        connectionType: { system: ENDPOINT_CONNECTION_TYPE_SYSTEM, code: 'hl7-fhir-rest' }, payloadType: [{ coding: [{ ...BILLING_PAYLOAD_TYPE }] }],
      } as never, await readCurrent(scope.q, 'Endpoint', 'bench-billing'));
      const current = await readCurrent(scope.q, 'Organization', orgId, true);
      const organization = (current?.resource ?? { resourceType: 'Organization', name: 'Bench plan' }) as Organization;
      const withEndpoint: Organization = { ...organization, endpoint: [{ reference: 'Endpoint/bench-billing' }] };
      await persistVersion(scope, 'Organization', orgId, withEndpoint, current);
    });

    // Raw baseline: the same claims POSTed as plain JSON, CONCURRENCY at a time.
    const bodies: string[] = [];
    for (const reference of claims) {
      const stored = await readCurrent(db, 'Claim', reference.split('/')[1]);
      bodies.push(JSON.stringify({ ...(stored!.resource as Claim), id: undefined, meta: undefined }));
    }
    const raw = await runConcurrently(bodies.length, CONCURRENCY, async (i) => {
      const response = await fetch(`${endpoint.url}/Claim`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: bodies[i] });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`raw POST answered ${response.status}`);
    });
    endpoint.stored.clear();

    // Through the queue: one outbox message per claim, committed together, then dispatched and sent.
    service = QueueService.start({
      db,
      redis: { url: REDIS_URL },
      prefix,
      modules: [claimsQueue({ engine, db, config })],
      logger: pino({ level: 'silent' }),
      dispatchIntervalMs: 20,
    });
    const t0 = performance.now();
    await db.transaction(async (tx) => {
      for (const reference of claims) await enqueue<PayerDeliveryMessage>(tx, { queue: CLAIMS_QUEUE, payload: { kind: 'claim', reference, payer } });
    });
    service.nudge();
    for (;;) {
      const rows = await db.query<{ n: number | string }>(`SELECT count(*) AS n FROM outbox_processed WHERE queue = $1`, [CLAIMS_QUEUE]);
      if (Number(rows[0].n) >= claims.length) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const queueMs = performance.now() - t0;
    const delivered = [...endpoint.stored.values()].filter((resource) => resource.resourceType === 'Claim').length;
    if (delivered !== claims.length) throw new Error(`${delivered} of ${claims.length} claims reached the payer`);

    const ours = (claims.length / queueMs) * 1000;
    const rawRate = (claims.length / raw.wallMs) * 1000;
    console.log(
      `${'claims delivered (queue → payer FHIR)'.padEnd(34)} ${ours.toFixed(1).padStart(9)} /s   raw ${rawRate.toFixed(1).padStart(11)} /s   ratio ${(ours / rawRate).toFixed(4)}   (${claims.length} claims, ${CONCURRENCY} workers; raw = plain HTTP POSTs)`,
    );
    return { ours, raw: rawRate };
  } finally {
    await service?.close();
    await endpoint.close();
    await deleteQueueKeys(REDIS_URL, prefix);
  }
}

/** Alone: N members of a plan with one built claim each, then the delivery figure. */
async function standalone(): Promise<void> {
  const count = integerOption('claims', 200);
  const bench = await openBenchDatabase('claims-delivery');
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent' });
  try {
    await migrate(bench.db);
    const engine = await commandLineEngine(bench.db, config);
    const hub = config.hubOrganization;
    const claims: string[] = [];
    await engine.runAsSystem('bench-setup', hub, async (scope) => {
      await create(scope, 'Organization', { resourceType: 'Organization', name: 'Bench plan' }, undefined, 'bench-plan');
      await create(scope, 'Organization', { resourceType: 'Organization', name: 'Bench CBO' }, undefined, 'bench-cbo');
      for (let i = 0; i < count; i++) {
        const p = `bm${i}`;
        const control = `CCH${String(i + 1).padStart(9, '0')}`;
        await create(scope, 'Patient', { resourceType: 'Patient', name: [{ family: 'Member', given: [`N${i}`] }], gender: 'female', birthDate: '1980-01-01' }, undefined, p);
        await create(scope, 'Coverage', { resourceType: 'Coverage', status: 'active', beneficiary: { reference: `Patient/${p}` }, payor: [{ reference: 'Organization/bench-plan' }] }, undefined, `cov-${p}`);
        await create(scope, 'Claim', {
          resourceType: 'Claim', status: 'active', use: 'claim', identifier: [{ system: CLAIM_CONTROL_NUMBER_SYSTEM, value: control }],
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
          patient: { reference: `Patient/${p}` }, created: '2026-11-30T00:00:00Z', insurer: { reference: 'Organization/bench-plan' }, provider: { reference: hub },
          priority: { coding: [{ code: 'normal' }] }, careTeam: [{ sequence: 1, provider: { reference: 'Organization/bench-cbo' } }],
          insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov-${p}` } }],
          item: [{ sequence: 1, extension: [{ url: LINE_CONTROL_NUMBER_EXTENSION, valueString: `${control}-1` }], productOrService: { coding: [{ code: 'S5170' }] }, servicedDate: '2026-11-02', net: { value: 45, currency: 'USD' } }],
          total: { value: 45, currency: 'USD' },
        }, undefined, `claim-${i}`);
        claims.push(`Claim/claim-${i}`);
      }
    });
    console.log(`bench:claims-delivery  ${count} claims; database ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`);
    await benchDelivery({ db: bench.db, config, engine, claims, payer: 'Organization/bench-plan' });
  } finally {
    await bench.db.close();
    await bench.drop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await standalone();
