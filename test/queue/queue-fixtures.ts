// A diagnostic queue module for the queue tests: it records every delivery in memory and its one
// database effect (a row of queue_test_effect) through processOnce, and runs a per-test behaviour
// (throw, hang) before the effect commits or after it.
import type { Database, Queryable } from '../../src/store/database.ts';
import { enqueue } from '../../src/queue/outbox.ts';
import { processOnce } from '../../src/queue/processed-once.ts';
import type { QueueJob, QueueModule } from '../../src/queue/queue-module.ts';

export interface TestPayload {
  n: number;
}

export interface Delivery {
  outboxId: string;
  attempt: number;
  /** Whether this delivery committed the effect (false: skipped as already processed, or threw). */
  ran: boolean;
}

export interface RecordingModule extends QueueModule<TestPayload> {
  deliveries: Delivery[];
}

export interface RecordingOptions extends Omit<QueueModule<TestPayload>, 'name' | 'process'> {
  /** Runs inside the effect's transaction, before the effect row: throwing rolls it back. */
  before?: (job: QueueJob<TestPayload>) => Promise<void> | void;
  /** Runs after the effect committed (or was found done). */
  after?: (job: QueueJob<TestPayload>) => Promise<void> | void;
}

export const createEffectTable = (db: Queryable) =>
  db.query(`CREATE TABLE IF NOT EXISTS queue_test_effect (queue text NOT NULL, outbox_id bigint NOT NULL, n integer NOT NULL, attempt integer NOT NULL)`);

/** A module whose database is known only once the test server runs (hence the getter). */
export function recordingModule(name: string, db: () => Database, options: RecordingOptions = {}): RecordingModule {
  const { before, after, ...settings } = options;
  const deliveries: Delivery[] = [];
  return {
    name,
    ...settings,
    deliveries,
    async process(job) {
      const delivery: Delivery = { outboxId: job.outboxId, attempt: job.attempt, ran: false };
      deliveries.push(delivery);
      delivery.ran = await processOnce(db(), { queue: name, outboxId: job.outboxId }, async (tx) => {
        await before?.(job);
        await tx.query(`INSERT INTO queue_test_effect (queue, outbox_id, n, attempt) VALUES ($1, $2, $3, $4)`, [name, job.outboxId, job.payload.n, job.attempt]);
      });
      await after?.(job);
    },
  };
}

export async function effects(db: Queryable, queue: string): Promise<{ outbox_id: number; n: number; attempt: number }[]> {
  return db.query(`SELECT outbox_id, n, attempt FROM queue_test_effect WHERE queue = $1 ORDER BY outbox_id`, [queue]);
}

/** Enqueues `count` messages, each in its own committed transaction; returns their outbox ids. */
export async function enqueueCommitted(db: Database, queue: string, count: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + count; n++) ids.push((await db.transaction((tx) => enqueue(tx, { queue, payload: { n } })))!);
  return ids;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
