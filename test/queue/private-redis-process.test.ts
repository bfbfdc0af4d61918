// `npm start` without REDIS_URL: the server process runs a private redis-server (unix socket, AOF
// in DATA_DIR/redis), reports it in /readyz, and stops it on SIGTERM, or when it dies itself. Without
// REDIS_URL and without redis-server on PATH it exits 2 saying how to provide Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './queue-fixtures.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dataDir: string;
const children = new Set<ChildProcess>();

interface Exited {
  code: number | null;
  stderr: string;
  stdout: string;
}

function startMain(extra: Record<string, string>): { child: ChildProcess; exited: Promise<Exited> } {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra };
  for (const name of ['DATABASE_URL', 'TEST_DB', 'REDIS_URL', 'BASE_URL', 'NODE_OPTIONS']) delete env[name];
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exited>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, exited };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function startReady(): Promise<{ child: ChildProcess; exited: Promise<Exited>; url: string }> {
  const port = await freePort();
  const run = startMain({ PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  let early: Exited | undefined;
  void run.exited.then((result) => (early = result));
  await waitFor('/readyz', async () => {
    if (early) throw new Error(`server exited (code ${early.code}): ${early.stderr}${early.stdout}`);
    return fetch(`${url}/readyz`).then((res) => res.status === 200, () => false);
  }, 60_000);
  return { ...run, url };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const redisPid = () => Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8').trim());

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-private-redis-'));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await sleep(200);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start without REDIS_URL', () => {
  it('starts a private redis-server on a private socket and stops it on SIGTERM', async () => {
    const server = await startReady();
    const pid = redisPid();
    expect(alive(pid)).toBe(true);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('redis-server');
    const socket = fs.statSync(path.join(dataDir, 'redis', 'redis.sock'));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o077).toBe(0); // nobody but our user
    expect(fs.existsSync(path.join(dataDir, 'redis', 'appendonlydir'))).toBe(true);

    server.child.kill('SIGTERM');
    const result = await server.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'redis', 'owner.pid'))).toBe(false);
    const logs = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string });
    expect(logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['private redis-server started', 'private redis-server stopped']));
  }, 90_000);

  it('reports an unreachable Redis in /readyz, and still shuts down cleanly', async () => {
    const server = await startReady();
    process.kill(redisPid(), 'SIGKILL');
    await waitFor('/readyz 503', async () => (await fetch(`${server.url}/readyz`)).status === 503);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'redis unreachable' });
    const started = Date.now();
    server.child.kill('SIGTERM');
    const result = await server.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 90_000);

  it('stops the private redis-server when the server process is killed', async () => {
    const server = await startReady();
    const pid = redisPid();
    server.child.kill('SIGKILL');
    await server.exited;
    await waitFor('redis-server to stop', () => !alive(pid), 10_000);
    // The next start takes over the DATA_DIR and its Redis data.
    const next = await startReady();
    expect(alive(redisPid())).toBe(true);
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  }, 90_000);
});

describe('without REDIS_URL and without redis-server', () => {
  it('exits 2 with a message saying how to provide Redis, before opening the database', async () => {
    const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-no-redis-'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-no-redis-data-'));
    try {
      const run = startMain({ PORT: String(await freePort()), PATH: emptyBin, DATA_DIR: dir });
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
      const result = await run.exited;
      clearTimeout(timer);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('REDIS_URL');
      expect(result.stderr).toContain('install redis-server');
      expect(fs.existsSync(path.join(dir, 'pglite'))).toBe(false);
    } finally {
      fs.rmSync(emptyBin, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
