// Typed configuration from the environment, validated once at start.
import fs from 'node:fs';
import path from 'node:path';
import { billingConfig, type BillingConfig } from './billing/billing-config.ts';

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
  /** Referral exchange with partner FHIR servers, CBO polling and SLA timers. */
  referrals: ReferralConfig;
  /** Bulk Data $export: file lifetime, page size, job lock. */
  bulkExport: BulkExportConfig;
  /** Documents out to payers (claims queue) and remittance in (issue 7, delivery half). */
  claimsDelivery: ClaimsDeliveryConfig;
  /** The hub's billing identity (NPI, TIN, taxonomy, address) and claim building settings (issue 7, claims half). */
  billing: BillingConfig;
  /** HL7 v2 intake over MLLP (src/hl7/); the listener is off unless HL7_PORT is set. */
  hl7: Hl7Config;
}

export interface Hl7Config {
  /** HL7_PORT (2575 by convention); undefined: no listener. 0 picks a free port (tests). */
  port: number | undefined;
  /** HL7_TLS_CERT / HL7_TLS_KEY: PEM files; both set → MLLP over TLS. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** HL7_TRIGGERS: ADT triggers on (comma-separated; default all; "none" for none). */
  triggers: string[];
}

/** How the hub authenticates to a partner's FHIR server. */
export type PartnerAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'client_credentials'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string };

export interface PartnerConfig {
  /** The partner's FHIR base URL (no trailing slash); it covers every URL below it. */
  baseUrl: string;
  auth: PartnerAuth;
}

/** SLA of a referral at a CBO: business hours to accept before a reminder, then before re-routing; days without update before a flag. */
export interface SlaRules {
  acceptHours: number;
  rerouteHours: number;
  updateDays: number;
}

export interface ReferralConfig {
  /** Partner FHIR servers the hub fetches from or pushes to, with their credentials (PARTNERS_FILE). */
  partners: PartnerConfig[];
  /** Timeout of one outbound HTTP request. */
  partnerTimeoutMs: number;
  /** Tries and first backoff of outbound fetches and pushes before they are dead-lettered. */
  partnerAttempts: number;
  partnerBackoffMs: number;
  /** How often the hub polls a Task it pushed to a full CBO's server. */
  cboPollSeconds: number;
  sla: {
    defaults: SlaRules;
    /** Per program (an SDOHCC category code of the referral, e.g. food-insecurity): rules that replace the defaults. */
    programs: Record<string, Partial<SlaRules>>;
    /** IANA time zone of the business hours (Mon-Fri 9-17). */
    timeZone: string;
  };
}

/** SFTP credentials of a payer's billing Endpoint (never stored in the Endpoint itself). */
export interface SftpCredentials {
  privateKey: string;
  passphrase?: string;
  /** SHA-256 of the server's host key (base64, as `ssh-keygen -lf` prints after "SHA256:"); when set, any other key is refused. */
  hostKeySha256?: string;
}

export interface ClaimsDeliveryConfig {
  /** Tries and first backoff of one delivery before it is dead-lettered. */
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  /** By billing Endpoint id (CLAIMS_SFTP_CREDENTIALS_FILE). */
  sftpCredentials: Record<string, SftpCredentials>;
  /** Drop-folder Endpoints must lie below this directory (CLAIMS_DROP_ROOT); unset: no drop folders. */
  dropRoot: string | undefined;
  /** Watched folder of inbound X12 (999, 277CA, 835); processed files move to its `processed/` or `failed/`. */
  inboundDir: string | undefined;
  inboundPollMs: number;
  /** The hub's admin fee kept from each paid line before the CBO's payable, in percent. */
  adminFeePercent: number;
  /** Whether the monthly per-plan report job runs. */
  monthlyReports: boolean;
}

