// Typed configuration from the environment, validated once at start.
import path from 'node:path';

export interface Config {
  port: number;
  /** Public base URL of the server (no trailing slash); when unset, derived from each request's Host. */
  baseUrl: string | undefined;
  /** PostgreSQL connection string; when unset the embedded PGlite database in `dataDir` is used. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Redis for the queues; when unset, `npm start` runs a private redis-server with its data in `dataDir`. */
  redisUrl: string | undefined;
  /** Prefix of every BullMQ key, so several deployments (or test servers) can share one Redis. */
  queuePrefix: string;
  logLevel: string;
  hubOrganization: string;
  allowHttpEndpoints: boolean;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Lifetime of issued access tokens, in seconds. */
  tokenTtlSeconds: number;
  /** Largest page size a search or history request may ask for. */
  maxPageSize: number;
}

export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Parses sizes like 16mb, 512kb or a plain byte count. */
function byteSize(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(raw.trim());
  if (!match) throw new ConfigError(`${name} must be a size such as 16mb, got "${raw}"`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'];
  return Number(match[1]) * unit;
}

function url(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL`);
  }
  return raw.replace(/\/+$/, '');
}

// BullMQ separates key parts with ':', so the prefix must not contain one.
function queuePrefix(env: NodeJS.ProcessEnv): string {
  const raw = env.QUEUE_PREFIX || 'cch';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new ConfigError(`QUEUE_PREFIX must be 1-64 letters, digits, '-' or '_', got "${raw}"`);
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const hubOrganization = env.HUB_ORGANIZATION || 'Organization/hub';
  if (!/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(hubOrganization)) {
    throw new ConfigError('HUB_ORGANIZATION must look like Organization/ID');
  }
  return {
    port: integer(env, 'PORT', 8080, 0),
    baseUrl: url(env, 'BASE_URL'),
    databaseUrl: url(env, 'DATABASE_URL'),
    dataDir: path.resolve(env.DATA_DIR || './data'),
    redisUrl: url(env, 'REDIS_URL'),
    queuePrefix: queuePrefix(env),
    logLevel: env.LOG_LEVEL || 'info',
    hubOrganization,
    allowHttpEndpoints: boolean(env, 'ALLOW_HTTP_ENDPOINTS', false),
    maxBodyBytes: byteSize(env, 'MAX_BODY_SIZE', 16 * 1024 * 1024),
    tokenTtlSeconds: integer(env, 'TOKEN_TTL_SECONDS', 300, 10),
    maxPageSize: integer(env, 'MAX_PAGE_SIZE', 1000, 1),
  };
}
