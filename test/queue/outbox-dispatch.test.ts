// The transactional outbox and its dispatcher against a real database and a real Redis: a rolled-
// back change sends nothing, a committed one exactly one job, and repeated or concurrent dispatch
// (or a crash between the add and the commit) never makes a second job for a row.
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxDispatcher } from '../../src/queue/dispatcher.ts';
import { enqueue, jobIdOf } from '../../src/queue/outbox.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { createEffectTable, effects, enqueueCommitted, recordingModule, sleep, waitFor } from './queue-fixtures.ts';

let server: TestServer;
// The server's own dispatcher runs at start and then only when nudged, so each test decides when rows move.
const auto = recordingModule('outbox-auto', () => server.db);
const manual = recordingModule('outbox-manual', () => server.db);
let manualQueue: Queue;

const pending = async (queue: string) =>
  Number((await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE queue = $1 AND dispatched_at IS NULL`, [queue]))[0].n);

/** Jobs BullMQ holds for a queue, in any state. */
async function jobCount(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

beforeAll(async () => {
  server = await startTestServer({}, { queues: { modules: [auto, manual], dispatchIntervalMs: 3_600_000 } });
  await createEffectTable(server.db);
  manualQueue = server.queues!.queues.find(({ name }) => name === 'outbox-manual')!.queue;
});

afterAll(async () => {
  await server?.close();
});

/** A dispatcher of its own over the server's queues (another server process would have one). */
function dispatcherFor(queues: Record<string, Queue>, batchSize = 100) {
  return new OutboxDispatcher(server.db, { queues: new Map(Object.entries(queues)), redisReady: () => true, logger: pino({ level: 'silent' }), batchSize });
}

describe('outbox → BullMQ', () => {
  it('sends nothing for a change that rolls back', async () => {
    const autoQueue = server.queues!.queues.find(({ name }) => name === 'outbox-auto')!.queue;
    await expect(
      server.db.transaction(async (tx) => {
        await enqueue(tx, { queue: 'outbox-auto', payload: { n: -1 } });
        throw new Error('the change fails');
      }),
    ).rejects.toThrow('the change fails');
    server.queues!.nudge();
    await sleep(500);
    expect(await server.db.query(`SELECT id FROM outbox WHERE queue = 'outbox-auto'`)).toEqual([]);
    expect(await jobCount(autoQueue)).toBe(0);
    expect(auto.deliveries).toEqual([]);
  });

  it('processes a committed message exactly once, written with the change in one transaction', async () => {
    const outboxId = await server.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO queue_test_effect (queue, outbox_id, n, attempt) VALUES ('the-change', 0, 0, 0)`);
      return enqueue(tx, { queue: 'outbox-auto', payload: { n: 1 } });
    });
    expect(outboxId).toMatch(/^\d+$/);
    server.queues!.nudge();
    await waitFor('the effect', async () => (await effects(server.db, 'outbox-auto')).length === 1);
    await sleep(300); // room for a duplicate to show up
    expect(await effects(server.db, 'outbox-auto')).toEqual([{ outbox_id: Number(outboxId), n: 1, attempt: 1 }]);
    expect(auto.deliveries).toEqual([{ outboxId, attempt: 1, ran: true }]);
    const [row] = await server.db.query<{ dispatched_at: string | null; attempts: number }>(`SELECT dispatched_at, attempts FROM outbox WHERE id = $1`, [outboxId!]);
    expect(row.dispatched_at).not.toBeNull();
    expect(row.attempts).toBe(1);
  });

  it('ignores a second message with the same dedupe key', async () => {
    const first = await server.db.transaction((tx) => enqueue(tx, { queue: 'outbox-manual', payload: { n: 0 }, dedupeKey: 'same-event' }));
    const second = await server.db.transaction((tx) => enqueue(tx, { queue: 'outbox-manual', payload: { n: 0 }, dedupeKey: 'same-event' }));
    expect(first).toMatch(/^\d+$/);
    expect(second).toBeUndefined();
    expect(await pending('outbox-manual')).toBe(1);
    await server.db.query(`DELETE FROM outbox WHERE id = $1`, [first!]);
  });

  it('never makes a second job for a row: dispatch run twice, or two dispatchers at once', async () => {
    const ids = await enqueueCommitted(server.db, 'outbox-manual', 30, 100);
    const a = dispatcherFor({ 'outbox-manual': manualQueue }, 7);
    const b = dispatcherFor({ 'outbox-manual': manualQueue }, 7);
    // Two processes' dispatchers racing over the same rows (on PostgreSQL, two connections and SKIP LOCKED).
    const drain = async (dispatcher: OutboxDispatcher) => {
      let total = 0;
      for (let batch = await dispatcher.dispatchBatch(); batch > 0; batch = await dispatcher.dispatchBatch()) total += batch;
      return total;
    };
    const [byA, byB] = await Promise.all([drain(a), drain(b)]);
    expect(byA + byB).toBe(30);
    // Run again: nothing is left to dispatch.
    expect(await a.dispatchBatch()).toBe(0);
    expect(await b.dispatchBatch()).toBe(0);
    expect(await pending('outbox-manual')).toBe(0);

    await waitFor('30 effects', async () => (await effects(server.db, 'outbox-manual')).length === 30);
    await sleep(300);
    expect((await effects(server.db, 'outbox-manual')).map((row) => String(row.outbox_id))).toEqual(ids);
    expect(manual.deliveries.filter((d) => ids.includes(d.outboxId))).toHaveLength(30);
    expect(await manualQueue.getJobCounts('completed')).toEqual({ completed: 30 });
    const attempts = await server.db.query<{ attempts: number }>(`SELECT DISTINCT attempts FROM outbox WHERE queue = 'outbox-manual'`);
    expect(attempts).toEqual([{ attempts: 1 }]);
  });

  it('a crash between the add and the commit re-adds the same job id, which BullMQ ignores', async () => {
    const [id] = await enqueueCommitted(server.db, 'outbox-manual', 1, 500);
    // What a dispatcher that died before its commit leaves: the job in Redis, the row still pending.
    await manualQueue.add('outbox-manual', { n: 500 }, { jobId: jobIdOf(id) });
    expect(await pending('outbox-manual')).toBe(1);
    expect(await dispatcherFor({ 'outbox-manual': manualQueue }).dispatchBatch()).toBe(1);
    expect(await pending('outbox-manual')).toBe(0);
    await waitFor('the effect', async () => (await effects(server.db, 'outbox-manual')).some((row) => String(row.outbox_id) === id));
    await sleep(300);
    expect(manual.deliveries.filter((d) => d.outboxId === id)).toEqual([{ outboxId: id, attempt: 1, ran: true }]);
    expect(await manualQueue.getJobCounts('completed')).toEqual({ completed: 31 });
  });

  it('leaves rows of a queue no module registered in the outbox', async () => {
    await enqueueCommitted(server.db, 'nobody-listens', 2);
    server.queues!.nudge();
    await sleep(300);
    expect(await pending('nobody-listens')).toBe(2);
  });
});
