// The daily batching job: once per interval (CLAIM_BATCH_INTERVAL_HOURS, default 24) an outbox row keyed
// by the interval (so several server processes write one) asks the 'claim-batch' queue to build every
// payer's claims and invoices for services up to the end of the previous day. One transaction per run,
// with its idempotency record: a redelivered job finds it done.
import type { FhirEngine } from '../fhir/engine.ts';
import { enqueue } from '../queue/outbox.ts';
import { claimMessage } from '../queue/processed-once.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Database } from '../store/database.ts';
import { payersWithUnbilled } from './charge-ledger.ts';
import { buildForPeriod, type BillingContext } from './claim-build.ts';
import { loadContracts } from './contracts.ts';

export const CLAIM_BATCH_QUEUE = 'claim-batch';

export interface ClaimBatchRequest {
  /** Build services up to and including this day (YYYY-MM-DD). */
  through: string;
}

/** Earliest service date a batch looks at: unbilled charges of any earlier period are still billed. */
const EPOCH = '2000-01-01';

export function claimBatchQueue(engine: FhirEngine, hubOrganization: string, context: BillingContext): QueueModule<ClaimBatchRequest> {
  return {
    name: CLAIM_BATCH_QUEUE,
    attempts: 3,
    backoffMs: 5_000,
    async process({ outboxId, payload }) {
      await engine.runAsSystem('$claim-batch', hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: CLAIM_BATCH_QUEUE, outboxId }))) return;
        const capitated = (await loadContracts(scope)).accounts.filter((account) => account.model === 'capitation').map((account) => account.payer);
        const payers = [...new Set([...(await payersWithUnbilled(scope.q, payload.through)), ...capitated])].sort();
        for (const payer of payers) await buildForPeriod(scope, context, { payer, start: EPOCH, end: payload.through });
      });
    },
  };
}

/** Writes the batch request of the current interval (once per interval across processes). */
export async function requestClaimBatch(db: Database, intervalHours: number, now = Date.now()): Promise<boolean> {
  const slot = Math.floor(now / (intervalHours * 3_600_000));
  const through = new Date(now - 86_400_000).toISOString().slice(0, 10);
  const id = await enqueue(db, { queue: CLAIM_BATCH_QUEUE, payload: { through } satisfies ClaimBatchRequest, dedupeKey: `claim-batch:${intervalHours}h:${slot}` });
  return id !== undefined;
}

/** Checks every quarter hour whether this interval's batch is requested; returns a stop function. */
export function startClaimBatchTimer(db: Database, intervalHours: number, nudge: () => void): () => void {
  if (!(intervalHours > 0)) return () => undefined;
  const tick = () => void requestClaimBatch(db, intervalHours).then((added) => added && nudge(), () => undefined);
  tick();
  const timer = setInterval(tick, 15 * 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
