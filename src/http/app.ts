// The Express adapter: request ids and logs, health probes, auth, FHIR routes, one error handler.
import { randomUUID } from 'node:crypto';
import express, { type Express, type Request } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { FhirError } from '../fhir/errors.ts';
import type { FhirEngine } from '../fhir/engine.ts';
import { checkMethod, isWrite, parseRoute } from '../fhir/router.ts';
import type { FhirMethod, FhirRequest, FhirResponse, RequestContext } from '../fhir/types.ts';
import { anonymousActor, type Actor } from '../policy/actor.ts';
import { AuditTrail } from '../policy/audit-trail.ts';
import type { TokenService } from '../policy/token-service.ts';
import { ADMIN_QUEUES_PATH, adminQueuesRouter } from '../queue/admin-router.ts';
import type { QueueService } from '../queue/queue-service.ts';
import type { Database } from '../store/database.ts';
import { authRoutes } from './auth-routes.ts';
import { bulkDataRoutes } from './bulk-data-routes.ts';
import { BULK_DATA_PATH } from '../measures/bulk-export/export-urls.ts';
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
  /** When the queues run: /readyz checks Redis and hub-admin gets the dashboard at /admin/queues. */
  queues?: QueueService;
}

/** What an error is, without its message (database errors can quote row values, i.e. PHI). */
const errorKind = (error: unknown) => ({ type: (error as Error)?.name, code: (error as { code?: string })?.code });

const REQUEST_ID = /^[A-Za-z0-9\-_.]{1,64}$/;

export function createApp({ config, db, engine, tokens, logger, queues }: AppDeps): Express {
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
    } catch {
      res.status(503).json({ status: 'database unreachable' });
      return;
    }
    try {
      await queues?.ping();
    } catch {
      res.status(503).json({ status: 'redis unreachable' });
      return;
    }
    res.json({ status: 'ready' });
  });

  app.use(authRoutes(db, tokens, publicBase));

  const fhir = express.Router();
  const rawBody = express.raw({ type: () => true, limit: config.maxBodyBytes });
  const handle = async (req: Request, res: express.Response, actor: Actor, audited: boolean) => {
    const path = req.path.replace(/^\/+/, '');
    const ctx: RequestContext = { requestId: res.locals.requestId as string, actor, fhirBase: `${publicBase(req)}/fhir`, audit: new AuditTrail() };
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
    const audit = (status: number) => engine.recordAudit(ctx, { method: req.method, path, query, status });
    let response: FhirResponse;
    let request: FhirRequest;
    const prefer = parsePrefer(req.get('prefer')).return;
    try {
      checkAcceptable(req);
      // Route and method first: a wrong URL or method is a 404/405 whatever the body looks like.
      checkMethod(parseRoute(path), req.method.toUpperCase() as FhirMethod);
      request = toFhirRequest(req, path);
      response = await engine.handle(request, ctx, prefer !== 'minimal');
    } catch (error) {
      // Denied and failed requests are audited too; the error goes out whether or not that worked.
      if (audited) await audit(error instanceof FhirError ? error.status : 500).catch((auditError: unknown) => logger.error({ err: errorKind(auditError) }, 'audit write failed'));
      throw error;
    }
    if (audited) {
      try {
        await audit(response.status);
      } catch (error) {
        // Fail closed: what cannot be audited is not disclosed.
        logger.error({ err: errorKind(error) }, 'audit write failed; response withheld');
        throw new FhirError(503, { code: 'transient', diagnostics: 'The audit record could not be written, so nothing was disclosed; retry later' });
      }
    }
    sendFhirResponse(res, response, prefer, isWrite(request.method) && path !== '' && !path.endsWith('/_search'));
  };
  // The capability statement is public; everything else needs a token.
  fhir.get('/metadata', rawBody, async (req, res) => {
    await handle(req, res, anonymousActor(config.hubOrganization), false);
  });
  fhir.use(authenticate(tokens));
  fhir.all('/{*path}', rawBody, async (req, res) => {
    await handle(req, res, res.locals.actor as Actor, true);
  });
  app.use('/fhir', fhir);

  // Bulk Data status and files (layout in src/measures/bulk-export/export-urls.ts).
  app.use(BULK_DATA_PATH, authenticate(tokens), bulkDataRoutes({ config, db, engine, logger }));
  if (queues) app.use(ADMIN_QUEUES_PATH, authenticate(tokens), adminQueuesRouter(queues.queues));

  app.use(authenticate(tokens));
  app.use((req, _res, next) => next(new FhirError(404, { code: 'not-found', diagnostics: `No endpoint at ${req.path}` })));
  app.use(errorHandler(logger, config.maxBodyBytes));
  return app;
}
