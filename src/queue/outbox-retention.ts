// What the outbox keeps: a dispatched row has done its work once its job is in BullMQ, and an
// idempotency record once no delivery of its message can come any more (redeliveries follow a crash
// within seconds). Both are deleted after a retention period, so the tables do not grow forever.
import type { Queryable } from '../store/database.ts';

/** Long enough to look into what was sent last week; far beyond any redelivery. */
export const OUTBOX_RETENTION_DAYS = 7;

/** Deletes dispatched rows and processed records older than `olderThan`; returns how many of each. */
export async function pruneOutbox(q: Queryable, olderThan: Date): Promise<{ outbox: number; processed: number }> {
  const outbox = await q.query('DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < $1 RETURNING id', [olderThan.toISOString()]);
  const processed = await q.query('DELETE FROM outbox_processed WHERE processed_at < $1 RETURNING outbox_id', [olderThan.toISOString()]);
  return { outbox: outbox.length, processed: processed.length };
}
