// Export files expire (BULK_EXPORT_TTL_SECONDS after completion): an expired job answers 404 like
// an unknown one, and its row and files are removed. Removal runs opportunistically (at kick-off,
// before each export run, and when an expired job is asked for), so it needs no timer of its own and
// works with any number of server processes.
import type { Queryable } from '../../store/database.ts';
import type { ExportFileStore } from './export-file-store.ts';
import { deleteJob, expiredJobs } from './export-job-store.ts';

export async function removeExport(q: Queryable, store: ExportFileStore, jobId: string): Promise<boolean> {
  const existed = await deleteJob(q, jobId);
  await store.remove(jobId);
  return existed;
}

export async function removeExpiredExports(q: Queryable, store: ExportFileStore): Promise<number> {
  const ids = await expiredJobs(q);
  for (const id of ids) await removeExport(q, store, id);
  return ids.length;
}
