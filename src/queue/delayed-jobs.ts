// Delayed jobs through the outbox (SLA timers, CBO polls, monthly reports). The dispatcher
// (src/queue/dispatcher.ts) adds each outbox row to its BullMQ queue with only the job id; for the
// queues named here, a payload's `notBefore` (ms on the caller's clock) becomes BullMQ's `delay` on that add. The job then waits in Redis's
// delayed set (persisted by its AOF, so it survives restarts of the server and of Redis), and the outbox
// row is dispatched once as for any message. The modules also check `notBefore` when a job runs, so a job
// that arrives early (a clock set back, a hand retry from the dashboard) waits again instead of acting.
//
// The wrapper is installed right after the queues are opened and before the dispatcher's first add
// (QueueService.start dispatches asynchronously; src/server.ts installs it in the same tick).
import type { JobsOptions, Queue } from 'bullmq';
import type { ModuleQueue } from './module-queue.ts';

/** A delayed job that ran early: thrown so that it is retried (with backoff) until it is due. */
export class NotDueError extends Error {
  override name = 'NotDueError';
}

/** Throws NotDueError unless `now` has reached `notBefore` (within a second of clock tolerance). */
export function assertDue(notBefore: number, now: number): void {
  if (now < notBefore - 1_000) throw new NotDueError(`due at ${new Date(notBefore).toISOString()}`);
}

/** The BullMQ delay for a payload: until its `notBefore`, none when it has none or it is past. */
export function delayFor(payload: unknown, now: number): number {
  const notBefore = (payload as { notBefore?: unknown } | null)?.notBefore;
  return typeof notBefore === 'number' && Number.isFinite(notBefore) ? Math.max(0, Math.round(notBefore - now)) : 0;
}

/** Makes the named queues honour `notBefore` in their jobs' payloads, read against the clock `now`. */
export function honourNotBefore(queues: readonly ModuleQueue[], names: readonly string[], now: () => number): void {
  for (const { name, queue } of queues) {
    if (!names.includes(name)) continue;
    const add = queue.add.bind(queue) as (jobName: string, data: unknown, opts?: JobsOptions) => ReturnType<Queue['add']>;
    const delayed = (jobName: string, data: unknown, opts?: JobsOptions) => {
      const delay = delayFor(data, now());
      return add(jobName, data, delay > 0 ? { ...opts, delay } : opts);
    };
    (queue as { add: typeof delayed }).add = delayed;
  }
}
