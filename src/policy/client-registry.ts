// Registered API clients: who they are (role, organization, purposes of use, scopes) and how they
// authenticate: a hashed secret (client_secret_basic), or public keys inline or at a URL
// (private_key_jwt, SMART Backend Services). A client has exactly one of these.
import { createPublicKey, randomBytes, randomUUID, scrypt, timingSafeEqual, type JsonWebKey } from 'node:crypto';
import { promisify } from 'node:util';
import type { JSONWebKeySet, JWK } from 'jose';
import type { Queryable } from '../store/database.ts';
import { isRole, type Role } from './actor.ts';
import { parseScope } from './smart-scope.ts';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, length: number) => Promise<Buffer>;

export interface Client {
  clientId: string;
  name: string;
  role: Role;
  organization: string;
  purposes: string[];
  /** Registered SMART system scopes: the most a token may carry. */
  scopes: string[];
  active: boolean;
}

export interface NewClient {
  name: string;
  role: string;
  organization: string;
  purposes: string[];
  /** Defaults to system/*.cruds. */
  scopes?: string[];
  /** A parsed JWKS document (validated here); the client then authenticates with private_key_jwt. */
  jwks?: unknown;
  /** Where the client publishes its JWKS; the client then authenticates with private_key_jwt. */
  jwksUrl?: string;
}

/** A client registered with a secret: the only kind the older callers create. */
export type NewSecretClient = NewClient & { jwks?: undefined; jwksUrl?: undefined };

export interface CreateClientOptions {
  /** Allow an http: jwks_url (local use and tests), as ALLOW_HTTP_ENDPOINTS does for the server. */
  allowHttpEndpoints?: boolean;
}

/** How a private_key_jwt client's signing keys are found. */
export type ClientKeys = { jwks: JSONWebKeySet; jwksUrl?: undefined } | { jwks?: undefined; jwksUrl: string };

export class ClientInputError extends Error {}

const DEFAULT_SCOPES = ['system/*.cruds'];

const ORG = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;
const PURPOSE = /^[A-Z][A-Z0-9]{1,31}$/;
/** JWK members that belong to private or symmetric keys (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, 32);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

async function secretMatches(secret: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The public keys a client signs its assertions with: RSA (RS384) or EC P-384 (ES384), each named by kid. */
function validateJwks(value: unknown): JSONWebKeySet {
  const keys: unknown = isObject(value) ? value.keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) throw new ClientInputError('--jwks must hold a JSON Web Key Set: {"keys":[...]}');
  let usable = 0;
  for (const [index, key] of (keys as unknown[]).entries()) {
    if (!isObject(key) || typeof key.kty !== 'string') throw new ClientInputError(`--jwks keys[${index}] is not a JSON Web Key`);
    const secrets = PRIVATE_MEMBERS.filter((member) => member in key);
    if (secrets.length) {
      throw new ClientInputError(`--jwks keys[${index}] holds private key material (${secrets.join(', ')}): register the public keys only`);
    }
    if (key.kty !== 'RSA' && key.kty !== 'EC') continue; // unusable here, but harmless
    if (typeof key.kid !== 'string' || !key.kid) throw new ClientInputError(`--jwks keys[${index}] needs a kid: assertions name their signing key by kid`);
    let modulusLength: number | undefined;
    try {
      modulusLength = createPublicKey({ key: key as JsonWebKey, format: 'jwk' }).asymmetricKeyDetails?.modulusLength;
    } catch {
      throw new ClientInputError(`--jwks keys[${index}] is not a valid ${key.kty} public key`);
    }
    if (key.kty === 'EC' && key.crv !== 'P-384') throw new ClientInputError(`--jwks keys[${index}] must use curve P-384: assertions are signed with ES384`);
    if (key.kty === 'RSA' && (modulusLength ?? 0) < 2048) throw new ClientInputError(`--jwks keys[${index}] must be an RSA key of at least 2048 bits`);
    usable++;
  }
  if (usable === 0) throw new ClientInputError('--jwks must hold at least one RSA or EC public key');
  return { keys: keys as JWK[] };
}

function validateJwksUrl(value: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientInputError('--jwks-url must be a URL');
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new ClientInputError('--jwks-url must be an https URL (http only with ALLOW_HTTP_ENDPOINTS=true)');
  }
  if (url.username || url.password) throw new ClientInputError('--jwks-url must not hold credentials');
  return url.href;
}