/** Bulk Data export (src/measures/bulk-export/). */
export interface BulkExportConfig {
  /** How long the NDJSON files of a completed export can be downloaded (BULK_EXPORT_TTL_SECONDS). */
  ttlSeconds: number;
  /** Resources read per page while exporting (BULK_EXPORT_PAGE_SIZE). */
  pageSize: number;
  /** How long an export job may go without its worker's heartbeat before another worker restarts it (BULK_EXPORT_LOCK_MS). */
  lockMs: number;
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

/** A positive decimal number (e.g. 0.5 hours). */
function decimal(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a number > 0, got "${raw}"`);
  return value;
}

function httpUrl(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ConfigError(`${what} must be a URL`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${what} must be a URL, got "${value}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError(`${what} must be an http(s) URL`);
  return value.replace(/\/+$/, '');
}

/** A secret given inline (`key`) or by the name of an environment variable (`keyEnv`). */
function secret(entry: Record<string, unknown>, key: string, env: NodeJS.ProcessEnv, what: string): string {
  const inline = entry[key];
  const variable = entry[`${key}Env`];
  const value = typeof variable === 'string' ? env[variable] : inline;
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(`${what}: ${key} (or ${key}Env naming a set environment variable) is required`);
  }
  return value;
}

/**
 * PARTNERS_FILE: a JSON object from FHIR base URL to its auth, e.g.
 * { "https://ehr.example.org/fhir": { "type": "client_credentials", "tokenUrl": "…", "clientId": "…", "clientSecretEnv": "EHR_SECRET" } }
 */
export function parsePartners(json: unknown, env: NodeJS.ProcessEnv = process.env, source = 'PARTNERS_FILE'): PartnerConfig[] {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${source} must hold a JSON object of FHIR base URL → auth`);
  return Object.entries(json as Record<string, unknown>).map(([base, value]) => {
    const baseUrl = httpUrl(base, `${source}: partner base URL`);
    const what = `${source}: ${baseUrl}`;
    const entry = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
    switch (entry.type) {
      case 'none':
        return { baseUrl, auth: { type: 'none' } };
      case 'bearer':
        return { baseUrl, auth: { type: 'bearer', token: secret(entry, 'token', env, what) } };
      case 'client_credentials': {
        if (typeof entry.clientId !== 'string' || !entry.clientId) throw new ConfigError(`${what}: clientId is required`);
        if (entry.scope !== undefined && typeof entry.scope !== 'string') throw new ConfigError(`${what}: scope must be a string`);
        return {
          baseUrl,
          auth: {
            type: 'client_credentials',
            tokenUrl: httpUrl(entry.tokenUrl, `${what}: tokenUrl`),
            clientId: entry.clientId,
            clientSecret: secret(entry, 'clientSecret', env, what),
            ...(entry.scope ? { scope: entry.scope } : {}),
          },
        };
      }
      default:
        throw new ConfigError(`${what}: type must be none, bearer or client_credentials`);
    }
  });
}

