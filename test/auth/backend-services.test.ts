// SMART Backend Services at /auth/token: private_key_jwt client assertions (RS384, ES384) against
// inline and URL-published key sets, their rejection rules, replay protection, scope narrowing,
// the discovery document, client registration and the `client create` CLI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientInputError, createClient, type NewClient } from '../../src/policy/client-registry.ts';
import { openPglite } from '../../src/store/pglite-database.ts';
import { startTestServer, type HttpResult, type TestServer } from '../helpers/test-server.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const UNVERIFIABLE = { error: 'invalid_client', error_description: 'client_assertion could not be verified' };
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface KeyPair {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function keyPair(alg: string, kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid } };
}

let server: TestServer;
let tokenUrl: string;
let rsa: KeyPair;
let ec: KeyPair;
let jwksServer: http.Server;
let jwksUrl: string;
/** What the local JWKS endpoint serves, and how often it was asked. */
let servedJwks: { keys: JWK[] } = { keys: [] };
let jwksFetches = 0;

beforeAll(async () => {
  server = await startTestServer({ ALLOW_HTTP_ENDPOINTS: 'true' });
  tokenUrl = `${server.url}/auth/token`;
  [rsa, ec] = await Promise.all([keyPair('RS384', 'rsa-1'), keyPair('ES384', 'ec-1')]);
  jwksServer = http.createServer((req, res) => {
    jwksFetches++;
    if (req.url !== '/jwks.json') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(servedJwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(async () => {
  await server?.close();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
});

const base = { name: 'backend service', role: 'hub-admin', organization: 'Organization/hub', purposes: [] as string[] };

async function jwksClient(keys: KeyPair[], extra: Partial<NewClient> = {}): Promise<string> {
  const created = await createClient(server.db, { ...base, jwks: { keys: keys.map((key) => key.publicJwk) }, ...extra });
  expect(Object.keys(created)).toEqual(['client_id']);
  return created.client_id;
}

interface AssertionOptions {
  alg?: string;
  kid?: string;
  iss?: string;
  sub?: string;
  aud?: string | string[];
  /** Seconds from now; null leaves exp out. */
  expIn?: number | null;
  /** null leaves jti out. */
  jti?: string | null;
}

async function assertion(clientId: string, key: KeyPair, options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.iss ?? clientId)
    .setSubject(options.sub ?? clientId)
    .setAudience(options.aud ?? tokenUrl)
    .setIssuedAt(now);
  if (options.expIn !== null) jwt.setExpirationTime(now + (options.expIn ?? 240));
  if (options.jti !== null) jwt.setJti(options.jti ?? crypto.randomUUID());
  return jwt.sign(key.privateKey);
}

async function tokenRequest(form: Record<string, string>, authorization?: string): Promise<HttpResult> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.authorization = authorization;
  return server.request('POST', '/auth/token', { rawBody: new URLSearchParams(form).toString(), headers, token: null });
}

const assertionForm = (clientAssertion: string, extra: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_assertion_type: JWT_BEARER,
  client_assertion: clientAssertion,
  ...extra,
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** A 401 from a client assertion: the exact OAuth body, no Basic challenge, never cached. */
function expectRejected(res: HttpResult, body: { error: string; error_description: string }): void {
  expect(res.status, res.text).toBe(401);
  expect(res.body).toEqual(body);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('www-authenticate')).toBeNull();
}

describe('a valid client assertion', () => {
  for (const alg of ['RS384', 'ES384'] as const) {
    it(`gets a token (${alg}) that works on the FHIR API`, async () => {
      const key = alg === 'RS384' ? rsa : ec;
      const clientId = await jwksClient([rsa, ec]);
      const res = await tokenRequest(assertionForm(await assertion(clientId, key)));
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: server.config.tokenTtlSeconds, scope: 'system/*.cruds' });
      const claims = decodeJwt(res.body.access_token);
      expect([claims.sub, claims.role, claims.org, claims.scope]).toEqual([clientId, 'hub-admin', 'Organization/hub', 'system/*.cruds']);

      const created = await server.request('POST', '/fhir/Patient', { token: res.body.access_token, body: { resourceType: 'Patient', active: true } });
      expect(created.status, created.text).toBe(201);
      const search = await server.request('GET', `/fhir/Patient?_id=${created.body.id}`, { token: res.body.access_token });
      expect(search.status, search.text).toBe(200);
      expect(search.body.entry.map((entry: { resource: { id: string } }) => entry.resource.id)).toEqual([created.body.id]);
    });
  }

  it('is accepted with exp exactly 5 minutes ahead, an aud array holding the token URL, and a matching client_id field', async () => {
    const clientId = await jwksClient([ec]);
    const res = await tokenRequest(assertionForm(await assertion(clientId, ec, { expIn: 300, aud: [tokenUrl, 'https://other.example'] }), { client_id: clientId }));
    expect(res.status, res.text).toBe(200);
  });

  it('follows the purpose-of-use rules of secret clients', async () => {
    const clientId = await jwksClient([rsa], { purposes: ['TREAT', 'HOPERAT'] });
    const missing = await tokenRequest(assertionForm(await assertion(clientId, rsa)));
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'invalid_request', error_description: 'purpose_of_use is required: one of TREAT, HOPERAT' });
    const unregistered = await tokenRequest(assertionForm(await assertion(clientId, rsa), { purpose_of_use: 'ETREAT' }));
    expect(unregistered.status).toBe(400);
    expect(unregistered.body).toEqual({ error: 'invalid_request', error_description: 'purpose_of_use ETREAT is not registered for this client' });
    const chosen = await tokenRequest(assertionForm(await assertion(clientId, rsa), { purpose_of_use: 'TREAT' }));
    expect(chosen.status, chosen.text).toBe(200);
    expect(decodeJwt(chosen.body.access_token).purpose_of_use).toBe('TREAT');
  });
});

