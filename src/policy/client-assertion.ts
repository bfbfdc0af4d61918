// private_key_jwt client authentication (RFC 7523, SMART Backend Services): the client signs a
// short-lived JWT naming itself (iss = sub = client_id) and the token URL (aud), with a key it
// registered inline or publishes at its jwks_url. Each assertion is accepted once (jti).
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import type { Queryable } from '../store/database.ts';
import { findKeyClient, type Client, type ClientKeys } from './client-registry.ts';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ASSERTION_ALGORITHMS: readonly string[] = ['RS384', 'ES384'];

/** SMART Backend Services: exp no more than five minutes in the future. */
const MAX_LIFETIME_SECONDS = 300;
/** Tolerated difference between the client's clock and ours. */
const CLOCK_SKEW_SECONDS = 5;
const MAX_JTI_LENGTH = 256;
const REMOTE_SETS = 1_000;
/** The one answer for every failure that depends on the client or its keys, so nobody learns which clients exist. */
const UNVERIFIABLE = 'client_assertion could not be verified';

/** The message is the OAuth error_description. */
export class ClientAssertionError extends Error {}

export class ClientAssertionVerifier {
  readonly #q: Queryable;
  /** One fetcher per jwks_url: jose caches each set and refetches on an unknown kid, at most every 30 s. */
  readonly #remote = new Map<string, JWTVerifyGetKey>();

  constructor(q: Queryable) {
    this.#q = q;
  }

  /** The authenticated client, or a ClientAssertionError saying why not. `clientIdParam` is the optional client_id form field. */
  async verify(assertion: string, tokenUrl: string, clientIdParam?: string): Promise<Client> {
    const { header, payload } = decode(assertion);
    const { clientId, jti, exp } = checkClaims(header, payload, tokenUrl);
    if (clientIdParam !== undefined && clientIdParam !== clientId) throw new ClientAssertionError('client_assertion iss must equal client_id');

    const found = await findKeyClient(this.#q, clientId);
    if (!found) throw new ClientAssertionError(UNVERIFIABLE);
    try {
      await jwtVerify(assertion, this.#keys(found.keys), {
        algorithms: [...ASSERTION_ALGORITHMS],
        issuer: clientId,
        subject: clientId,
        audience: tokenUrl,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_SKEW_SECONDS,
      });
    } catch (error) {
      // Claims are checked after the signature, so these messages only reach the key's holder.
      if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
        throw new ClientAssertionError(`client_assertion ${error.message}`);
      }
      throw new ClientAssertionError(UNVERIFIABLE);
    }
    await this.#useOnce(clientId, jti, exp);
    return found.client;
  }

  #keys(keys: ClientKeys): JWTVerifyGetKey {
    if (keys.jwks) return createLocalJWKSet(keys.jwks);
    let remote = this.#remote.get(keys.jwksUrl);
    if (!remote) {
      if (this.#remote.size >= REMOTE_SETS) this.#remote.delete(this.#remote.keys().next().value!);
      remote = createRemoteJWKSet(new URL(keys.jwksUrl));
      this.#remote.set(keys.jwksUrl, remote);
    }
    return remote;
  }

  /** Records the jti; the primary key lets exactly one of two racing uses of it through. */
  async #useOnce(clientId: string, jti: string, exp: number): Promise<void> {
    // An expired jti cannot be replayed anyway (its assertion is expired): forget it.
    await this.#q.query(`DELETE FROM client_assertion_jti WHERE client_id = $1 AND expires_at < now()`, [clientId]);
    const inserted = await this.#q.query(
      `INSERT INTO client_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING jti`,
      [clientId, jti, new Date((exp + CLOCK_SKEW_SECONDS) * 1000)],
    );
    if (inserted.length === 0) throw new ClientAssertionError('client_assertion jti was already used');
  }
}

function decode(assertion: string): { header: ProtectedHeaderParameters; payload: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(assertion), payload: decodeJwt(assertion) };
  } catch {
    throw new ClientAssertionError('client_assertion is not a signed JWT');
  }
}

/**
 * The SMART Backend Services rules that need no key, checked first so a client learns what it got
 * wrong; jwtVerify checks them again on the verified token.
 */
function checkClaims(header: ProtectedHeaderParameters, payload: JWTPayload, tokenUrl: string): { clientId: string; jti: string; exp: number } {
  if (typeof header.alg !== 'string' || !ASSERTION_ALGORITHMS.includes(header.alg)) {
    throw new ClientAssertionError(`client_assertion must be signed with ${ASSERTION_ALGORITHMS.join(' or ')}`);
  }
  if (typeof header.kid !== 'string' || !header.kid) throw new ClientAssertionError('client_assertion header must name its key (kid)');
  if (typeof payload.iss !== 'string' || !payload.iss || payload.sub !== payload.iss) {
    throw new ClientAssertionError('client_assertion iss and sub must both be the client_id');
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(tokenUrl)) throw new ClientAssertionError(`client_assertion aud must be the token URL ${tokenUrl}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw new ClientAssertionError('client_assertion must have an exp');
  if (payload.exp <= now - CLOCK_SKEW_SECONDS) throw new ClientAssertionError('client_assertion has expired');
  if (payload.exp > now + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
    throw new ClientAssertionError('client_assertion exp must be at most 5 minutes in the future');
  }
  if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > MAX_JTI_LENGTH) {
    throw new ClientAssertionError(`client_assertion must have a jti of at most ${MAX_JTI_LENGTH} characters`);
  }
  return { clientId: payload.iss, jti: payload.jti, exp: payload.exp };
}
