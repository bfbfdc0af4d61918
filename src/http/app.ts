// The Express adapter: request ids and logs, health probes, auth, FHIR routes, one error handler.
import { randomUUID } from 'node:crypto';
import express, { type Express, type Request } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { FhirError } from '../fhir/errors.ts';
import type { FhirEngine } from '../fhir/engine.ts';
import { checkMethod, isWrite, parseRoute } from '../fhir/router.ts';
import type { FhirMethod, RequestContext } from '../fhir/types.ts';
import { anonymousActor, type Actor } from '../policy/actor.ts';
import type { TokenService } from '../policy/token-service.ts';
import type { Database } from '../store/database.ts';
import { authRoutes } from './auth-routes.ts';
import { authenticate } from './authenticate.ts';
import { errorHandler } from './error-handler.ts';
import { checkAcceptable, toFhirRequest } from './fhir-request.ts';
import { parsePrefer, sendFhirResponse } from './fhir-response.ts';

export interface AppDeps {
  config: Config;
  db: Database;
  engine: FhirEngine;
  tokens: TokenService;
  logger: Logger;
}

const REQUEST_ID = /^[A-Za-z0-9\-_.]{1,64}$/;

export function createApp({ config, db, engine, tokens, logger }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are resource versions, set by the FHIR layer
  app.set('query parser', 'simple');

  const publicBase = (req: Request) => config.baseUrl ?? `${req.protocol}://${req.get('host')}`;

  // Request id (the caller's, when sane) and one log line per request: method, path, status, time.
  // Never the query string or body, which may carry PHI.
  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const actor = res.locals.actor as Actor | undefined;
      logger.info(
        { reqId: requestId, method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, client: actor?.clientId },
        'request',
      );
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await db.ping();
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'database unreachable' });
    }
  });

  app.use(authRoutes(db, tokens, publicBase));

  const fhir = express.Router();
  const rawBody = express.raw({ type: () => true, limit: config.maxBodyBytes });
  const handle = async (req: Request, res: express.Response, actor: Actor) => {
    const path = req.path.replace(/^\/+/, '');
    checkAcceptable(req);
    // Route and method first: a wrong URL or method is a 404/405 whatever the body looks like.
    checkMethod(parseRoute(path), req.method.toUpperCase() as FhirMethod);
    const request = toFhirRequest(req, path);
    const ctx: RequestContext = { requestId: res.locals.requestId as string, actor, fhirBase: `${publicBase(req)}/fhir` };
    const prefer = parsePrefer(req.get('prefer')).return;
    const response = await engine.handle(request, ctx, prefer !== 'minimal');
    sendFhirResponse(res, response, prefer, isWrite(request.method) && path !== '' && !path.endsWith('/_search'));
  };
  // The capability statement is public; everything else needs a token.
  fhir.get('/metadata', rawBody, async (req, res) => {
    await handle(req, res, anonymousActor(config.hubOrganization));
  });
  fhir.use(authenticate(tokens));
  fhir.all('/{*path}', rawBody, async (req, res) => {
    await handle(req, res, res.locals.actor as Actor);
  });
  app.use('/fhir', fhir);

  app.use(authenticate(tokens));
  app.use((req, _res, next) => next(new FhirError(404, { code: 'not-found', diagnostics: `No endpoint at ${req.path}` })));
  app.use(errorHandler(logger, config.maxBodyBytes));
  return app;
}