describe('assertions that are rejected', () => {
  let clientId: string;
  beforeAll(async () => {
    clientId = await jwksClient([rsa, ec]);
  });

  it('names the wrong aud', async () => {
    const res = await tokenRequest(assertionForm(await assertion(clientId, rsa, { aud: `${server.url}/fhir` })));
    expectRejected(res, { error: 'invalid_client', error_description: `client_assertion aud must be the token URL ${tokenUrl}` });
  });

  it('rejects exp more than 5 minutes ahead', async () => {
    const res = await tokenRequest(assertionForm(await assertion(clientId, ec, { expIn: 360 })));
    expectRejected(res, { error: 'invalid_client', error_description: 'client_assertion exp must be at most 5 minutes in the future' });
  });

  it('rejects an expired assertion', async () => {
    const res = await tokenRequest(assertionForm(await assertion(clientId, ec, { expIn: -60 })));
    expectRejected(res, { error: 'invalid_client', error_description: 'client_assertion has expired' });
  });

  it('rejects an assertion without exp or without jti', async () => {
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, ec, { expIn: null }))), {
      error: 'invalid_client',
      error_description: 'client_assertion must have an exp',
    });
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, ec, { jti: null }))), {
      error: 'invalid_client',
      error_description: 'client_assertion must have a jti of at most 256 characters',
    });
  });

  it('rejects a replayed jti', async () => {
    const signed = await assertion(clientId, rsa);
    expect((await tokenRequest(assertionForm(signed))).status).toBe(200);
    expectRejected(await tokenRequest(assertionForm(signed)), { error: 'invalid_client', error_description: 'client_assertion jti was already used' });
    // A new assertion reusing the jti is a replay too.
    const { jti } = decodeJwt(signed);
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, ec, { jti: jti! }))), {
      error: 'invalid_client',
      error_description: 'client_assertion jti was already used',
    });
  });

  it('lets exactly one of two racing uses of one assertion through', async () => {
    const signed = await assertion(clientId, ec);
    const results = await Promise.all([tokenRequest(assertionForm(signed)), tokenRequest(assertionForm(signed))]);
    expect(results.map((res) => res.status).sort()).toEqual([200, 401]);
  });

  it('rejects RS256 and HS256', async () => {
    const body = { error: 'invalid_client', error_description: 'client_assertion must be signed with RS384 or ES384' };
    // Signed with an RSA key under a registered kid: only the algorithm is wrong.
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, await keyPair('RS256', rsa.kid)))), body);
    const now = Math.floor(Date.now() / 1000);
    const hmac = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenUrl)
      .setExpirationTime(now + 60)
      .setJti(crypto.randomUUID())
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expectRejected(await tokenRequest(assertionForm(hmac)), body);
  });

  it('rejects iss different from sub, and from the client_id field', async () => {
    const other = await jwksClient([rsa]);
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, rsa, { sub: other }))), {
      error: 'invalid_client',
      error_description: 'client_assertion iss and sub must both be the client_id',
    });
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, rsa), { client_id: other })), {
      error: 'invalid_client',
      error_description: 'client_assertion iss must equal client_id',
    });
  });

  it('answers alike to an unknown kid, a key it did not register, an unknown client and a deactivated one', async () => {
    const stranger = await keyPair('RS384', 'rsa-1'); // a registered kid, another key
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, rsa, { kid: 'no-such-kid' }))), UNVERIFIABLE);
    expectRejected(await tokenRequest(assertionForm(await assertion(clientId, stranger))), UNVERIFIABLE);
    expectRejected(await tokenRequest(assertionForm(await assertion('no-such-client', rsa))), UNVERIFIABLE);
    const deactivated = await jwksClient([rsa]);
    await server.db.query(`UPDATE client SET active = false WHERE client_id = $1`, [deactivated]);
    expectRejected(await tokenRequest(assertionForm(await assertion(deactivated, rsa))), UNVERIFIABLE);
  });

  it('rejects garbage and a wrong client_assertion_type', async () => {
    expectRejected(await tokenRequest(assertionForm('not-a-jwt')), { error: 'invalid_client', error_description: 'client_assertion is not a signed JWT' });
    const wrongType = await tokenRequest({ ...assertionForm(await assertion(clientId, rsa)), client_assertion_type: 'urn:example:saml' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toEqual({ error: 'invalid_request', error_description: `client_assertion_type must be ${JWT_BEARER}` });
    const noAssertion = await tokenRequest({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER });
    expect(noAssertion.status).toBe(400);
    expect(noAssertion.body).toEqual({ error: 'invalid_request', error_description: 'client_assertion is required' });
  });
});

