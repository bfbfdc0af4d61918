// Delayed jobs through the outbox. The dispatcher (src/queue/dispatcher.ts) adds each outbox row to its
// BullMQ queue with only the job id; for the queues listed here, a payload's `notBefore` (ms on the
// referral clock, sla-timers.ts) becomes BullMQ's `delay` on that add. The job then waits in Redis's
// delayed set (persisted by its AOF, so it survives restarts of the server and of Redis), and the outbox
// row is dispatched once as for any message. The modules also check `notBefore` when a job runs, so a job
// that arrives early (a clock set back, a hand retry from the dashboard) waits again instead of acting.
//
// The wrapper is installed right after the queues are opened and before the dispatcher's first add
// (QueueService.start dispatches asynchronously; src/server.ts installs it in the same tick).
import type { JobsOptions, Queue } from 'bullmq';
import type { ModuleQueue } from '../queue/module-queue.ts';
import { CBO_POLL_QUEUE } from './cbo-push.ts';
import { referralNow, SLA_QUEUE } from './sla-timers.ts';

/** The queues whose payloads may carry `notBefore`. */
export const DELAYED_QUEUES: readonly string[] = [SLA_QUEUE, CBO_POLL_QUEUE];

/** The BullMQ delay for a payload: until its `notBefore`, none when it has none or it is past. */
export function delayFor(payload: unknown, now: number): number {
  const notBefore = (payload as { notBefore?: unknown } | null)?.notBefore;
  return typeof notBefore === 'number' && Number.isFinite(notBefore) ? Math.max(0, Math.round(notBefore - now)) : 0;
}

/** Makes the named queues honour `notBefore` in their jobs' payloads. */
export function honourNotBefore(queues: readonly ModuleQueue[], names: readonly string[] = DELAYED_QUEUES, now: () => number = referralNow): void {
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
