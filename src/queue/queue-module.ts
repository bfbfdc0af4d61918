// A queue module: the one thing a feature writes to get work done after a commit. The server gives
// each registered module its own BullMQ Queue and Worker (src/queue/module-queue.ts); messages reach
// it only through the outbox (src/queue/outbox.ts), so every job is keyed by its outbox row.

export interface QueueJob<T> {
  /** The outbox row id: stable across retries and redeliveries, the key for idempotency (src/queue/processed-once.ts). */
  outboxId: string;
  payload: T;
  /** 1 on the first try, 2 on the first retry… (a job redelivered after a worker crash keeps its number). */
  attempt: number;
}

export interface QueueModule<T> {
  /** The queue's name, also the `queue` of its outbox rows: lowercase letters, digits and '-'. */
  name: string;
  /**
   * Does the work; throwing schedules a retry (exponential backoff) until `attempts` are used up,
   * then the job stays in BullMQ's failed set: the dead letters hub-admin sees at /admin/queues.
   * A job can run more than once (a worker that dies mid-job is redelivered), so make it idempotent
   * on `outboxId`.
   */
  process(job: QueueJob<T>): Promise<void>;
  /** Tries before a job is dead-lettered (default 5). */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one (default 1000 ms). */
  backoffMs?: number;
  /** Jobs processed at once by this process (default 1). */
  concurrency?: number;
  /**
   * How long a job may go without its worker's heartbeat before another worker takes it over
   * (default 30 s). The heartbeat runs while the job runs, so this bounds recovery after a crash,
   * not the job's duration.
   */
  stalledAfterMs?: number;
}

export const QUEUE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A module's settings with the defaults filled in. */
export function moduleSettings(module: QueueModule<unknown>): Required<Omit<QueueModule<unknown>, 'name' | 'process'>> {
  return {
    attempts: module.attempts ?? 5,
    backoffMs: module.backoffMs ?? 1000,
    concurrency: module.concurrency ?? 1,
    stalledAfterMs: module.stalledAfterMs ?? 30_000,
  };
}
