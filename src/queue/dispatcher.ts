// Moves outbox rows to their BullMQ queues, exactly once per row, however many server processes run
// a dispatcher. Each batch is one database transaction: rows are locked FOR UPDATE SKIP LOCKED (so
// concurrent dispatchers take disjoint rows), added with job id `outbox-<id>`, then stamped
// dispatched in the same transaction. A crash between the add and the commit leaves the row pending;
// the next add of the same job id is ignored by BullMQ, so the job still exists once.
//
// Runs on start (rows a crash left behind), every `intervalMs`, and on nudge() after a commit.
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Database } from '../store/database.ts';
import { jobIdOf } from './outbox.ts';
import { OUTBOX_RETENTION_DAYS, pruneOutbox } from './outbox-retention.ts';

const PRUNE_EVERY_MS = 60 * 60_000;

export interface DispatcherOptions {
  /** The queues rows may go to, by name; rows for other queues wait until a module registers them. */
  queues: ReadonlyMap<string, Queue>;
  /** False while Redis is unreachable: the dispatcher then does not lock rows just to fail. */
  redisReady: () => boolean;
  logger: Logger;
  intervalMs?: number;
  batchSize?: number;
  /** Longest wait for one add before the batch gives up (the row stays pending). */
  addTimeoutMs?: number;
}

export class RedisNotReadyError extends Error {
  override name = 'RedisNotReadyError';
}

interface PendingRow {
  id: number | string;
  queue: string;
  payload: unknown;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class OutboxDispatcher {
  readonly #db: Database;
  readonly #queues: ReadonlyMap<string, Queue>;
  readonly #redisReady: () => boolean;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #addTimeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #failing = false;

  constructor(db: Database, options: DispatcherOptions) {
    this.#db = db;
    this.#queues = options.queues;
    this.#redisReady = options.redisReady;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 200;
    this.#batchSize = options.batchSize ?? 100;
    this.#addTimeoutMs = options.addTimeoutMs ?? 5_000;
  }

  start(): void {
    this.#timer = setInterval(() => this.nudge(), this.#intervalMs);
    this.#timer.unref();
    this.#pruneTimer = setInterval(() => void this.#prune(), PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
    this.nudge();
  }

  /** Drops what the retention period no longer needs (outbox-retention.ts); a failure waits for the next hour. */
  async #prune(): Promise<void> {
    try {
      await pruneOutbox(this.#db, new Date(Date.now() - OUTBOX_RETENTION_DAYS * 86_400_000));
    } catch (error) {
      this.#logger.warn({ error: { name: (error as Error)?.name, code: (error as { code?: string })?.code } }, 'outbox pruning failed');
    }
  }

  /** Dispatch now (e.g. right after a commit that enqueued); coalesces with a run in progress. */
  nudge(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.nudge();
      }
    });
  }

  /** Stops the timer and waits for a batch in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#pruneTimer);
    await this.#running;
  }

  /** Batches until the outbox is drained or dispatch fails; never throws. */
  async #drain(): Promise<void> {
    try {
      while (!this.#stopped && (await this.dispatchBatch()) === this.#batchSize);
      if (this.#failing) this.#logger.info('outbox dispatch recovered');
      this.#failing = false;
    } catch (error) {
      // Logged once per outage; the rows wait in the outbox and the next run tries again.
      // The error's class and code only: database errors can quote row values.
      if (!this.#failing) this.#logger.warn({ error: { name: (error as Error)?.name, code: (error as { code?: string })?.code } }, 'outbox dispatch failed; will retry');
      this.#failing = true;
    }
  }

  /**
   * Dispatches one batch; returns how many rows it marked dispatched. Throws when Redis is away or an
   * add fails (the rows not added stay pending; those added before the failure are marked).
   */
  async dispatchBatch(): Promise<number> {
    if (this.#queues.size === 0) return 0;
    if (!this.#redisReady()) throw new RedisNotReadyError('Redis is not connected');
    let failure: unknown;
    const dispatched = await this.#db.transaction(async (tx) => {
      const rows = await tx.query<PendingRow>(
        `SELECT id, queue, payload FROM outbox WHERE dispatched_at IS NULL AND queue = ANY($1::text[])
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [[...this.#queues.keys()], this.#batchSize],
      );
      const added: string[] = [];
      for (const row of rows) {
        try {
          // In id order, one at a time: a queue receives its messages in the order they were written.
          await withTimeout(this.#queues.get(row.queue)!.add(row.queue, row.payload, { jobId: jobIdOf(row.id) }), this.#addTimeoutMs);
          added.push(String(row.id));
        } catch (error) {
          failure = error;
          await tx.query(`UPDATE outbox SET attempts = attempts + 1 WHERE id = $1`, [row.id]);
          break;
        }
      }
      if (added.length) await tx.query(`UPDATE outbox SET dispatched_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`, [added]);
      return added.length;
    });
    if (failure) throw failure;
    return dispatched;
  }
}
