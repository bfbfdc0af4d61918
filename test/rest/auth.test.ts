// Authentication and the token endpoint: bearer tokens on every FHIR route but /metadata,
// OAuth 2.0 client credentials at /auth/token, purpose of use, the deny-by-default policy, and
// what the CapabilityStatement and SMART configuration advertise.
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/policy/client-registry.ts';
import { startTestServer, type HttpResult, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const ISSUER = 'urn:cch-fhir-server';
const AUDIENCE = 'urn:cch-fhir-server:api';
const patient = { resourceType: 'Patient', name: [{ family: 'Okafor' }] };

/** Anything jose can sign with (a KeyObject/CryptoKey, or an HMAC secret). */
type SigningKey = Parameters<SignJWT['sign']>[0];

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function tokenRequest(form: Record<string, string>, authorization?: string): Promise<HttpResult> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.authorization = authorization;
  return server.request('POST', '/auth/token', { rawBody: new URLSearchParams(form).toString(), headers, token: null });
}

async function newClient(purposes: string[] = [], role = 'hub-admin') {
  return createClient(server.db, { name: `auth test ${role}`, role, organization: 'Organization/hub', purposes });
}

/** The server's own signing key, read from the database (as every server process does). */
async function serverSigningKey(): Promise<{ kid: string; key: SigningKey }> {
  const rows = await server.db.query<{ kid: string; private_jwk: JWK | string }>(`SELECT kid, private_jwk FROM signing_key ORDER BY created_at DESC LIMIT 1`);
  expect(rows).toHaveLength(1);
  const jwk = typeof rows[0].private_jwk === 'string' ? (JSON.parse(rows[0].private_jwk) as JWK) : rows[0].private_jwk;
  return { kid: rows[0].kid, key: await importJWK(jwk, 'ES256') };
}

interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  role?: string;
  iat?: number;
  exp?: number;
}