function partners(env: NodeJS.ProcessEnv): PartnerConfig[] {
  const file = env.PARTNERS_FILE;
  if (!file) return [];
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(path.resolve(file), 'utf8'));
  } catch (error) {
    throw new ConfigError(`PARTNERS_FILE ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  return parsePartners(json, env);
}

const SLA_KEYS: readonly (keyof SlaRules)[] = ['acceptHours', 'rerouteHours', 'updateDays'];

function slaPrograms(env: NodeJS.ProcessEnv): Record<string, Partial<SlaRules>> {
  const raw = env.SLA_PROGRAMS;
  if (!raw) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('SLA_PROGRAMS must be JSON, e.g. {"food-insecurity":{"acceptHours":4}}');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError('SLA_PROGRAMS must be a JSON object of program code → rules');
  const programs: Record<string, Partial<SlaRules>> = {};
  for (const [program, rules] of Object.entries(json as Record<string, unknown>)) {
    if (!rules || typeof rules !== 'object') throw new ConfigError(`SLA_PROGRAMS.${program} must be an object`);
    const entry: Partial<SlaRules> = {};
    for (const [key, value] of Object.entries(rules as Record<string, unknown>)) {
      if (!SLA_KEYS.includes(key as keyof SlaRules)) throw new ConfigError(`SLA_PROGRAMS.${program}.${key} is unknown (${SLA_KEYS.join(', ')})`);
      if (typeof value !== 'number' || !(value > 0)) throw new ConfigError(`SLA_PROGRAMS.${program}.${key} must be a number > 0`);
      entry[key as keyof SlaRules] = value;
    }
    programs[program] = entry;
  }
  return programs;
}

function timeZone(env: NodeJS.ProcessEnv): string {
  const zone = env.SLA_TIME_ZONE || 'America/New_York';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new ConfigError(`SLA_TIME_ZONE must be an IANA time zone such as America/Chicago, got "${zone}"`);
  }
  return zone;
}

function referrals(env: NodeJS.ProcessEnv): ReferralConfig {
  const acceptHours = decimal(env, 'SLA_ACCEPT_HOURS', 8);
  const rerouteHours = decimal(env, 'SLA_REROUTE_HOURS', acceptHours * 2);
  if (rerouteHours < acceptHours) throw new ConfigError('SLA_REROUTE_HOURS must not be less than SLA_ACCEPT_HOURS');
  return {
    partners: partners(env),
    partnerTimeoutMs: integer(env, 'PARTNER_TIMEOUT_MS', 10_000, 100),
    partnerAttempts: integer(env, 'PARTNER_ATTEMPTS', 8, 1),
    partnerBackoffMs: integer(env, 'PARTNER_BACKOFF_MS', 5_000, 1),
    cboPollSeconds: decimal(env, 'CBO_POLL_SECONDS', 900),
    sla: {
      defaults: { acceptHours, rerouteHours, updateDays: decimal(env, 'SLA_UPDATE_DAYS', 7) },
      programs: slaPrograms(env),
      timeZone: timeZone(env),
    },
  };
}

/**
 * CLAIMS_SFTP_CREDENTIALS_FILE: a JSON object from billing Endpoint id to
 * { "privateKeyFile": "/path", "passphraseEnv"?: "VAR", "hostKeySha256"?: "base64" }.
 */
function sftpCredentials(env: NodeJS.ProcessEnv): Record<string, SftpCredentials> {
  const file = env.CLAIMS_SFTP_CREDENTIALS_FILE;
  if (!file) return {};
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(path.resolve(file), 'utf8'));
  } catch (error) {
    throw new ConfigError(`CLAIMS_SFTP_CREDENTIALS_FILE ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError('CLAIMS_SFTP_CREDENTIALS_FILE must hold a JSON object of Endpoint id → credentials');
  const credentials: Record<string, SftpCredentials> = {};
  for (const [endpointId, value] of Object.entries(json as Record<string, unknown>)) {
    const entry = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
    const what = `CLAIMS_SFTP_CREDENTIALS_FILE: ${endpointId}`;
    if (typeof entry.privateKeyFile !== 'string') throw new ConfigError(`${what}: privateKeyFile is required`);
    let privateKey: string;
    try {
      privateKey = fs.readFileSync(path.resolve(path.dirname(path.resolve(file)), entry.privateKeyFile), 'utf8');
    } catch {
      throw new ConfigError(`${what}: privateKeyFile cannot be read`);
    }
    const passphrase = typeof entry.passphraseEnv === 'string' ? env[entry.passphraseEnv] : undefined;
    if (entry.hostKeySha256 !== undefined && typeof entry.hostKeySha256 !== 'string') throw new ConfigError(`${what}: hostKeySha256 must be a string`);
    credentials[endpointId] = { privateKey, ...(passphrase ? { passphrase } : {}), ...(entry.hostKeySha256 ? { hostKeySha256: entry.hostKeySha256 } : {}) };
  }
  return credentials;
}

function claimsDelivery(env: NodeJS.ProcessEnv): ClaimsDeliveryConfig {
  const fee = env.HUB_ADMIN_FEE_PERCENT;
  const adminFeePercent = fee === undefined || fee === '' ? 10 : Number(fee);
  if (!Number.isFinite(adminFeePercent) || adminFeePercent < 0 || adminFeePercent > 100) throw new ConfigError(`HUB_ADMIN_FEE_PERCENT must be a number from 0 to 100, got "${fee}"`);
  return {
    attempts: integer(env, 'CLAIMS_DELIVERY_ATTEMPTS', 8, 1),
    backoffMs: integer(env, 'CLAIMS_DELIVERY_BACKOFF_MS', 5_000, 1),
    timeoutMs: integer(env, 'CLAIMS_DELIVERY_TIMEOUT_MS', 30_000, 100),
    sftpCredentials: sftpCredentials(env),
    dropRoot: env.CLAIMS_DROP_ROOT ? path.resolve(env.CLAIMS_DROP_ROOT) : undefined,
    inboundDir: env.X12_INBOUND_DIR ? path.resolve(env.X12_INBOUND_DIR) : undefined,
    inboundPollMs: integer(env, 'X12_INBOUND_POLL_MS', 60_000, 50),
    adminFeePercent,
    monthlyReports: boolean(env, 'MONTHLY_REPORTS', true),
  };
}

const HL7_TRIGGERS = ['discharge-food-referral', 'ed-screening'];

function hl7(env: NodeJS.ProcessEnv): Hl7Config {
  const port = env.HL7_PORT === undefined || env.HL7_PORT === '' ? undefined : integer(env, 'HL7_PORT', 2575, 0);
  const tlsCert = env.HL7_TLS_CERT || undefined;
  const tlsKey = env.HL7_TLS_KEY || undefined;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new ConfigError('HL7_TLS_CERT and HL7_TLS_KEY go together');
  for (const file of [tlsCert, tlsKey]) if (file && !fs.existsSync(file)) throw new ConfigError(`HL7 TLS file ${file} does not exist`);
  const raw = env.HL7_TRIGGERS ?? HL7_TRIGGERS.join(',');
  const triggers = raw === 'none' ? [] : raw.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = triggers.filter((name) => !HL7_TRIGGERS.includes(name));
  if (unknown.length) throw new ConfigError(`HL7_TRIGGERS: unknown trigger(s) ${unknown.join(', ')} (known: ${HL7_TRIGGERS.join(', ')}, or none)`);
  return { port, tlsCert, tlsKey, triggers };
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
    referrals: referrals(env),
    bulkExport: {
      ttlSeconds: integer(env, 'BULK_EXPORT_TTL_SECONDS', 3600, 1),
      pageSize: integer(env, 'BULK_EXPORT_PAGE_SIZE', 1000, 1),
      lockMs: integer(env, 'BULK_EXPORT_LOCK_MS', 30_000, 200),
    },
    claimsDelivery: claimsDelivery(env),
    billing: billingConfig(env),
    hl7: hl7(env),
  };
}
