// Idempotency for queue modules, keyed by outbox id: the table outbox_processed (migration
// 008-outbox) records a processed message in the same database transaction as the module's own
// database effects. A redelivered job (after a retry that raced, or a worker that died after
// committing) finds the record and skips; a job whose transaction rolled back left no record and
// runs again. Concurrent deliveries serialize on the primary key, so the work commits once.
//
// Effects outside the database (an HTTP push) cannot join the transaction: put them inside `work`
// so a failure rolls the record back, and give the receiver the outbox id to de-duplicate the rare
// repeat (a crash between its success and our commit).
import type { Database, Queryable } from '../store/database.ts';

/** Runs `work` unless this message was already processed; returns whether it ran. */
export async function processOnce(
  db: Database,
  message: { queue: string; outboxId: string },
  work: (tx: Queryable) => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await claimMessage(tx, message))) return false;
    await work(tx);
    return true;
  });
}

/**
 * Records `message` as processed with `q`, the transaction of the caller's effects; false when an
 * earlier delivery already did (then the caller does nothing). For modules that run their own transaction.
 */
export async function claimMessage(q: Queryable, message: { queue: string; outboxId: string }): Promise<boolean> {
  const claimed = await q.query(
    `INSERT INTO outbox_processed (queue, outbox_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING outbox_id`,
    [message.queue, message.outboxId],
  );
  return claimed.length > 0;
}

/** Whether a message is recorded as processed (diagnostics and tests). */
export async function wasProcessed(q: Queryable, message: { queue: string; outboxId: string }): Promise<boolean> {
  const rows = await q.query(`SELECT 1 FROM outbox_processed WHERE queue = $1 AND outbox_id = $2`, [message.queue, message.outboxId]);
  return rows.length > 0;
}
