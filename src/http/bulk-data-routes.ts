// Bulk Data status and file endpoints (layout in src/measures/bulk-export/export-urls.ts), mounted
// behind authenticate. Only the client that kicked an export off may poll, cancel or download it:
// for any other client, and once the files have expired, the job does not exist (404). Each file
// download is audited before a byte is sent (fail closed, like FHIR responses).
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { FhirEngine } from '../fhir/engine.ts';
import { FhirError, notFound, operationOutcome } from '../fhir/errors.ts';
import type { RequestContext } from '../fhir/types.ts';
import { removeExport } from '../measures/bulk-export/export-expiry.ts';
import { ExportFileStore } from '../measures/bulk-export/export-file-store.ts';
import { isExpired, jobFiles, readJob, type ExportJob } from '../measures/bulk-export/export-job-store.ts';
import { exportManifest } from '../measures/bulk-export/export-manifest.ts';
import type { Actor } from '../policy/actor.ts';
import { AuditTrail } from '../policy/audit-trail.ts';
import type { Database } from '../store/database.ts';
import { FHIR_JSON } from './fhir-response.ts';

/** How long a client should wait before polling again (export.md suggests Retry-After). */
const RETRY_AFTER_SECONDS = '2';

export function bulkDataRoutes(deps: { config: Config; db: Database; engine: FhirEngine; logger: Logger }): Router {
  const { db, engine } = deps;
  const store = new ExportFileStore(deps.config.dataDir);
  const router = express.Router();

  /** The caller's own, unexpired job, or 404. */
  const ownJob = async (req: Request, res: Response): Promise<ExportJob> => {
    const actor = res.locals.actor as Actor;
    const jobId = String(req.params.jobId);
    const job = await readJob(db, jobId);
    if (!job || job.clientId !== actor.clientId) throw notFound(`No export ${jobId}`);
    if (isExpired(job)) {
      await removeExport(db, store, job.id);
      throw notFound(`No export ${jobId}`);
    }
    return job;
  };

  router.get('/export/:jobId', async (req, res) => {
    const job = await ownJob(req, res);
    if (job.status === 'failed') throw new FhirError(500, { code: 'exception', diagnostics: job.error ?? 'The export failed' });
    if (job.status !== 'completed') {
      res.status(202).set({ 'X-Progress': (job.progress ?? 'accepted, not started').slice(0, 100), 'Retry-After': RETRY_AFTER_SECONDS }).end();
      return;
    }
    const manifest = exportManifest(job, await jobFiles(db, job.id));
    res.status(200).set('Expires', new Date(job.expiresAt!).toUTCString()).type('application/json').send(JSON.stringify(manifest));
  });

  // export.md "Delete a Bulk Data Request": 202; the files are removed and the status URL is gone.
  router.delete('/export/:jobId', async (req, res) => {
    const job = await ownJob(req, res);
    await removeExport(db, store, job.id);
    res.status(202).type(FHIR_JSON).send(JSON.stringify(operationOutcome([{ severity: 'information', code: 'informational', diagnostics: 'Export cancelled and its files deleted' }])));
  });

  router.get('/export/:jobId/files/:name', async (req, res) => {
    const job = await ownJob(req, res);
    const name = String(req.params.name);
    const file = job.status === 'completed' ? (await jobFiles(db, job.id)).find((candidate) => candidate.name === name) : undefined;
    if (!file) throw notFound(`No file ${name} in export ${job.id}`);
    const actor = res.locals.actor as Actor;
    const ctx: RequestContext = { requestId: res.locals.requestId as string, actor, fhirBase: `${job.request.publicBase}/fhir`, audit: new AuditTrail() };
    ctx.audit.interaction('bulk-data-download');
    try {
      await engine.recordAudit(ctx, { method: 'GET', path: req.originalUrl.split('?')[0].replace(/^\//, ''), query: '', status: 200 });
    } catch {
      deps.logger.error({ reqId: ctx.requestId }, 'audit write failed; export file withheld');
      throw new FhirError(503, { code: 'transient', diagnostics: 'The audit record could not be written, so nothing was disclosed; retry later' });
    }
    res.status(200).type('application/fhir+ndjson');
    await pipeline(fs.createReadStream(store.resolve(file.path)), res);
  });

  return router;
}