describe('a client publishing its keys at a jwks_url', () => {
  it('gets a token with a key fetched from the URL, and is refused an unknown kid', async () => {
    servedJwks = { keys: [ec.publicJwk] };
    const created = await createClient(server.db, { ...base, jwksUrl }, { allowHttpEndpoints: true });
    expect(Object.keys(created)).toEqual(['client_id']);
    const before = jwksFetches;
    const res = await tokenRequest(assertionForm(await assertion(created.client_id, ec)));
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('system/*.cruds');
    expect(jwksFetches).toBe(before + 1);
    // Cached: the next assertion needs no fetch.
    expect((await tokenRequest(assertionForm(await assertion(created.client_id, ec)))).status).toBe(200);
    expect(jwksFetches).toBe(before + 1);
    expectRejected(await tokenRequest(assertionForm(await assertion(created.client_id, ec, { kid: 'rotated-away' }))), UNVERIFIABLE);
  });

  it('is refused when its JWKS endpoint fails', async () => {
    const created = await createClient(server.db, { ...base, jwksUrl: jwksUrl.replace('jwks.json', 'missing.json') }, { allowHttpEndpoints: true });
    expectRejected(await tokenRequest(assertionForm(await assertion(created.client_id, ec))), UNVERIFIABLE);
  });
});

describe('one authentication method per client', () => {
  it('refuses private_key_jwt to a secret client', async () => {
    const secretClient = await createClient(server.db, base);
    expectRejected(await tokenRequest(assertionForm(await assertion(secretClient.client_id, rsa))), UNVERIFIABLE);
  });

  it('refuses client_secret_basic to a JWKS client', async () => {
    const clientId = await jwksClient([rsa]);
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(clientId, 'guessed'));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Unknown client or wrong secret' });
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="token"');
  });

  it('refuses a request carrying both Basic credentials and an assertion', async () => {
    const secretClient = await createClient(server.db, base);
    const clientId = await jwksClient([rsa]);
    const res = await tokenRequest(assertionForm(await assertion(clientId, rsa)), basic(secretClient.client_id, secretClient.client_secret));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Use one client authentication method: HTTP Basic or client_assertion' });
  });
});