async function signWith(key: SigningKey, kid: string, claims: Claims = {}, alg = 'ES256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: claims.role ?? 'hub-admin', org: 'Organization/hub', purpose_of_use: 'HOPERAT', scope: 'system/*.cruds' })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject(claims.sub ?? 'forged-client')
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 300);
  return jwt.sign(key);
}

function expectUnauthorized(res: HttpResult, invalidToken: boolean): void {
  expect(res.status, res.text).toBe(401);
  expect(res.headers.get('content-type')).toContain('application/fhir+json');
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0].severity).toBe('error');
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer\b/);
  if (invalidToken) expect(challenge).toContain('error="invalid_token"');
  else expect(challenge).not.toContain('error=');
}

describe('requests without a valid token', () => {
  it('answers 401 with WWW-Authenticate: Bearer to every FHIR interaction without a token', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient });
    expect(created.status).toBe(201);
    const id = created.body.id;
    for (const [method, path, body] of [
      ['GET', `/fhir/Patient/${id}`],
      ['GET', '/fhir/Patient'],
      ['GET', '/fhir/_history'],
      ['POST', '/fhir/Patient', patient],
      ['PUT', `/fhir/Patient/${id}`, { ...patient, id }],
      ['DELETE', `/fhir/Patient/${id}`],
      ['POST', '/fhir', { resourceType: 'Bundle', type: 'batch', entry: [] }],
    ] as const) {
      const res = await server.request(method, path, { body, token: null });
      expectUnauthorized(res, false);
      expect(res.text, `${method} ${path}`).not.toContain('Okafor');
    }
    // Nothing was deleted or written.
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.meta.versionId).toBe('1');
  });

  it('answers 401 to a non-Bearer Authorization header', async () => {
    const res = await server.request('GET', '/fhir/Patient', { token: null, headers: { authorization: basic('a', 'b') } });
    expectUnauthorized(res, false);
  });

  it('answers 401 to unknown paths outside /fhir without a token', async () => {
    const res = await server.request('GET', '/admin', { token: null });
    expectUnauthorized(res, false);
  });

  it('rejects a token signed with a different key (forged), naming invalid_token', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await signWith(privateKey, 'k1');
    expect(decodeProtectedHeader(forged).kid).toBe(decodeProtectedHeader(server.token).kid);
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: forged }), true);
  });

  it('rejects a token with an unknown key id', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: await signWith(privateKey, 'no-such-kid') }), true);
  });

  it('rejects an HS256 token (algorithm confusion) and an unsigned token', async () => {
    const { kid } = await serverSigningKey();
    const hmac = await signWith(new TextEncoder().encode('x'.repeat(32)), kid, {}, 'HS256');
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: hmac }), true);
    const [, payload] = server.token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid, typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: none }), true);
  });

  it('rejects a real token whose payload was altered', async () => {
    const [header, payload, signature] = server.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const altered = Buffer.from(JSON.stringify({ ...claims, org: 'Organization/elsewhere' })).toString('base64url');
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: `${header}.${altered}.${signature}` }), true);
  });

  it('rejects garbage that is not a JWT', async () => {
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: 'not-a-jwt' }), true);
  });

  it('accepts a token signed with the server key (control for the tests below)', async () => {
    const { kid, key } = await serverSigningKey();
    const res = await server.request('GET', '/fhir/Patient', { token: await signWith(key, kid) });
    expect(res.status, res.text).toBe(200);
  });

  it('rejects an expired token signed with the server key', async () => {
    const { kid, key } = await serverSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWith(key, kid, { iat: now - 600, exp: now - 60 });
    const res = await server.request('GET', '/fhir/Patient', { token: expired });
    expectUnauthorized(res, true);
    expect(res.headers.get('www-authenticate')).toContain('expired');
  });

  it('rejects server-signed tokens with the wrong issuer, audience or an unknown role', async () => {
    const { kid, key } = await serverSigningKey();
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: await signWith(key, kid, { iss: 'urn:someone-else' }) }), true);
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: await signWith(key, kid, { aud: 'urn:other-api' }) }), true);
    expectUnauthorized(await server.request('GET', '/fhir/Patient', { token: await signWith(key, kid, { role: 'superuser' }) }), true);
  });
});

describe('public endpoints', () => {
  it('serves /fhir/metadata without a token', async () => {
    const res = await server.request('GET', '/fhir/metadata', { token: null });
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
  });

  it('serves /healthz and /readyz without a token', async () => {
    const health = await server.request('GET', '/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    const ready = await server.request('GET', '/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
  });

  it('serves the SMART configuration without a token', async () => {
    const res = await server.request('GET', '/.well-known/smart-configuration', { token: null });
    expect(res.status).toBe(200);
    expect(res.body.token_endpoint).toBe(`${server.url}/auth/token`);
    expect(res.body.grant_types_supported).toEqual(['client_credentials']);
    expect(res.body.token_endpoint_auth_methods_supported).toContain('client_secret_basic');
  });
});

describe('/auth/token', () => {
  it('issues a Bearer token with the documented response shape', async () => {
    const client = await newClient();
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(client.client_id, client.client_secret));
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.expires_in).toBe(server.config.tokenTtlSeconds);
    expect(res.body.scope).toBe('system/*.cruds');
    const claims = decodeJwt(res.body.access_token);
    expect(claims.sub).toBe(client.client_id);
    expect(claims.role).toBe('hub-admin');
    expect(claims.org).toBe('Organization/hub');
    expect(claims.iss).toBe(ISSUER);
    expect(claims.aud).toBe(AUDIENCE);
    expect(claims.exp! - claims.iat!).toBe(server.config.tokenTtlSeconds);
    expect(decodeProtectedHeader(res.body.access_token).alg).toBe('ES256');
    // And it works.
    expect((await server.request('GET', '/fhir/Patient', { token: res.body.access_token })).status).toBe(200);
  });

  it('answers 401 invalid_client to a wrong secret, with no token', async () => {
    const client = await newClient();
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(client.client_id, `${client.client_secret}x`));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.access_token).toBeUndefined();
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers 401 invalid_client to an unknown client and to missing credentials', async () => {
    const unknown = await tokenRequest({ grant_type: 'client_credentials' }, basic('no-such-client', 'secret'));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_client');
    const none = await tokenRequest({ grant_type: 'client_credentials' });
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('invalid_client');
  });

  it('answers 401 invalid_client to a deactivated client', async () => {
    const client = await newClient();
    await server.db.query(`UPDATE client SET active = false WHERE client_id = $1`, [client.client_id]);
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(client.client_id, client.client_secret));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('answers with an OAuth error, not a 500, to malformed percent-encoding in Basic credentials', async () => {
    const client = await newClient();
    const header = `Basic ${Buffer.from(`${client.client_id}:%E0%A4%A`).toString('base64')}`;
    const res = await tokenRequest({ grant_type: 'client_credentials' }, header);
    expect([400, 401], res.text).toContain(res.status);
    expect(['invalid_client', 'invalid_request']).toContain(res.body?.error);
  });

  it('answers 400 unsupported_grant_type to another grant type', async () => {
    const client = await newClient();
    for (const grant_type of ['password', 'authorization_code']) {
      const res = await tokenRequest({ grant_type }, basic(client.client_id, client.client_secret));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unsupported_grant_type');
      expect(res.body.access_token).toBeUndefined();
    }
  });

  it('echoes a requested scope in the response and the token', async () => {
    const client = await newClient();
    const res = await tokenRequest({ grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic(client.client_id, client.client_secret));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('system/Patient.rs');
    expect(decodeJwt(res.body.access_token).scope).toBe('system/Patient.rs');
  });
});

describe('purpose of use', () => {
  it('requires a client with two registered purposes to name one', async () => {
    const client = await newClient(['TREAT', 'HOPERAT']);
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(client.client_id, client.client_secret));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.access_token).toBeUndefined();
  });

  it('rejects a purpose the client is not registered for', async () => {
    const client = await newClient(['TREAT', 'HOPERAT']);
    const res = await tokenRequest({ grant_type: 'client_credentials', purpose_of_use: 'ETREAT' }, basic(client.client_id, client.client_secret));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.access_token).toBeUndefined();
  });

  it('puts the chosen purpose in the purpose_of_use claim', async () => {
    const client = await newClient(['TREAT', 'HOPERAT']);
    for (const purpose of ['TREAT', 'HOPERAT']) {
      const res = await tokenRequest({ grant_type: 'client_credentials', purpose_of_use: purpose }, basic(client.client_id, client.client_secret));
      expect(res.status, res.text).toBe(200);
      expect(decodeJwt(res.body.access_token).purpose_of_use).toBe(purpose);
    }
  });

  it('uses the only registered purpose when none is named', async () => {
    const client = await newClient(['HOPERAT']);
    const res = await tokenRequest({ grant_type: 'client_credentials' }, basic(client.client_id, client.client_secret));
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).purpose_of_use).toBe('HOPERAT');
  });

  it('rejects any purpose for a client with none registered', async () => {
    const client = await newClient([]);
    const res = await tokenRequest({ grant_type: 'client_credentials', purpose_of_use: 'TREAT' }, basic(client.client_id, client.client_secret));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('policy: deny by default for roles without a disclosure profile', () => {
  it('denies a cbo token with 403 on reads, searches and writes', async () => {
    const created = await server.request('POST', '/fhir/Patient', { body: patient });
    const id = created.body.id;
    const cbo = await server.tokenFor('cbo', 'Organization/food-bank');
    expect(decodeJwt(cbo).role).toBe('cbo');
    for (const [method, path, body] of [
      ['GET', `/fhir/Patient/${id}`],
      ['GET', '/fhir/Patient'],
      ['GET', `/fhir/Patient/${id}/_history`],
      ['POST', '/fhir/Patient', patient],
      ['PUT', `/fhir/Patient/${id}`, { ...patient, id, name: [{ family: 'Changed' }] }],
      ['DELETE', `/fhir/Patient/${id}`],
    ] as const) {
      const res = await server.request(method, path, { body, token: cbo });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].code).toBe('forbidden');
      expect(res.text).not.toContain('Okafor');
    }
    const read = await server.request('GET', `/fhir/Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.meta.versionId).toBe('1');
  });

  it('denies a cbo transaction and batch', async () => {
    const cbo = await server.tokenFor('cbo', 'Organization/food-bank');
    const transaction = await server.request('POST', '/fhir', {
      token: cbo,
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient, request: { method: 'POST', url: 'Patient' } }] },
    });
    expect(transaction.status).toBe(403);
    const batch = await server.request('POST', '/fhir', {
      token: cbo,
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient' } }] },
    });
    expect(batch.status).toBe(403);
  });

  it('still lets a cbo read the capability statement', async () => {
    const cbo = await server.tokenFor('cbo', 'Organization/food-bank');
    expect((await server.request('GET', '/fhir/metadata', { token: cbo })).status).toBe(200);
  });
});

describe('CapabilityStatement', () => {
  it('describes an R4 server with system interactions and the OAuth token URL', async () => {
    const res = await server.request('GET', '/fhir/metadata', { token: null });
    const cs = res.body;
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.kind).toBe('instance');
    expect(cs.status).toBe('active');
    expect(cs.format).toContain('application/fhir+json');
    expect(cs.format).not.toContain('xml');
    expect(cs.patchFormat).toContain('application/json-patch+json');
    const rest = cs.rest[0];
    expect(rest.mode).toBe('server');
    expect(rest.interaction.map((i: { code: string }) => i.code)).toEqual(expect.arrayContaining(['transaction', 'batch', 'history-system']));
    const oauth = rest.security.extension.find((e: { url: string }) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    expect(oauth.extension.find((e: { url: string }) => e.url === 'token').valueUri).toBe(`${server.url}/auth/token`);
    expect(rest.security.service[0].coding[0].code).toBe('OAuth');
  });

  it('lists Patient with its interactions, versioning and conditional support', async () => {
    const res = await server.request('GET', '/fhir/metadata', { token: null });
    const patientResource = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patientResource).toBeDefined();
    expect(patientResource.interaction.map((i: { code: string }) => i.code)).toEqual(
      expect.arrayContaining(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type']),
    );
    expect(patientResource.versioning).toBe('versioned-update');
    expect(patientResource.readHistory).toBe(true);
    expect(patientResource.updateCreate).toBe(true);
    expect(patientResource.conditionalCreate).toBe(true);
    expect(patientResource.conditionalUpdate).toBe(true);
    expect(patientResource.conditionalDelete).toBe('single');
    expect(patientResource.conditionalRead).toBe('full-support');
    expect(patientResource.searchParam.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['_id', '_lastUpdated', 'identifier']));
    // Every R4 resource type is served, once each.
    const types = res.body.rest[0].resource.map((r: { type: string }) => r.type);
    expect(new Set(types).size).toBe(types.length);
    expect(types).toEqual(expect.arrayContaining(['Observation', 'Organization', 'ServiceRequest', 'Task']));
  });

  it('is itself a valid R4 resource (the server accepts it as a CapabilityStatement)', async () => {
    const metadata = await server.request('GET', '/fhir/metadata', { token: null });
    const res = await server.request('POST', '/fhir/CapabilityStatement', { body: metadata.body });
    expect(res.status, res.text).toBe(201);
  });
});
