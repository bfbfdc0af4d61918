// The completion manifest of an export (export.md, "Response - Complete Status").
import type { ExportFile, ExportJob } from './export-job-store.ts';
import { fileUrl } from './export-urls.ts';

export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  output: { type: string; url: string; count: number }[];
  deleted: never[];
  error: { type: string; url: string; count: number }[];
}

export function exportManifest(job: ExportJob, files: ExportFile[]): ExportManifest {
  return {
    transactionTime: job.transactionTime,
    request: job.request.requestUrl,
    // Files are served only with the exporting client's own token.
    requiresAccessToken: true,
    output: files.map((file) => ({ type: file.resourceType, url: fileUrl(job.request.publicBase, job.id, file.name), count: file.count })),
    deleted: [],
    error: [],
  };
}
