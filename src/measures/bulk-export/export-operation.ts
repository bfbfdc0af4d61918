// The Bulk Data kick-off (SMART Bulk Data 2.0): GET|POST [base]/$export, Patient/$export and
// Group/[id]/$export with `Prefer: respond-async`. Everything that can be wrong with the request is
// checked here (400/403/404 to the caller); the job row and its outbox message are written in one
// transaction and the answer is 202 with the status URL in Content-Location. The HTTP layer audits
// the kick-off like any request.
import type { Group } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import { badRequest, notFound, operationOutcome } from '../../fhir/errors.ts';
import type { Operation, OperationCall } from '../../fhir/operations/operation.ts';
import { parseSearch } from '../../fhir/search/parse-search.ts';
import type { FhirResponse } from '../../fhir/types.ts';
import { enqueue } from '../../queue/outbox.ts';
import type { Database } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { removeExpiredExports } from './export-expiry.ts';
import { ExportFileStore } from './export-file-store.ts';
import { insertJob } from './export-job-store.ts';
import { BULK_EXPORT_QUEUE, type ExportJobMessage } from './export-queue.ts';
import { parseExportRequest, type ExportLevel } from './export-request.ts';
import { statusUrl } from './export-urls.ts';

export function bulkExportOperations(deps: { db: Database; config: Config }): Operation[] {
  const store = new ExportFileStore(deps.config.dataDir);

  const kickOff = (level: ExportLevel) => async (call: OperationCall): Promise<FhirResponse> => {
    const { scope, request } = call;
    // export.md: "Prefer: respond-async … Required"; without it the request is refused.
    if (!request.respondAsync) throw badRequest('$export runs asynchronously: send the header Prefer: respond-async', 'Prefer');
    const exportRequest = parseExportRequest(request, call.input, level, { groupId: call.id, fhirBase: scope.ctx.fhirBase });
    const guard = scope.guard;
    // Types the client names must be ones its disclosure profile lets it search (403 otherwise, a
    // data-independent answer); without _type it gets every type it may search.
    for (const type of exportRequest.types ?? []) if (guard.restricted) guard.gate('search-type', type);
    for (const [type, queries] of Object.entries(exportRequest.typeFilters)) {
      for (const query of queries) {
        const parsed = parseSearch(type, new URLSearchParams(query), scope.services.searchParameters, { maxPageSize: scope.services.maxPageSize, strict: true, fhirBase: scope.ctx.fhirBase });
        guard.checkSearch(type, new URLSearchParams(query), parsed);
      }
    }
    if (level === 'group') {
      // Bulk Data: "SHALL also restrict access to specific groups based on underlying business
      // rules". A client exports a Group it may read (a plan: its own payer Group); others are unknown.
      const stored = await readCurrent(scope.q, 'Group', call.id!);
      if (!stored || stored.deleted || !(await guard.permits(scope.q, 'read', stored.resource as Group))) throw notFound(`Group/${call.id} is not known`);
    }
    const jobId = randomUUID();
    await deps.db.transaction(async (tx) => {
      await removeExpiredExports(tx, store);
      await insertJob(tx, { id: jobId, actor: scope.ctx.actor, request: exportRequest });
      await enqueue<ExportJobMessage>(tx, { queue: BULK_EXPORT_QUEUE, payload: { jobId }, dedupeKey: `bulk-export:${jobId}` });
    });
    scope.services.nudgeOutbox();
    return {
      status: 202,
      headers: { 'Content-Location': statusUrl(exportRequest.publicBase, jobId) },
      outcome: operationOutcome([{ severity: 'information', code: 'informational', diagnostics: 'Export accepted: poll the Content-Location URL for its status' }]),
    };
  };

  return [
    { name: 'export', levels: ['system'], affectsState: false, run: kickOff('system') },
    { name: 'export', levels: ['type'], types: ['Patient'], affectsState: false, run: kickOff('patient') },
    { name: 'export', levels: ['instance'], types: ['Group'], affectsState: false, run: kickOff('group') },
  ];
}
