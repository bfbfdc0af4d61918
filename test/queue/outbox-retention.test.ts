// Outbox retention: dispatched rows and processed records past the retention period go; pending rows
// and recent history stay, whatever their age.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneOutbox } from '../../src/queue/outbox-retention.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrations.ts';
import { openTestDatabase } from '../helpers/test-server.ts';

let db: Database;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await migrate(db);
});
afterAll(async () => {
  await db.close();
  await drop();
});

describe('pruneOutbox', () => {
  it('deletes only dispatched rows and processed records older than the cut-off', async () => {
    await db.exec(`
      INSERT INTO outbox (id, queue, payload, created_at, dispatched_at) VALUES
        (1, 'q', '{}', now() - interval '30 days', now() - interval '30 days'),
        (2, 'q', '{}', now() - interval '30 days', NULL),
        (3, 'q', '{}', now() - interval '1 day', now() - interval '1 day');
      INSERT INTO outbox_processed (queue, outbox_id, processed_at) VALUES
        ('q', 1, now() - interval '30 days'),
        ('q', 3, now() - interval '1 day');`);
    const removed = await pruneOutbox(db, new Date(Date.now() - 7 * 86_400_000));
    expect(removed).toEqual({ outbox: 1, processed: 1 });
    const rows = await db.query<{ id: string | number }>('SELECT id FROM outbox ORDER BY id');
    expect(rows.map((row) => Number(row.id))).toEqual([2, 3]); // the pending row stays, however old
    const processed = await db.query<{ outbox_id: string | number }>('SELECT outbox_id FROM outbox_processed');
    expect(processed.map((row) => Number(row.outbox_id))).toEqual([3]);
  });
});
