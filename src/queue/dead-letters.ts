// The dead letters: jobs that used up their attempts (or were refused as unrecoverable) and stay in
// BullMQ's failed set until hub-admin retries or cleans them. Listed for scripts as JSON; the
// dashboard at /admin/queues shows the same jobs with their payloads.
import { outboxIdOf } from './outbox.ts';
import type { ModuleQueue } from './module-queue.ts';

export interface DeadLetter {
  queue: string;
  jobId: string;
  outboxId: string | null;
  failedReason: string;
  attemptsMade: number;
  /** When the last attempt failed (ISO 8601). */
  failedAt: string | null;
}

/** Up to `limit` dead letters per queue, newest first. */
export async function listDeadLetters(queues: readonly ModuleQueue[], limit = 1000): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (const { name, queue } of queues) {
    for (const job of await queue.getFailed(0, limit - 1)) {
      if (!job?.id) continue; // removed while we listed
      letters.push({
        queue: name,
        jobId: job.id,
        outboxId: outboxIdOf(job.id) ?? null,
        failedReason: job.failedReason,
        attemptsMade: job.attemptsMade,
        failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      });
    }
  }
  return letters;
}
