// The state of export jobs (tables bulk_export_job and bulk_export_file, migration 012-bulk-export).
// A job is `accepted` at kick-off, `in-progress` while a run writes it, then `completed` (files
// listed, expiring) or `failed`. Cancelling deletes the row: its status URL is then unknown (404).
import type { Actor } from '../../policy/actor.ts';
import type { Queryable } from '../../store/database.ts';
import type { ExportRequest } from './export-request.ts';

export type ExportStatus = 'accepted' | 'in-progress' | 'completed' | 'failed';

export interface ExportJob {
  id: string;
  clientId: string;
  actor: Actor;
  request: ExportRequest;
  status: ExportStatus;
  runId: string | null;
  progress: string | null;
  error: string | null;
  transactionTime: string;
  expiresAt: string | null;
}

export interface ExportFile {
  name: string;
  resourceType: string;
  count: number;
  /** Relative to the export root (DATA_DIR/bulk-export). */
  path: string;
}

interface JobRow {
  id: string;
  client_id: string;
  actor: Actor | string;
  request: ExportRequest | string;
  status: ExportStatus;
  run_id: string | null;
  progress: string | null;
  error: string | null;
  transaction_time: string | Date;
  expires_at: string | Date | null;
}

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);
const instant = (value: string | Date) => new Date(value).toISOString();

function toJob(row: JobRow): ExportJob {
  return {
    id: row.id,
    clientId: row.client_id,
    actor: json(row.actor),
    request: json(row.request),
    status: row.status,
    runId: row.run_id,
    progress: row.progress,
    error: row.error,
    transactionTime: instant(row.transaction_time),
    expiresAt: row.expires_at ? instant(row.expires_at) : null,
  };
}

export async function insertJob(q: Queryable, job: { id: string; actor: Actor; request: ExportRequest }): Promise<ExportJob> {
  const rows = await q.query<JobRow>(
    `INSERT INTO bulk_export_job (id, client_id, actor, request, status, transaction_time)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, 'accepted', now()) RETURNING *`,
    [job.id, job.actor.clientId, JSON.stringify(job.actor), JSON.stringify(job.request)],
  );
  return toJob(rows[0]);
}

export async function readJob(q: Queryable, id: string): Promise<ExportJob | undefined> {
  const rows = await q.query<JobRow>(`SELECT * FROM bulk_export_job WHERE id = $1`, [id]);
  return rows[0] && toJob(rows[0]);
}

/** Starts run `runId` of a job not yet finished; undefined when it is finished, failed or gone. */
export async function startRun(q: Queryable, id: string, runId: string): Promise<ExportJob | undefined> {
  const rows = await q.query<JobRow>(
    `UPDATE bulk_export_job SET status = 'in-progress', run_id = $2, progress = NULL WHERE id = $1 AND status IN ('accepted', 'in-progress') RETURNING *`,
    [id, runId],
  );
  return rows[0] && toJob(rows[0]);
}

/** Records progress; false when the run should stop (the job was cancelled or another run took it over). */
export async function reportProgress(q: Queryable, id: string, runId: string, progress: string): Promise<boolean> {
  const rows = await q.query(`UPDATE bulk_export_job SET progress = $3 WHERE id = $1 AND run_id = $2 AND status = 'in-progress' RETURNING id`, [id, runId, progress]);
  return rows.length > 0;
}

/** Completes run `runId` with its files (in the caller's transaction); false when the run was superseded or cancelled. */
export async function completeRun(q: Queryable, id: string, runId: string, files: ExportFile[], ttlSeconds: number): Promise<boolean> {
  const rows = await q.query(
    `UPDATE bulk_export_job SET status = 'completed', progress = NULL, completed_at = now(), expires_at = now() + make_interval(secs => $3)
      WHERE id = $1 AND run_id = $2 AND status = 'in-progress' RETURNING id`,
    [id, runId, ttlSeconds],
  );
  if (rows.length === 0) return false;
  for (const file of files) {
    await q.query(`INSERT INTO bulk_export_file (job_id, name, resource_type, count, path) VALUES ($1, $2, $3, $4, $5)`, [id, file.name, file.resourceType, file.count, file.path]);
  }
  return true;
}

export async function failJob(q: Queryable, id: string, runId: string, error: string): Promise<void> {
  await q.query(`UPDATE bulk_export_job SET status = 'failed', progress = NULL, error = $3 WHERE id = $1 AND run_id = $2`, [id, runId, error]);
}

export async function jobFiles(q: Queryable, id: string): Promise<ExportFile[]> {
  const rows = await q.query<{ name: string; resource_type: string; count: number; path: string }>(
    `SELECT name, resource_type, count, path FROM bulk_export_file WHERE job_id = $1 ORDER BY resource_type, name`,
    [id],
  );
  return rows.map((row) => ({ name: row.name, resourceType: row.resource_type, count: Number(row.count), path: row.path }));
}

/** Deletes a job (cancel, expiry); its files go with it (ON DELETE CASCADE). Returns whether it existed. */
export async function deleteJob(q: Queryable, id: string): Promise<boolean> {
  return (await q.query(`DELETE FROM bulk_export_job WHERE id = $1 RETURNING id`, [id])).length > 0;
}

/** Jobs whose files have expired. */
export async function expiredJobs(q: Queryable, limit = 100): Promise<string[]> {
  const rows = await q.query<{ id: string }>(`SELECT id FROM bulk_export_job WHERE expires_at <= now() ORDER BY expires_at LIMIT $1`, [limit]);
  return rows.map((row) => row.id);
}

export const isExpired = (job: ExportJob, now = Date.now()) => job.expiresAt !== null && Date.parse(job.expiresAt) <= now;