function validateScopes(scopes: string[]): string[] {
  if (scopes.length === 0) throw new ClientInputError('--scope must name at least one scope');
  for (const scope of scopes) {
    if (!parseScope(scope)) throw new ClientInputError(`--scope '${scope}' is not a SMART system scope such as system/Task.rs or system/*.cruds`);
  }
  return [...new Set(scopes)];
}

/**
 * Stores a new client and returns its id, and for a secret client its secret: shown once and kept
 * only as a hash. A client registered with --jwks or --jwks-url has no secret.
 */
export async function createClient(q: Queryable, input: NewSecretClient, options?: CreateClientOptions): Promise<{ client_id: string; client_secret: string }>;
export async function createClient(q: Queryable, input: NewClient, options?: CreateClientOptions): Promise<{ client_id: string; client_secret?: string }>;
export async function createClient(q: Queryable, input: NewClient, options: CreateClientOptions = {}): Promise<{ client_id: string; client_secret?: string }> {
  if (!input.name.trim()) throw new ClientInputError('--name is required');
  if (!isRole(input.role)) throw new ClientInputError(`--role must be one of hub-admin, hub-staff, referral-source, cbo, plan, plan-analytics, hie`);
  if (!ORG.test(input.organization)) throw new ClientInputError('--org must look like Organization/ID');
  for (const purpose of input.purposes) {
    if (!PURPOSE.test(purpose)) throw new ClientInputError(`--purpose '${purpose}' is not a v3-ActReason code such as TREAT`);
  }
  const scopes = validateScopes(input.scopes ?? DEFAULT_SCOPES);
  if (input.jwks !== undefined && input.jwksUrl !== undefined) throw new ClientInputError('--jwks and --jwks-url exclude each other');
  const jwks = input.jwks === undefined ? null : validateJwks(input.jwks);
  const jwksUrl = input.jwksUrl === undefined ? null : validateJwksUrl(input.jwksUrl, options.allowHttpEndpoints ?? false);

  const clientId = randomUUID();
  const clientSecret = jwks || jwksUrl ? undefined : randomBytes(32).toString('base64url');
  await q.query(
    `INSERT INTO client (client_id, name, role, organization, purposes, scopes, secret_hash, jwks, jwks_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      clientId,
      input.name,
      input.role,
      input.organization,
      input.purposes,
      scopes,
      clientSecret === undefined ? null : await hashSecret(clientSecret),
      jwks === null ? null : JSON.stringify(jwks),
      jwksUrl,
    ],
  );
  return clientSecret === undefined ? { client_id: clientId } : { client_id: clientId, client_secret: clientSecret };
}

interface ClientRow {
  client_id: string;
  name: string;
  role: Role;
  organization: string;
  purposes: string[];
  scopes: string[];
  secret_hash: string | null;
  jwks: JSONWebKeySet | string | null;
  jwks_url: string | null;
  active: boolean;
}

function toClient(row: ClientRow): Client {
  return { clientId: row.client_id, name: row.name, role: row.role, organization: row.organization, purposes: row.purposes, scopes: row.scopes, active: row.active };
}

/** The active secret client whose secret matches, or undefined (unknown id, wrong secret and a key client look alike). */
export async function authenticateClient(q: Queryable, clientId: string, secret: string): Promise<Client | undefined> {
  const rows = await q.query<ClientRow>(`SELECT * FROM client WHERE client_id = $1`, [clientId]);
  const row = rows[0];
  if (!row || !row.active || row.secret_hash === null || !(await secretMatches(secret, row.secret_hash))) return undefined;
  return toClient(row);
}

/** The active private_key_jwt client and where its keys are, or undefined (unknown id and a secret client look alike). */
export async function findKeyClient(q: Queryable, clientId: string): Promise<{ client: Client; keys: ClientKeys } | undefined> {
  const rows = await q.query<ClientRow>(`SELECT * FROM client WHERE client_id = $1`, [clientId]);
  const row = rows[0];
  if (!row || !row.active) return undefined;
  if (row.jwks !== null) {
    const jwks = typeof row.jwks === 'string' ? (JSON.parse(row.jwks) as JSONWebKeySet) : row.jwks;
    return { client: toClient(row), keys: { jwks } };
  }
  if (row.jwks_url !== null) return { client: toClient(row), keys: { jwksUrl: row.jwks_url } };
  return undefined;
}
