// The real server process on the embedded database (PGlite in a temp DATA_DIR): the admin CLI,
// start-up, the DATA_DIR lock, graceful SIGTERM shutdown, restart with data and tokens intact,
// and logs that are JSON lines with request ids and no PHI or secrets.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_IDS } from '../../src/store/migrations.ts';


const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PATIENT_FAMILY = 'Quenneville-Zarathustra';
const REQUEST_ID = 'process-test-create-1';

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface ServerProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exited>;
}

let dataDir: string;
const children = new Set<ChildProcess>();

/** The environment of spawned processes: PGlite in our DATA_DIR, never the test PostgreSQL. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra };
  delete env.DATABASE_URL;
  delete env.TEST_DB;
  delete env.BASE_URL;
  delete env.NODE_OPTIONS; // vitest's loader hooks are not for the child
  return env;
}

function startProcess(script: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<Exited> } {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exited>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs the admin CLI to completion (killed after `timeoutMs`). */
async function cli(args: string[], timeoutMs = 60_000): Promise<Exited> {
  const run = startProcess('src/cli.ts', args, childEnv());
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `node src/main.ts` on a free port and waits until /readyz answers 200. */
async function startServerProcess(timeoutMs = 60_000): Promise<ServerProcess> {
  const port = await freePort();
  const run = startProcess('src/main.ts', [], childEnv({ PORT: String(port) }));
  const url = `http://127.0.0.1:${port}`;
  let exitedEarly: Exited | undefined;
  void run.exited.then((result) => (exitedEarly = result));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`server exited during start-up (code ${exitedEarly.code}): ${exitedEarly.stderr}${exitedEarly.stdout}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return { ...run, url };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  run.child.kill('SIGKILL');
  throw new Error(`server not ready within ${timeoutMs} ms: ${run.stderr()}${run.stdout()}`);
}

/** Sends SIGTERM and waits for the exit; returns how long it took. */
async function stop(server: ServerProcess, timeoutMs = 15_000): Promise<Exited & { ms: number }> {
  const started = Date.now();
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), timeoutMs);
  try {
    const result = await server.exited;
    return { ...result, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

async function getToken(url: string, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Parses every non-empty line as JSON (fails the test on any other line). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`log line is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-process-test-'));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const deadline = Date.now() + 5_000;
  while (children.size > 0 && Date.now() < deadline) await sleep(50);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the server process on PGlite', () => {
  let client: { client_id: string; client_secret: string };
  let first: ServerProcess;
  let token: string;
  let patientId: string;
  let firstRunLogs = '';

  it('refuses invalid configuration with exit code 2 and a clear message', async () => {
    const run = startProcess('src/main.ts', [], childEnv({ PORT: 'not-a-port' }));
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
    const result = await run.exited;
    clearTimeout(timer);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PORT must be an integer');
  }, 40_000);

  it('`cli migrate` applies the migrations once and reports them', async () => {
    const result = await cli(['migrate']);
    expect(result.code, result.stderr).toBe(0);
    const applied = (JSON.parse(result.stdout.trim()) as { applied: string[] }).applied;
    expect(applied).toEqual(MIGRATION_IDS);
    expect(applied.slice(0, 2)).toEqual(['001-resources', '002-clients-and-keys']);
    const again = await cli(['migrate']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim())).toEqual({ applied: [] });
  }, 120_000);

  it('`cli client create` prints a client id and secret; bad input exits 2 with a message', async () => {
    const result = await cli(['client', 'create', '--name', 'process test', '--role', 'hub-admin', '--org', 'Organization/hub']);
    expect(result.code, result.stderr).toBe(0);
    client = JSON.parse(result.stdout.trim());
    expect(client.client_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.client_secret.length).toBeGreaterThanOrEqual(32);

    const badRole = await cli(['client', 'create', '--name', 'x', '--role', 'root', '--org', 'Organization/hub']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of');
    const badCommand = await cli(['frobnicate']);
    expect(badCommand.code).toBe(2);
    expect(badCommand.stderr).toContain('usage:');
  }, 120_000);

  it('starts, becomes ready and serves a token and a create', async () => {
    first = await startServerProcess();
    token = await getToken(first.url, client.client_id, client.client_secret);
    const created = await fetch(`${first.url}/fhir/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', 'x-request-id': REQUEST_ID },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: PATIENT_FAMILY, given: ['Ottoline'] }], birthDate: '1971-04-05' }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe(REQUEST_ID);
    patientId = ((await created.json()) as { id: string }).id;
    // A search by name puts the name in the query string, which must not be logged either.
    const search = await fetch(`${first.url}/fhir/Patient?_id=${patientId}&name=${PATIENT_FAMILY}`, { headers: { authorization: `Bearer ${token}` } });
    expect([200, 400]).toContain(search.status);
    // A rejected write quotes nothing of the body in the logs.
    const rejected = await fetch(`${first.url}/fhir/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: PATIENT_FAMILY }], unknownElement: PATIENT_FAMILY }),
    });
    expect(rejected.status).toBe(400);
  }, 120_000);

  it('holds DATA_DIR: the CLI and a second server exit 2 with a clear message while it runs', async () => {
    const result = await cli(['client', 'create', '--name', 'blocked', '--role', 'hub-admin', '--org', 'Organization/hub']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is in use by process');
    expect(result.stderr).toContain(String(first.child.pid));
    expect(result.stdout).not.toContain('client_secret');

    const migrate = await cli(['migrate']);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('is in use');

    const port = await freePort();
    const second = startProcess('src/main.ts', [], childEnv({ PORT: String(port) }));
    const timer = setTimeout(() => second.child.kill('SIGKILL'), 30_000);
    const exited = await second.exited;
    clearTimeout(timer);
    expect(exited.code).toBe(2);
    expect(exited.stderr).toContain('is in use');
    // The first server is unharmed.
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it('exits with code 0 within a few seconds of SIGTERM and releases DATA_DIR', async () => {
    const result = await stop(first);
    firstRunLogs = result.stdout;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(5_000);
    expect(result.stderr).toContain('shutting down');
    expect(fs.existsSync(path.join(dataDir, 'server.lock'))).toBe(false);
    await expect(fetch(`${first.url}/healthz`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  }, 30_000);

  it('logs JSON lines with a request id and no PHI, secret or token', () => {
    expect(firstRunLogs.length).toBeGreaterThan(0);
    const lines = jsonLines(firstRunLogs);
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(4);
    for (const line of requests) {
      expect(typeof line.reqId).toBe('string');
      expect((line.reqId as string).length).toBeGreaterThan(0);
      expect(typeof line.status).toBe('number');
    }
    const create = requests.find((line) => line.reqId === REQUEST_ID);
    expect(create).toMatchObject({ method: 'POST', path: '/fhir/Patient', status: 201, client: client.client_id });
    expect(requests.some((line) => line.path === '/fhir/Patient' && line.status === 400)).toBe(true);
    expect(lines.some((line) => line.msg === 'listening')).toBe(true);

    expect(firstRunLogs).not.toContain(PATIENT_FAMILY);
    expect(firstRunLogs).not.toContain('Ottoline');
    expect(firstRunLogs).not.toContain('1971-04-05');
    expect(firstRunLogs).not.toContain(client.client_secret);
    expect(firstRunLogs).not.toContain(token);
    // Not even a token's signature part, in case it were logged cut.
    expect(firstRunLogs).not.toContain(token.split('.')[2]);
  });

  it('restarts on the same DATA_DIR with the data and the old token still valid', async () => {
    const second = await startServerProcess();
    try {
      const read = await fetch(`${second.url}/fhir/Patient/${patientId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(read.status).toBe(200);
      const body = (await read.json()) as { name: { family: string }[]; meta: { versionId: string } };
      expect(body.name[0].family).toBe(PATIENT_FAMILY);
      expect(body.meta.versionId).toBe('1');
      // The rejected write left nothing: only the one Patient exists.
      const all = await fetch(`${second.url}/fhir/Patient/_history`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await all.json()) as { total: number }).total).toBe(1);
      // The client can still get new tokens.
      const fresh = await getToken(second.url, client.client_id, client.client_secret);
      expect((await fetch(`${second.url}/fhir/Patient/${patientId}`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
    } finally {
      const result = await stop(second);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(client.client_secret);
      expect(result.stdout).not.toContain(PATIENT_FAMILY);
      expect(result.stdout).not.toContain(token);
    }
  }, 120_000);

  it('lets the CLI use DATA_DIR again once the server has stopped', async () => {
    const migrate = await cli(['migrate']);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(JSON.parse(migrate.stdout.trim())).toEqual({ applied: [] });
    const created = await cli(['client', 'create', '--name', 'after', '--role', 'cbo', '--org', 'Organization/food-bank', '--purpose', 'TREAT']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout.trim()).client_id).toMatch(/^[0-9a-f-]{36}$/);
  }, 120_000);

  it('recovers from a crash: a stale lock of a killed server does not block the next start', async () => {
    const crashed = await startServerProcess();
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    expect(fs.existsSync(path.join(dataDir, 'server.lock'))).toBe(true);
    const next = await startServerProcess();
    try {
      const read = await fetch(`${next.url}/fhir/Patient/${patientId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(read.status).toBe(200);
    } finally {
      expect((await stop(next)).code).toBe(0);
    }
  }, 120_000);
});
