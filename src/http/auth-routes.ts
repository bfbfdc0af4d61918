// OAuth 2.0 client credentials at /auth/token, and the SMART discovery document.
// Token errors use the OAuth 2.0 error format (RFC 6749 §5.2), which OAuth clients parse.
import express, { type Router } from 'express';
import type { Database } from '../store/database.ts';
import { authenticateClient } from '../policy/client-registry.ts';
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

export function authRoutes(db: Database, tokens: TokenService, publicBase: (req: express.Request) => string): Router {
  const router = express.Router();
  const fail = (res: express.Response, e: OAuthError) => {
    if (e.status === 401) res.set('WWW-Authenticate', 'Basic realm="token"');
    res.status(e.status).set('Cache-Control', 'no-store').json({ error: e.error, error_description: e.description });
  };

  router.post('/auth/token', express.urlencoded({ extended: false, limit: '64kb' }), async (req, res, next) => {
    try {
      const form = (req.body ?? {}) as Record<string, string | undefined>;
      if (!form.grant_type) return fail(res, { status: 400, error: 'invalid_request', description: 'grant_type is required' });
      if (form.grant_type !== 'client_credentials') {
        return fail(res, { status: 400, error: 'unsupported_grant_type', description: 'grant_type must be client_credentials' });
      }
      const credentials = basicCredentials(req.get('authorization'));
      if (!credentials) return fail(res, { status: 401, error: 'invalid_client', description: 'HTTP Basic client authentication is required' });
      const client = await authenticateClient(db, credentials[0], credentials[1]);
      if (!client) return fail(res, { status: 401, error: 'invalid_client', description: 'Unknown client or wrong secret' });

      let purpose = form.purpose_of_use;
      if (purpose !== undefined && !client.purposes.includes(purpose)) {
        return fail(res, { status: 400, error: 'invalid_request', description: `purpose_of_use ${purpose} is not registered for this client` });
      }
      if (purpose === undefined && client.purposes.length > 1) {
        return fail(res, { status: 400, error: 'invalid_request', description: `purpose_of_use is required: one of ${client.purposes.join(', ')}` });
      }
      purpose ??= client.purposes[0];
      const scope = form.scope?.trim() || 'system/*.cruds';
      const accessToken = await tokens.issue({ clientId: client.clientId, role: client.role, organization: client.organization, purposeOfUse: purpose, scopes: scope.split(/\s+/) });
      res.set('Cache-Control', 'no-store').json({ access_token: accessToken, token_type: 'Bearer', expires_in: tokens.ttlSeconds, scope });
    } catch (error) {
      next(error);
    }
  });

  router.get('/.well-known/smart-configuration', (req, res) => {
    const base = publicBase(req);
    res.json({
      token_endpoint: `${base}/auth/token`,
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/*.cruds'],
      capabilities: ['client-confidential-symmetric'],
    });
  });
  return router;
}
