// The 'bulk-export' queue: the kick-off writes the job row and its outbox message in one
// transaction; this module runs the export. Each delivery starts a new run (a fresh directory, the
// job's run_id set to it), so a job whose worker died mid-way is simply run again by the next
// worker, and the dead run, should it wake up, sees it was superseded and stops. Completion (the
// file list, status, expiry) commits together with the outbox id's processed record.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { claimMessage } from '../../queue/processed-once.ts';
import type { QueueModule } from '../../queue/queue-module.ts';
import type { Database } from '../../store/database.ts';
import { removeExpiredExports } from './export-expiry.ts';
import { ExportFileStore } from './export-file-store.ts';
import { completeRun, failJob, reportProgress, startRun } from './export-job-store.ts';
import { ExportStopped, isExportError, runExport, type ExportServices } from './export-runner.ts';

export const BULK_EXPORT_QUEUE = 'bulk-export';
const ATTEMPTS = 3;

export interface ExportJobMessage {
  jobId: string;
}

export function bulkExportQueue(deps: { db: Database; config: Config; services: ExportServices; logger: Logger }): QueueModule<ExportJobMessage> {
  const { db, config, services } = deps;
  const store = new ExportFileStore(config.dataDir);
  const log = deps.logger.child({ queue: BULK_EXPORT_QUEUE });
  return {
    name: BULK_EXPORT_QUEUE,
    attempts: ATTEMPTS,
    backoffMs: 1000,
    // The heartbeat runs while the export runs: this bounds how soon a dead worker's export restarts.
    stalledAfterMs: config.bulkExport.lockMs,
    async process(job) {
      await removeExpiredExports(db, store);
      const runId = randomUUID();
      const started = await startRun(db, job.payload.jobId, runId);
      if (!started) return; // completed, failed or cancelled meanwhile
      const dir = await store.startRun(started.id, runId);
      // Only this run's directory: a newer run of the job may be writing beside it.
      const dropRun = () => fs.promises.rm(dir, { recursive: true, force: true });
      try {
        const files = await runExport({
          q: db, jobId: started.id, runId, actor: started.actor, request: started.request, transactionTime: started.transactionTime,
          services, store, dir, progress: (text) => reportProgress(db, started.id, runId, text),
        });
        const completed = await db.transaction(async (tx) => {
          if (!(await claimMessage(tx, { queue: BULK_EXPORT_QUEUE, outboxId: job.outboxId }))) return false;
          return completeRun(tx, started.id, runId, files, config.bulkExport.ttlSeconds);
        });
        if (!completed) await dropRun();
        else log.info({ jobId: started.id, files: files.length, resources: files.reduce((sum, file) => sum + file.count, 0) }, 'export completed');
      } catch (error) {
        if (error instanceof ExportStopped) {
          await dropRun();
          return;
        }
        // A request that cannot be served (the Group is gone or no longer the client's) fails at once;
        // anything else is retried, and fails the job once the attempts are used up.
        const final = isExportError(error) || job.attempt >= ATTEMPTS;
        if (final) {
          await failJob(db, started.id, runId, isExportError(error) ? error.message : 'The export failed; start a new one');
          await dropRun();
          if (isExportError(error)) return;
        }
        throw error;
      }
    },
  };
}
