// A worker that dies mid-job: its job is neither lost nor processed twice. The crash is simulated in
// process: the job commits its effect, then hangs, and the worker is force-closed (its lock is no
// longer renewed, exactly as when the process dies). Another worker's stalled-job check takes the
// job back; the idempotency record (processOnce) makes the redelivery skip the committed effect.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/queue/module-queue.ts';
import { createRedisClient } from '../../src/queue/redis-client.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { createEffectTable, effects, enqueueCommitted, recordingModule, sleep, waitFor } from './queue-fixtures.ts';

let server: TestServer;
let crashed: () => void;
const hung = new Promise<void>((resolve) => (crashed = resolve));
let release: (error: Error) => void;
let crashNext = true;
const module = recordingModule('crashy', () => server.db, {
  stalledAfterMs: 500,
  async after() {
    if (!crashNext) return;
    crashNext = false;
    crashed();
    // The "dead" worker: never finishes on its own (released with an error once the test is over).
    await new Promise<void>((_resolve, reject) => (release = reject));
  },
});
let connection: Redis | undefined;

beforeAll(async () => {
  server = await startTestServer({}, { queues: { modules: [module], dispatchIntervalMs: 50 } });
  await createEffectTable(server.db);
});

afterAll(async () => {
  release?.(new Error('test over'));
  await server?.close();
  connection?.disconnect();
});

describe('a worker crash mid-job', () => {
  it('redelivers the job to another worker, which completes it without repeating the effect', async () => {
    const [id] = await enqueueCommitted(server.db, 'crashy', 1);
    await hung;
    expect(await effects(server.db, 'crashy')).toHaveLength(1);
    const { queue, worker } = server.queues!.queues.find(({ name }) => name === 'crashy')!;
    expect(await queue.getJobCounts('active')).toEqual({ active: 1 });
    await worker.close(true); // the process "dies": no more lock renewals, no completion

    connection = createRedisClient({ url: server.config.redisUrl! }, 'worker');
    const replacement = startWorker(module, connection, server.config.queuePrefix, pino({ level: 'silent' }));
    try {
      await waitFor('the job completed by the new worker', async () => (await queue.getJobCounts('completed')).completed === 1, 20_000);
      await sleep(200);
      expect(module.deliveries).toEqual([
        { outboxId: id, attempt: 1, ran: true },
        { outboxId: id, attempt: 1, ran: false }, // redelivered (a stall is not a failed attempt) and skipped
      ]);
      expect(await effects(server.db, 'crashy')).toEqual([{ outbox_id: Number(id), n: 0, attempt: 1 }]);
      const job = await queue.getJob(`outbox-${id}`);
      expect(job!.stalledCounter).toBe(1);
    } finally {
      await replacement.close();
    }
  });
});