describe('scopes', () => {
  it('narrows a system/*.cruds registration to the requested scope', async () => {
    const clientId = await jwksClient([ec]);
    const res = await tokenRequest(assertionForm(await assertion(clientId, ec), { scope: 'system/Patient.rs' }));
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('system/Patient.rs');
    expect(decodeJwt(res.body.access_token).scope).toBe('system/Patient.rs');
  });

  it('grants the registered scopes when none are requested', async () => {
    const clientId = await jwksClient([ec], { scopes: ['system/Task.rs', 'system/Procedure.c'] });
    const res = await tokenRequest(assertionForm(await assertion(clientId, ec)));
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('system/Task.rs system/Procedure.c');
  });

  it('drops requested scopes wider than the registration, and refuses when nothing is left', async () => {
    const clientId = await jwksClient([ec], { scopes: ['system/Task.rs', 'system/Procedure.c'] });
    const partly = await tokenRequest(assertionForm(await assertion(clientId, ec), { scope: 'system/Task.rs system/Task.cud system/Patient.rs' }));
    expect(partly.status, partly.text).toBe(200);
    expect(partly.body.scope).toBe('system/Task.rs');
    expect(decodeJwt(partly.body.access_token).scope).toBe('system/Task.rs');

    const wider = await tokenRequest(assertionForm(await assertion(clientId, ec), { scope: 'system/*.cruds' }));
    expect(wider.status).toBe(400);
    expect(wider.body).toEqual({
      error: 'invalid_scope',
      error_description: "No requested scope is within this client's registered scopes: system/Task.rs system/Procedure.c",
    });
    expect(wider.headers.get('cache-control')).toBe('no-store');
  });

  it('narrows secret clients the same way', async () => {
    const secretClient = await createClient(server.db, { ...base, scopes: ['system/Patient.rs'] });
    const res = await tokenRequest({ grant_type: 'client_credentials', scope: 'system/Patient.cruds' }, basic(secretClient.client_id, secretClient.client_secret));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: "No requested scope is within this client's registered scopes: system/Patient.rs" });
  });
});

