// Registered API clients: who they are (role, organization, purposes of use) and their hashed secret.
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Queryable } from '../store/database.ts';
import { isRole, type Role } from './actor.ts';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, length: number) => Promise<Buffer>;

export interface Client {
  clientId: string;
  name: string;
  role: Role;
  organization: string;
  purposes: string[];
  active: boolean;
}

export interface NewClient {
  name: string;
  role: string;
  organization: string;
  purposes: string[];
}

export class ClientInputError extends Error {}

const ORG = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;
const PURPOSE = /^[A-Z][A-Z0-9]{1,31}$/;

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

/** Stores a new client and returns its id and secret; the secret is shown once and kept only as a hash. */
export async function createClient(q: Queryable, input: NewClient): Promise<{ client_id: string; client_secret: string }> {
  if (!input.name.trim()) throw new ClientInputError('--name is required');
  if (!isRole(input.role)) throw new ClientInputError(`--role must be one of hub-admin, hub-staff, referral-source, cbo, plan, plan-analytics, hie`);
  if (!ORG.test(input.organization)) throw new ClientInputError('--org must look like Organization/ID');
  for (const purpose of input.purposes) {
    if (!PURPOSE.test(purpose)) throw new ClientInputError(`--purpose '${purpose}' is not a v3-ActReason code such as TREAT`);
  }
  const clientId = randomUUID();
  const clientSecret = randomBytes(32).toString('base64url');
  await q.query(
    `INSERT INTO client (client_id, name, role, organization, purposes, secret_hash) VALUES ($1, $2, $3, $4, $5, $6)`,
    [clientId, input.name, input.role, input.organization, input.purposes, await hashSecret(clientSecret)],
  );
  return { client_id: clientId, client_secret: clientSecret };
}

interface ClientRow {
  client_id: string;
  name: string;
  role: Role;
  organization: string;
  purposes: string[];
  secret_hash: string;
  active: boolean;
}

/** The active client whose secret matches, or undefined (unknown id and wrong secret look alike). */
export async function authenticateClient(q: Queryable, clientId: string, secret: string): Promise<Client | undefined> {
  const rows = await q.query<ClientRow>(`SELECT * FROM client WHERE client_id = $1`, [clientId]);
  const row = rows[0];
  if (!row || !row.active || !(await secretMatches(secret, row.secret_hash))) return undefined;
  return { clientId: row.client_id, name: row.name, role: row.role, organization: row.organization, purposes: row.purposes, active: row.active };
}
