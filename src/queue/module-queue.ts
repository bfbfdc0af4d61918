// One BullMQ Queue and Worker per QueueModule: `{ name, queue, worker }`. Jobs retry with
// exponential backoff; a job that used up its attempts stays in the failed set (the dead letters),
// where hub-admin sees it and may retry it from /admin/queues.
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { outboxIdOf } from './outbox.ts';
import { moduleSettings, type QueueModule } from './queue-module.ts';

export interface ModuleQueue {
  name: string;
  queue: Queue;
  worker: Worker;
}

export interface ModuleQueueOptions {
  /** The producer connection, shared by every Queue (BullMQ does not close a connection it was given). */
  producer: Redis;
  /** The worker connection; each Worker duplicates it for its blocking commands. */
  workerConnection: Redis;
  prefix: string;
  logger: Logger;
}

/** Completed jobs are kept a day: a re-dispatch of the same outbox row meanwhile finds its job id and is ignored. */
const KEEP_COMPLETED = { age: 24 * 3600, count: 10_000 };

export function openQueue(module: QueueModule<unknown>, producer: Redis, prefix: string): Queue {
  const settings = moduleSettings(module);
  return new Queue(module.name, {
    connection: producer,
    prefix,
    defaultJobOptions: {
      attempts: settings.attempts,
      backoff: { type: 'exponential', delay: settings.backoffMs },
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: false, // dead letters stay until hub-admin retries or cleans them
    },
  });
}

/** Starts a Worker running `module.process` on each job of its queue. */
export function startWorker(module: QueueModule<unknown>, connection: Redis, prefix: string, logger: Logger): Worker {
  const settings = moduleSettings(module);
  const log = logger.child({ queue: module.name });
  const worker = new Worker<unknown>(
    module.name,
    async (job: Job<unknown>) => {
      const outboxId = outboxIdOf(job.id);
      // The dashboard can add jobs by hand; modules rely on outbox ids, so such jobs are refused.
      if (!outboxId) throw new UnrecoverableError('Not an outbox job: messages enter the queues through the outbox');
      await module.process({ outboxId, payload: job.data, attempt: job.attemptsMade + 1 });
    },
    {
      connection,
      prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.stalledAfterMs,
      stalledInterval: settings.stalledAfterMs,
    },
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
    // The error's class only: messages can quote resource content.
    const entry = { jobId: job.id, attempt: job.attemptsMade, error: { name: error.name } };
    if (final) log.error(entry, 'job failed for good: dead-lettered');
    else log.warn(entry, 'job failed; will retry');
  });
  let lastErrorLog = 0;
  worker.on('error', (error) => {
    // While Redis is away this fires on every reconnect attempt: one line per 10 s is enough.
    if (Date.now() - lastErrorLog < 10_000) return;
    lastErrorLog = Date.now();
    log.warn({ error: { name: error.name, message: error.message } }, 'queue worker error');
  });
  return worker;
}

export function openModuleQueue(module: QueueModule<unknown>, options: ModuleQueueOptions): ModuleQueue {
  return {
    name: module.name,
    queue: openQueue(module, options.producer, options.prefix),
    worker: startWorker(module, options.workerConnection, options.prefix, options.logger),
  };
}
