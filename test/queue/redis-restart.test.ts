// Redis crashes while changes keep committing: their messages wait in the outbox (nothing is
// lost, nothing half-dispatched), and once Redis is back every message is dispatched and processed
// exactly once. The Redis is a private redis-server this test starts, kills and restarts on the same
// data directory (AOF), as the server does without REDIS_URL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable, PrivateRedisServer } from '../../src/queue/private-redis-server.ts';
import { QueueService } from '../../src/queue/queue-service.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrations.ts';
import { openTestDatabase } from '../helpers/test-server.ts';
import { createEffectTable, effects, enqueueCommitted, recordingModule, sleep, waitFor } from './queue-fixtures.ts';

// The test needs the redis-server binary (the machine has it; CI runs here): fail loudly without it.
const binary = findExecutable('redis-server', process.env.PATH) ?? 'redis-server';
let dir: string;
let redis: PrivateRedisServer | undefined;
let db: Database;
let drop: () => Promise<void>;
let service: QueueService | undefined;
// A job Redis moved to active just before the crash, whose reply never reached the worker, waits
// for its lock to expire and the stalled-job check to hand it out again: keep that short here.
const module = recordingModule('restart', () => db, { backoffMs: 50, stalledAfterMs: 1_000 });

const pending = async () =>
  Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE dispatched_at IS NULL`))[0].n);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-redis-restart-'));
  ({ db, drop } = await openTestDatabase());
  await migrate(db);
  await createEffectTable(db);
});

afterAll(async () => {
  await service?.close();
  await redis?.stop();
  await db?.close();
  await drop?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a Redis restart during dispatch', () => {
  it('keeps messages in the outbox until Redis is back, then dispatches each exactly once', async () => {
    redis = await PrivateRedisServer.start({ binary, dir });
    service = QueueService.start({ db, redis: { path: redis.socketPath }, prefix: 'restart-test', modules: [module], logger: pino({ level: 'silent' }), dispatchIntervalMs: 50 });

    // Changes commit steadily throughout: before, during and after the outage.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await enqueueCommitted(db, 'restart', 1, written++);
        await sleep(15);
      }
    })();

    await waitFor('messages processed before the outage', async () => (await effects(db, 'restart')).length >= 10);
    // A crash, not a clean shutdown: acknowledged jobs must already be in the AOF (fsync always).
    process.kill(Number(fs.readFileSync(path.join(dir, 'redis.pid'), 'utf8')), 'SIGKILL');
    await redis.stop(); // reaps the watchdog
    await expect(service.ping()).rejects.toThrow();

    // Redis is down: messages written now stay pending, each row whole, none marked dispatched.
    const writtenAtStop = written;
    await waitFor('messages written during the outage', () => written >= writtenAtStop + 20);
    await sleep(300);
    expect(await pending()).toBeGreaterThanOrEqual(20);
    const stuck = await db.query<{ id: number }>(`SELECT id FROM outbox WHERE dispatched_at IS NULL ORDER BY id`);

    redis = await PrivateRedisServer.start({ binary, dir });
    await waitFor('Redis reachable again', () => service!.ping().then(() => true, () => false));
    await sleep(200);
    writing = false;
    await writer;

    await waitFor('every message processed', async () => (await effects(db, 'restart')).length === written, 30_000).catch(async (error: Error) => {
      // What is missing, for a failure report: the job counts and the state of the rows not processed.
      const counts = await service!.queues[0].queue.getJobCounts();
      throw new Error(`${error.message}: written ${written}, processed ${(await effects(db, 'restart')).length}, pending ${await pending()}, jobs ${JSON.stringify(counts)}`);
    });
    await sleep(300);
    expect(await pending()).toBe(0);
    const done = await effects(db, 'restart');
    expect(done.map((row) => row.n)).toEqual([...Array(written).keys()]);
    expect(new Set(done.map((row) => row.outbox_id)).size).toBe(written);
    for (const { id } of stuck) expect(done.some((row) => row.outbox_id === Number(id))).toBe(true);
    // Each message's work ran once (a job caught mid-run by the crash may be delivered again, and skip).
    const ran = module.deliveries.filter((d) => d.ran).map((d) => d.outboxId);
    expect(new Set(ran).size).toBe(written);
    expect(ran).toHaveLength(written);
    const queue = service.queues[0].queue;
    expect((await queue.getJobCounts('completed')).completed).toBe(written); // the AOF kept the jobs of before the outage
  }, 60_000);
});
