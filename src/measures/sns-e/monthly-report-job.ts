// The monthly SNS-E reports: a delayed queue job ('sns-e-reports') per month, written to the outbox
// with a dedupe key so the chain exists once however many processes start. The job for month M is due
// at the start of M+1 (UTC); it evaluates every payer with active Coverage over the measurement year to
// date (January 1 to the last day of M; December's job is the full year), stores each plan's summary
// MeasureReport (identifier urn:cch:sns-e-report|<payer>:<M>, conditional create) and enqueues its
// delivery on the claims queue (src/billing/billing-conventions.ts), and schedules M+1, all in one
// transaction that also claims the outbox id (a redelivered job does nothing).
// The job runs as the system, so a plan's report counts all its members; it is a summary (counts only).
import { UnrecoverableError } from 'bullmq';
import type { MeasureReport } from 'fhir/r4';
import { CLAIMS_QUEUE, type PayerDeliveryMessage } from '../../billing/billing-conventions.ts';
import type { FhirEngine } from '../../fhir/engine.ts';
import { create } from '../../fhir/interactions/create.ts';
import { enqueue } from '../../queue/outbox.ts';
import { claimMessage } from '../../queue/processed-once.ts';
import type { QueueModule } from '../../queue/queue-module.ts';
import type { Queryable } from '../../store/database.ts';
import { dayFromParts } from './calendar-days.ts';
import { activePayers, payerMembers } from './measure-data.ts';
import { evaluatePopulation } from './population-evaluation.ts';
import type { SnsERules } from './sns-e-config.ts';
import { assertDue } from '../../queue/delayed-jobs.ts';

export const SNS_E_REPORT_QUEUE = 'sns-e-reports';
export const SNS_E_REPORT_IDENTIFIER = 'urn:cch:sns-e-report';

export interface MonthlyReportJob {
  /** The month reported, YYYY-MM. */
  month: string;
  /** When it is due (ms): the start of the next month; src/queue/delayed-jobs.ts turns it into the BullMQ delay. */
  notBefore: number;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

function parseMonth(month: string): { year: number; month: number } {
  const match = MONTH.exec(month);
  if (!match) throw new UnrecoverableError(`Not a month: ${month}`);
  return { year: Number(match[1]), month: Number(match[2]) };
}

/** The job for `month` (YYYY-MM). */
export function monthlyJob(month: string): MonthlyReportJob {
  const { year, month: m } = parseMonth(month);
  return { month, notBefore: Date.UTC(year, m, 1) };
}

const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** Schedules the report of `month` (default: the current month, due when it ends); a repeat is ignored. */
export async function scheduleMonthlyReport(q: Queryable, month = monthOf(Date.now())): Promise<string | undefined> {
  return enqueue(q, { queue: SNS_E_REPORT_QUEUE, payload: monthlyJob(month), dedupeKey: `sns-e-monthly:${month}` });
}


export interface MonthlyReportDeps {
  engine: FhirEngine;
  hubOrganization: string;
  rules: SnsERules;
}

/** Produces and queues every plan's report for the job's month; returns the MeasureReport ids. */
export async function runMonthlyReports(deps: MonthlyReportDeps, job: MonthlyReportJob, outboxId: string): Promise<string[]> {
  const { year, month } = parseMonth(job.month);
  const period = { start: dayFromParts(year, 1, 1), end: dayFromParts(year, month + 1, 1) - 1 };
  return deps.engine.runAsSystem('$sns-e-monthly', deps.hubOrganization, async (scope) => {
    if (!(await claimMessage(scope.q, { queue: SNS_E_REPORT_QUEUE, outboxId }))) return [];
    const ids: string[] = [];
    for (const payer of await activePayers(scope.q)) {
      const tally = await evaluatePopulation(scope.q, deps.rules, await payerMembers(scope.q, payer), period, { payer });
      const key = `${payer}:${job.month}`;
      const report: MeasureReport = {
        ...tally.report('summary', { period, reporter: deps.hubOrganization, payer: `Organization/${payer}` }),
        identifier: [{ system: SNS_E_REPORT_IDENTIFIER, value: key }],
      };
      const created = await create(scope, 'MeasureReport', report, `identifier=${encodeURIComponent(`${SNS_E_REPORT_IDENTIFIER}|${key}`)}`);
      const id = (created.resource as MeasureReport | undefined)?.id;
      if (!id) throw new Error(`The SNS-E report ${key} was not stored`);
      const message: PayerDeliveryMessage = { kind: 'report', reference: `MeasureReport/${id}`, payer: `Organization/${payer}` };
      await enqueue(scope.q, { queue: CLAIMS_QUEUE, payload: message, dedupeKey: `sns-e-report:${key}` });
      ids.push(id);
    }
    const next = month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
    await scheduleMonthlyReport(scope.q, next);
    scope.afterCommit(() => scope.services.nudgeOutbox());
    return ids;
  });
}

/** The 'sns-e-reports' queue module. */
export function snsEReportQueue(deps: MonthlyReportDeps): QueueModule<MonthlyReportJob> {
  return {
    name: SNS_E_REPORT_QUEUE,
    // An early job (a clock difference) waits with backoff: 1 s, 2 s, 4 s… over 20 tries.
    attempts: 20,
    backoffMs: 1_000,
    // Evaluating a large plan takes a while; the heartbeat keeps the job, this only bounds crash recovery.
    stalledAfterMs: 120_000,
    async process({ outboxId, payload }) {
      if (!payload || typeof payload.month !== 'string' || typeof payload.notBefore !== 'number') throw new UnrecoverableError('Not an SNS-E report job');
      assertDue(payload.notBefore, Date.now());
      await runMonthlyReports(deps, payload, outboxId);
    },
  };
}