describe('discovery', () => {
  it('advertises private_key_jwt, the signing algorithms and SMART v2 permissions', async () => {
    const res = await server.request('GET', '/.well-known/smart-configuration', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      token_endpoint: tokenUrl,
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/*.rs', 'system/*.cruds'],
      capabilities: ['client-confidential-asymmetric', 'client-confidential-symmetric', 'permission-v2'],
    });
  });
});

describe('registration', () => {
  async function refused(input: Partial<NewClient>, allowHttpEndpoints = false): Promise<string> {
    try {
      await createClient(server.db, { ...base, ...input }, { allowHttpEndpoints });
    } catch (error) {
      expect(error).toBeInstanceOf(ClientInputError);
      return (error as Error).message;
    }
    throw new Error('createClient accepted the input');
  }

  it('stores a JWKS client with no secret and the default scopes', async () => {
    const clientId = await jwksClient([rsa]);
    const rows = await server.db.query<{ secret_hash: string | null; jwks_url: string | null; scopes: string[] }>(
      `SELECT secret_hash, jwks_url, scopes FROM client WHERE client_id = $1`,
      [clientId],
    );
    expect(rows).toEqual([{ secret_hash: null, jwks_url: null, scopes: ['system/*.cruds'] }]);
  });

  it('refuses private keys, symmetric keys, keys without a kid, unusable curves and empty sets', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    expect(await refused({ jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k' }] } })).toBe(
      '--jwks keys[0] holds private key material (d): register the public keys only',
    );
    expect(await refused({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k' }] } })).toBe('--jwks keys[0] holds private key material (k): register the public keys only');
    const { kid: _kid, ...noKid } = rsa.publicJwk;
    expect(await refused({ jwks: { keys: [noKid] } })).toBe('--jwks keys[0] needs a kid: assertions name their signing key by kid');
    const p256 = await generateKeyPair('ES256', { extractable: true });
    expect(await refused({ jwks: { keys: [{ ...(await exportJWK(p256.publicKey)), kid: 'k' }] } })).toBe(
      '--jwks keys[0] must use curve P-384: assertions are signed with ES384',
    );
    expect(await refused({ jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'k' }] } })).toBe('--jwks must hold at least one RSA or EC public key');
    expect(await refused({ jwks: { keys: [] } })).toBe('--jwks must hold a JSON Web Key Set: {"keys":[...]}');
    expect(await refused({ jwks: [rsa.publicJwk] })).toBe('--jwks must hold a JSON Web Key Set: {"keys":[...]}');
    expect(await refused({ jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'k' }] } })).toBe('--jwks keys[0] must be an RSA key of at least 2048 bits');
  });

  it('refuses an http jwks_url unless http endpoints are allowed, and both key sources at once', async () => {
    expect(await refused({ jwksUrl: 'http://keys.example.org/jwks.json' })).toBe('--jwks-url must be an https URL (http only with ALLOW_HTTP_ENDPOINTS=true)');
    expect(await refused({ jwksUrl: 'not a url' })).toBe('--jwks-url must be a URL');
    expect(await refused({ jwksUrl: 'https://keys.example.org/jwks.json', jwks: { keys: [rsa.publicJwk] } })).toBe('--jwks and --jwks-url exclude each other');
    const https = await createClient(server.db, { ...base, jwksUrl: 'https://keys.example.org/jwks.json' });
    expect(Object.keys(https)).toEqual(['client_id']);
  });

  it('refuses scopes that do not parse', async () => {
    expect(await refused({ scopes: ['patient/*.rs'] })).toBe("--scope 'patient/*.rs' is not a SMART system scope such as system/Task.rs or system/*.cruds");
    expect(await refused({ scopes: ['system/Task.sr'] })).toBe("--scope 'system/Task.sr' is not a SMART system scope such as system/Task.rs or system/*.cruds");
    expect(await refused({ scopes: [] })).toBe('--scope must name at least one scope');
  });
});

describe('npm run cli -- client create', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-cli-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    for (const name of ['DATABASE_URL', 'TEST_DB', 'BASE_URL', 'NODE_OPTIONS', 'ALLOW_HTTP_ENDPOINTS']) delete env[name];
    const child = spawn(process.execPath, ['src/cli.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('registers a JWKS client with scopes, prints only its id, and refuses bad input', async () => {
    const file = path.join(dataDir, 'jwks.json');
    fs.writeFileSync(file, JSON.stringify({ keys: [rsa.publicJwk] }));
    const args = ['client', 'create', '--name', 'EHR backend', '--role', 'hub-admin', '--org', 'Organization/hub'];
    const created = await cli([...args, '--jwks', file, '--scope', 'system/Task.rs system/Procedure.c', '--scope', 'system/Patient.rs']);
    expect(created.code, created.stderr).toBe(0);
    const printed = JSON.parse(created.stdout) as Record<string, string>;
    expect(Object.keys(printed)).toEqual(['client_id']);

    const httpUrl = await cli([...args, '--jwks-url', 'http://keys.example.org/jwks.json']);
    expect(httpUrl.code).toBe(2);
    expect(httpUrl.stderr.trim()).toBe('--jwks-url must be an https URL (http only with ALLOW_HTTP_ENDPOINTS=true)');
    const missing = await cli([...args, '--jwks', path.join(dataDir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`--jwks ${path.join(dataDir, 'nope.json')}: ENOENT`);

    const db = await openPglite(dataDir);
    try {
      const rows = await db.query<{ secret_hash: string | null; jwks: unknown; scopes: string[] }>(`SELECT secret_hash, jwks, scopes FROM client`);
      expect(rows).toEqual([{ secret_hash: null, jwks: { keys: [rsa.publicJwk] }, scopes: ['system/Task.rs', 'system/Procedure.c', 'system/Patient.rs'] }]);
    } finally {
      await db.close();
    }
  });
});
