// Produces a plan's referral report for a period and sends it: the summary MeasureReport and its CSV
// (a Binary) are stored and the delivery queued on the claims queue (kind 'report', the CSV as an
// attachment), all in the caller's transaction: both documents and the message exist, or none.
// The report is aggregate; the policy decides again at send time (src/billing/delivery).
import type { Binary, MeasureReport } from 'fhir/r4';
import { CLAIM_DELIVERY_STATE_EXTENSION, CLAIMS_QUEUE, type PayerDeliveryMessage } from '../billing/billing-conventions.ts';
import { create } from '../fhir/interactions/create.ts';
import { persistVersion } from '../fhir/persist.ts';
import { newId } from '../fhir/resource-identity.ts';
import type { Scope } from '../fhir/scope.ts';
import { enqueue } from '../queue/outbox.ts';
import { loadReportData, type ReportPeriod } from './report-data.ts';
import { computeFigures } from './report-figures.ts';
import { renderReport } from './report-rendering.ts';

export const PLAN_REPORT_IDENTIFIER = 'urn:cch:plan-report';

export interface ProducedReport {
  report: MeasureReport;
  csv: string;
  /** `Binary/id` of the stored CSV. */
  csvReference: string;
  /** Whether it was already produced (the monthly job's identifier existed). */
  existing: boolean;
}

/**
 * `key` names the report (identifier value): the monthly job's is fixed per plan and month, so a
 * repeat finds the first; an on-demand report gets a fresh one.
 */
export async function producePlanReport(scope: Scope, payer: string, period: ReportPeriod, key: string): Promise<ProducedReport> {
  const identifier = { system: PLAN_REPORT_IDENTIFIER, value: key };
  const data = await loadReportData(scope.q, payer, period, scope.services.hubOrganization);
  const { report, csv } = renderReport(computeFigures(data, period), { payer, period, reporter: scope.services.hubOrganization, identifier });
  const binaryId = newId();
  const binary: Binary = { resourceType: 'Binary', id: binaryId, contentType: 'text/csv', data: Buffer.from(csv, 'utf8').toString('base64') };
  const stored: MeasureReport = { ...report, extension: [{ url: CLAIM_DELIVERY_STATE_EXTENSION, valueCode: 'queued' }] };
  const created = await create(scope, 'MeasureReport', stored, `identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}`);
  const saved = created.resource as MeasureReport;
  if (created.status === 200) {
    // The identifier existed: this report was produced before (a repeated job); nothing new to send.
    return { report: saved, csv, csvReference: '', existing: true };
  }
  await persistVersion(scope, 'Binary', binaryId, binary, undefined);
  const message: PayerDeliveryMessage = { kind: 'report', reference: `MeasureReport/${saved.id}`, payer, attachments: [`Binary/${binaryId}`] };
  await enqueue(scope.q, { queue: CLAIMS_QUEUE, payload: message, dedupeKey: `plan-report:${key}` });
  scope.afterCommit(() => scope.services.nudgeOutbox());
  return { report: saved, csv, csvReference: `Binary/${binaryId}`, existing: false };
}
