// Heartbeats are delayed queue jobs in Redis, each scheduling the next: they go on after the
// server restarts (same database, same Redis and QUEUE_PREFIX).
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { migrate } from '../../src/store/migrations.ts';
import { clientToken } from '../helpers/client-token.ts';
import { openTestDatabase } from '../helpers/test-server.ts';
import { sleep, startReceiver, subscription, waitFor, type Receiver } from './subscription-helpers.ts';
import { deleteQueueKeys } from '../../src/queue/queue-keys.ts';

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `t${randomBytes(6).toString('hex')}`;
let receiver: Receiver | undefined;
let running: RunningServer | undefined;
let cleanup: (() => Promise<void>) | undefined;

afterAll(async () => {
  await running?.close();
  await receiver?.close();
  await deleteQueueKeys(redisUrl, prefix);
  await cleanup?.();
});

it('keeps sending heartbeats after a restart', async () => {
  receiver = await startReceiver();
  const { db, drop } = await openTestDatabase();
  cleanup = async () => {
    await db.close();
    await drop();
  };
  await migrate(db);
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, ALLOW_HTTP_ENDPOINTS: 'true' });
  const start = () => startServer(config, { db, logger: pino({ level: 'silent' }), queues: { dispatchIntervalMs: 50 } });
  running = await start();
  const token = await clientToken(running.url, db, 'hub-admin');
  const created = await fetch(`${running.url}/fhir/Subscription`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(subscription({ endpoint: `${receiver.url}/beat`, filters: ['Task?owner=Organization/nobody'], heartbeatSeconds: 1 })),
  });
  expect(created.status).toBe(201);
  const beats = () => receiver!.accepted('/beat', 'heartbeat').length;
  await waitFor('a heartbeat', () => (beats() >= 1 ? true : undefined), 10_000);

  await running.close();
  running = undefined;
  await sleep(300);
  const whileDown = beats();
  await sleep(1_500);
  expect(beats()).toBe(whileDown);

  running = await start();
  await waitFor('heartbeats after the restart', () => (beats() >= whileDown + 2 ? true : undefined), 10_000);
}, 40_000);
