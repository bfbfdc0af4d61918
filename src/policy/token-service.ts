// Issues and verifies access tokens: ES256 JWTs signed with a key kept in the database, so every
// server process shares it and tokens stay valid across restarts until they expire.
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, errors as joseErrors, type JWK } from 'jose';
import type { Queryable } from '../store/database.ts';
import { isRole, type Actor } from './actor.ts';

const ISSUER = 'urn:cch-fhir-server';
const AUDIENCE = 'urn:cch-fhir-server:api';
const ALG = 'ES256';
const DEFAULT_KID = 'k1';
const VERIFIED_CACHE_SIZE = 10_000;

export class InvalidTokenError extends Error {}

type Key = Awaited<ReturnType<typeof importJWK>>;

export class TokenService {
  readonly #q: Queryable;
  readonly #ttlSeconds: number;
  #signing: { kid: string; key: Key } | undefined;
  readonly #verifying = new Map<string, Key>();
  /** Tokens already verified, until they expire: signature checks dominate the cost of small requests. */
  readonly #verified = new Map<string, { actor: Actor; expiresAt: number }>();

  constructor(q: Queryable, ttlSeconds: number) {
    this.#q = q;
    this.#ttlSeconds = ttlSeconds;
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  /** Loads the signing key, creating it on the very first start (first writer wins). */
  async init(): Promise<void> {
    let rows = await this.#q.query<{ kid: string; private_jwk: JWK }>(`SELECT kid, private_jwk FROM signing_key ORDER BY created_at DESC LIMIT 1`);
    if (rows.length === 0) {
      const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
      await this.#q.query(
        `INSERT INTO signing_key (kid, private_jwk, public_jwk) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING`,
        [DEFAULT_KID, JSON.stringify(await exportJWK(privateKey)), JSON.stringify(await exportJWK(publicKey))],
      );
      rows = await this.#q.query(`SELECT kid, private_jwk FROM signing_key WHERE kid = $1`, [DEFAULT_KID]);
    }
    this.#signing = { kid: rows[0].kid, key: await importJWK(rows[0].private_jwk, ALG) };
  }

  async issue(actor: Actor): Promise<string> {
    if (!this.#signing) throw new Error('TokenService.init() was not called');
    return new SignJWT({ role: actor.role, org: actor.organization, purpose_of_use: actor.purposeOfUse, scope: actor.scopes.join(' ') })
      .setProtectedHeader({ alg: ALG, kid: this.#signing.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(actor.clientId)
      .setIssuedAt()
      .setExpirationTime(`${this.#ttlSeconds}s`)
      .sign(this.#signing.key);
  }

  async #publicKey(kid: string | undefined): Promise<Key> {
    if (!kid) throw new InvalidTokenError('token has no key id');
    let key = this.#verifying.get(kid);
    if (!key) {
      const rows = await this.#q.query<{ public_jwk: JWK }>(`SELECT public_jwk FROM signing_key WHERE kid = $1`, [kid]);
      if (!rows[0]) throw new InvalidTokenError('token was signed by an unknown key');
      key = await importJWK(rows[0].public_jwk, ALG);
      this.#verifying.set(kid, key);
    }
    return key;
  }

  async verify(token: string): Promise<Actor> {
    const cached = this.#verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.actor;
    if (cached) this.#verified.delete(token);
    const { actor, expiresAt } = await this.#verifySignature(token);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(token, { actor, expiresAt });
    return actor;
  }

  async #verifySignature(token: string): Promise<{ actor: Actor; expiresAt: number }> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.#publicKey(header.kid), {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ALG],
      });
      const role = String(payload.role);
      if (!payload.sub || !isRole(role) || typeof payload.org !== 'string') throw new InvalidTokenError('token claims are incomplete');
      const actor: Actor = {
        clientId: payload.sub,
        role,
        organization: payload.org,
        purposeOfUse: typeof payload.purpose_of_use === 'string' ? payload.purpose_of_use : undefined,
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      };
      return { actor, expiresAt: (payload.exp ?? 0) * 1000 };
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new InvalidTokenError('token expired');
      throw new InvalidTokenError('token is invalid');
    }
  }
}
