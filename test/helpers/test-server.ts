// Starts a real server (in-process, real HTTP on a free port) on a fresh database: a private
// PostgreSQL schema when TEST_DB=postgres, else an in-memory PGlite. Issues a hub-admin token.
// Queues are off unless asked for; then they use REDIS_URL (else 127.0.0.1:6379) under a random
// QUEUE_PREFIX whose keys are deleted on close, so test servers never share queue state.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import type { QueueService } from '../../src/queue/queue-service.ts';
import { startServer, type QueueStartOptions } from '../../src/server.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrations.ts';
import { deleteQueueKeys } from '../../src/queue/queue-keys.ts';
import { openPglite } from '../../src/store/pglite-database.ts';
import { openPostgres } from '../../src/store/postgres-database.ts';
import { clientToken } from './client-token.ts';

// Response bodies are inspected field by field in assertions, so they default to any.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed-JSON tests); otherwise body is JSON-encoded. */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Override the bearer token; null sends none. */
  token?: string | null;
}

export interface TestServer {
  url: string;
  fhir: string;
  db: Database;
  token: string;
  config: Config;
  /** Present when started with `queues`. */
  queues: QueueService | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  tokenFor(role: string, org?: string, purposes?: string[]): Promise<string>;
  close(): Promise<void>;
}

export const usingPostgres = () => process.env.TEST_DB === 'postgres';

export async function openTestDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (!usingPostgres()) {
    const db = await openPglite(undefined);
    return { db, drop: async () => undefined };
  }
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error('TEST_DB=postgres needs DATABASE_URL');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = openPostgres({ connectionString, schema, max: 10 });
  return {
    db,
    drop: async () => {
      const cleanup = new pg.Client({ connectionString });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.end();
    },
  };
}

export interface TestServerOptions {
  /** Start the queues with these modules. */
  queues?: QueueStartOptions;
}

export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const { db, drop } = await openTestDatabase();
  await migrate(db);
  const queueEnv: Record<string, string> = options.queues
    ? { REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379', QUEUE_PREFIX: `t${randomBytes(6).toString('hex')}` }
    : {};
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', ...queueEnv, ...env });
  const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: options.queues ?? false });

  const request = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult<T>> => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? testServer.token : options.token;
    if (token) headers.authorization ??= `Bearer ${token}`;
    let body: string | Buffer | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/fhir+json';
    }
    const response = await fetch(`${server.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  };

  const tokenFor = (role: string, org = 'Organization/hub', purposes: string[] = []) => clientToken(server.url, db, role, org, purposes);

  const testServer: TestServer = {
    url: server.url,
    fhir: `${server.url}/fhir`,
    db,
    token: '',
    config,
    queues: server.queues,
    request,
    tokenFor,
    async close() {
      await server.close();
      if (server.queues && config.redisUrl) await deleteQueueKeys(config.redisUrl, config.queuePrefix);
      await db.close();
      await drop();
    },
  };
  testServer.token = await tokenFor('hub-admin');
  return testServer;
}
