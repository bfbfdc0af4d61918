// OAuth 2.0 client credentials at /auth/token, and the SMART discovery document. Clients
// authenticate with HTTP Basic (client_secret_basic) or a signed JWT (private_key_jwt, SMART
// Backend Services), whichever they were registered for; tokens carry the granted system scopes.
// Token errors use the OAuth 2.0 error format (RFC 6749 §5.2), which OAuth clients parse.
import express, { type Router } from 'express';
import type { Database } from '../store/database.ts';
import { ASSERTION_ALGORITHMS, ClientAssertionError, ClientAssertionVerifier, JWT_BEARER_ASSERTION } from '../policy/client-assertion.ts';
import { authenticateClient, type Client } from '../policy/client-registry.ts';
import { grantScopes } from '../policy/smart-scope.ts';
import type { TokenService } from '../policy/token-service.ts';

interface OAuthError {
  status: number;
  error: string;
  description: string;
}

function basicCredentials(header: string | undefined): [string, string] | undefined {
  const match = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  try {
    return [decodeURIComponent(decoded.slice(0, colon)), decodeURIComponent(decoded.slice(colon + 1))];
  } catch {
    return undefined; // broken percent-encoding: treated as no credentials
  }
}

/** The form's fields; RFC 6749 §3.2 forbids repeating one, which would make its value ambiguous. */
function formFields(body: unknown): Record<string, string> | string {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') return name;
    fields[name] = value;
  }
  return fields;
}

export function authRoutes(db: Database, tokens: TokenService, publicBase: (req: express.Request) => string): Router {
  const router = express.Router();
  const assertions = new ClientAssertionVerifier(db);
  // The Basic challenge is for callers that did not try a client assertion (RFC 6749 §5.2).
  const fail = (res: express.Response, e: OAuthError, challenge = e.status === 401) => {
    if (challenge) res.set('WWW-Authenticate', 'Basic realm="token"');
    res.status(e.status).set('Cache-Control', 'no-store').json({ error: e.error, error_description: e.description });
  };

  router.post('/auth/token', express.urlencoded({ extended: false, limit: '64kb' }), async (req, res, next) => {
    try {
      const form = formFields(req.body);
      if (typeof form === 'string') return fail(res, { status: 400, error: 'invalid_request', description: `${form} must not be repeated` });
      if (!form.grant_type) return fail(res, { status: 400, error: 'invalid_request', description: 'grant_type is required' });
      if (form.grant_type !== 'client_credentials') {
        return fail(res, { status: 400, error: 'unsupported_grant_type', description: 'grant_type must be client_credentials' });
      }

      let client: Client | undefined;
      if (form.client_assertion_type !== undefined || form.client_assertion !== undefined) {
        if (req.get('authorization')) {
          return fail(res, { status: 400, error: 'invalid_request', description: 'Use one client authentication method: HTTP Basic or client_assertion' });
        }
        if (form.client_assertion_type !== JWT_BEARER_ASSERTION) {
          return fail(res, { status: 400, error: 'invalid_request', description: `client_assertion_type must be ${JWT_BEARER_ASSERTION}` });
        }
        if (!form.client_assertion) return fail(res, { status: 400, error: 'invalid_request', description: 'client_assertion is required' });
        try {
          client = await assertions.verify(form.client_assertion, `${publicBase(req)}/auth/token`, form.client_id);
        } catch (error) {
          if (error instanceof ClientAssertionError) return fail(res, { status: 401, error: 'invalid_client', description: error.message }, false);
          throw error;
        }
      } else {
        const credentials = basicCredentials(req.get('authorization'));
        if (!credentials) {
          return fail(res, { status: 401, error: 'invalid_client', description: 'Client authentication is required: HTTP Basic or a client_assertion' });
        }
        client = await authenticateClient(db, credentials[0], credentials[1]);
        if (!client) return fail(res, { status: 401, error: 'invalid_client', description: 'Unknown client or wrong secret' });
      }

      let purpose = form.purpose_of_use;
      if (purpose !== undefined && !client.purposes.includes(purpose)) {
        return fail(res, { status: 400, error: 'invalid_request', description: `purpose_of_use ${purpose} is not registered for this client` });
      }
      if (purpose === undefined && client.purposes.length > 1) {
        return fail(res, { status: 400, error: 'invalid_request', description: `purpose_of_use is required: one of ${client.purposes.join(', ')}` });
      }
      purpose ??= client.purposes[0];

      const scopes = grantScopes(form.scope, client.scopes);
      if (scopes.length === 0) {
        return fail(res, { status: 400, error: 'invalid_scope', description: `No requested scope is within this client's registered scopes: ${client.scopes.join(' ')}` });
      }
      const accessToken = await tokens.issue({ clientId: client.clientId, role: client.role, organization: client.organization, purposeOfUse: purpose, scopes });
      res.set('Cache-Control', 'no-store').json({ access_token: accessToken, token_type: 'Bearer', expires_in: tokens.ttlSeconds, scope: scopes.join(' ') });
    } catch (error) {
      next(error);
    }
  });

  router.get('/.well-known/smart-configuration', (req, res) => {
    const base = publicBase(req);
    res.json({
      token_endpoint: `${base}/auth/token`,
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
      token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/*.rs', 'system/*.cruds'],
      capabilities: ['client-confidential-asymmetric', 'client-confidential-symmetric', 'permission-v2'],
    });
  });
  return router;
}
