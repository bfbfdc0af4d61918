// Restart survival and expiry. A server dies in the middle of an export (its export worker stops
// renewing the job's lock, as when the process is killed; the run itself is frozen after its first
// page), a new server starts on the same database and Redis prefix, takes the stalled job over and
// completes it in a fresh run; the frozen run, when it wakes up, finds it was superseded and stops
// without touching the new files. The files then expire (BULK_EXPORT_TTL_SECONDS) and are removed.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { exportRunObserver } from '../../../src/measures/bulk-export/export-runner.ts';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { migrate } from '../../../src/store/migrations.ts';
import type { Database } from '../../../src/store/database.ts';
import { clientToken } from '../../helpers/client-token.ts';
import { openTestDatabase } from '../../helpers/test-server.ts';
import { download, exportFixture, fetchWith, manifestOf, sleep, tempDataDir, waitFor } from './export-fixture.ts';

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `t${randomBytes(6).toString('hex')}`;
let db: Database;
let drop: () => Promise<void>;
let dataDir: string;
const servers: RunningServer[] = [];
let wake: () => void = () => undefined;

const config = () =>
  loadConfig({
    PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, DATA_DIR: dataDir,
    BULK_EXPORT_PAGE_SIZE: '2', BULK_EXPORT_LOCK_MS: '1000', BULK_EXPORT_TTL_SECONDS: '4',
  });
const start = async () => {
  const server = await startServer(config(), { db, logger: pino({ level: 'silent' }), queues: { dispatchIntervalMs: 50 } });
  servers.push(server);
  return server;
};

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await migrate(db);
  dataDir = tempDataDir();
}, 60_000);

afterAll(async () => {
  exportRunObserver.afterPage = undefined;
  wake();
  for (const server of servers) await server.close().catch(() => undefined);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.unlink(...keys);
  redis.disconnect();
  await db?.close();
  await drop?.();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('an export whose server dies mid-way', () => {
  it('is completed by the next server in a fresh run, and its files expire', async () => {
    const first = await start();
    const token = await clientToken(first.url, db, 'hub-admin');
    const load = await fetch(`${first.url}/fhir`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: exportFixture() }),
    });
    expect(load.status).toBe(200);

    // The first run freezes after its first page; any later run goes through.
    let frozenRun: string | undefined;
    const asleep = new Promise<void>((resolve) => (wake = resolve));
    exportRunObserver.afterPage = async ({ runId }) => {
      if (frozenRun && frozenRun !== runId) return;
      frozenRun = runId;
      await asleep;
    };
    const kickOff = await fetch(`${first.url}/fhir/$export?_type=Patient,Observation,Coverage`, { headers: { authorization: `Bearer ${token}`, prefer: 'respond-async' } });
    expect(kickOff.status).toBe(202);
    const jobId = kickOff.headers.get('content-location')!.split('/').pop()!;
    await waitFor('the first run to write a page', () => frozenRun !== undefined);
    const jobDir = path.join(dataDir, 'bulk-export', jobId);
    expect(fs.readdirSync(jobDir)).toEqual([frozenRun]);

    // The process "dies": its export worker stops at once (no more lock renewals), then the rest shuts down.
    await first.queues!.queues.find(({ name }) => name === 'bulk-export')!.worker.close(true);
    await first.close();

    const second = await start();
    const statusUrl = `${second.url}/bulk-data/export/${jobId}`;
    // (the file URLs carry the first server's address, the base its client called; BASE_URL fixes it in production)
    const onSecond = (found: Awaited<ReturnType<typeof manifestOf>>) => ({ ...found, output: found.output.map((file) => ({ ...file, url: file.url.replace(first.url, second.url) })) });
    const manifest = onSecond(await manifestOf(statusUrl, token));
    expect(manifest.output.map((file) => [file.type, file.count]).sort()).toEqual([['Coverage', 4], ['Observation', 8], ['Patient', 4]]);
    const files = await download(manifest, token);
    const observations = files.get('Observation')!.map((resource) => resource.id);
    expect(new Set(observations).size).toBe(8); // no line twice
    const runs = fs.readdirSync(jobDir);
    expect(runs).toHaveLength(1);
    expect(runs[0]).not.toBe(frozenRun); // written by the second run only

    // The frozen run wakes: it was superseded, stops, and leaves the new files alone.
    wake();
    await sleep(300);
    expect(fs.readdirSync(jobDir)).toEqual(runs);
    const again = await download(onSecond(await manifestOf(statusUrl, token)), token);
    expect(again.get('Patient')!.length).toBe(4);

    // Expiry: after BULK_EXPORT_TTL_SECONDS the status and files are unknown and the files are gone.
    await sleep(4_200);
    expect((await fetchWith(manifest.output[0].url, token)).status).toBe(404);
    expect((await fetchWith(statusUrl, token)).status).toBe(404);
    expect(fs.existsSync(jobDir)).toBe(false);
  }, 60_000);
});
