// The transactional outbox: a change that must cause a message writes the message with the same
// Queryable, i.e. inside the change's database transaction. It exists exactly when the change
// commits; the dispatcher (src/queue/dispatcher.ts) then moves it to BullMQ.
import type { Queryable } from '../store/database.ts';
import { QUEUE_NAME } from './queue-module.ts';

export interface OutboxMessage<T> {
  /** The QueueModule name that will process it. */
  queue: string;
  /**
   * JSON data for the module. Prefer references to content: a message may wait or be retried, and
   * what is finally sent must be decided by the policy at send time.
   */
  payload: T;
  /** Enqueue at most once per key (e.g. `task-accepted:Task/123/_history/4`); a repeat is ignored. */
  dedupeKey?: string;
}

/**
 * Writes an outbox row with `q` (pass the open transaction). Returns the row id, or undefined when a
 * message with the same dedupeKey already exists.
 */
export async function enqueue<T>(q: Queryable, message: OutboxMessage<T>): Promise<string | undefined> {
  if (!QUEUE_NAME.test(message.queue)) throw new Error(`Invalid queue name "${message.queue}"`);
  const payload = JSON.stringify(message.payload);
  if (payload === undefined) throw new Error('An outbox payload must be JSON');
  const rows = await q.query<{ id: number | string }>(
    `INSERT INTO outbox (queue, payload, dedupe_key) VALUES ($1, $2::jsonb, $3) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [message.queue, payload, message.dedupeKey ?? null],
  );
  return rows.length ? String(rows[0].id) : undefined;
}

// BullMQ job ids of outbox messages. BullMQ ignores an add whose job id exists, which is what makes
// a re-dispatch after a crash harmless. (Its ids may not be plain integers nor contain ':'.)
export const jobIdOf = (outboxId: string | number) => `outbox-${outboxId}`;

export function outboxIdOf(jobId: string | undefined): string | undefined {
  const match = jobId ? /^outbox-(\d+)$/.exec(jobId) : null;
  return match ? match[1] : undefined;
}
