// The monthly plan reports: a delayed job on the 'plan-reports' queue per month (an outbox row with
// a dedupe key, so the chain exists once however many processes start), due at the start of the
// next month (UTC). It produces every plan's report of the month just ended (identifier fixed per
// plan and month: a redelivered job finds them and sends nothing twice), queues their delivery, and
// schedules the next month, in one transaction that also claims the outbox id.
import { UnrecoverableError } from 'bullmq';
import type { FhirEngine } from '../fhir/engine.ts';
import { activePayers } from '../measures/sns-e/measure-data.ts';
import { enqueue } from '../queue/outbox.ts';
import { claimMessage } from '../queue/processed-once.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Queryable } from '../store/database.ts';
import { producePlanReport } from './plan-report.ts';
import { monthPeriod } from './report-operation.ts';
import { assertDue } from '../queue/delayed-jobs.ts';

export const PLAN_REPORT_QUEUE = 'plan-reports';

export interface PlanReportJob {
  /** The month reported, YYYY-MM. */
  month: string;
  /** When it is due (ms): the start of the next month (src/queue/delayed-jobs.ts turns it into the BullMQ delay). */
  notBefore: number;
}

export function planReportJob(month: string): PlanReportJob {
  const period = monthPeriod(month);
  if (!period) throw new Error(`Not a month: ${month}`);
  return { month, notBefore: Date.parse(`${period.end}T00:00:00Z`) + 86_400_000 };
}

const nextMonth = (month: string) => {
  const [year, m] = month.split('-').map(Number);
  return m === 12 ? `${year + 1}-01` : `${year}-${String(m + 1).padStart(2, '0')}`;
};

/** Schedules the reports of `month` (default: the current one, due when it ends); a repeat is ignored. */
export function scheduleMonthlyPlanReports(q: Queryable, month = new Date().toISOString().slice(0, 7)): Promise<string | undefined> {
  return enqueue(q, { queue: PLAN_REPORT_QUEUE, payload: planReportJob(month), dedupeKey: `plan-report-monthly:${month}` });
}


export function planReportQueue(engine: FhirEngine, hubOrganization: string): QueueModule<PlanReportJob> {
  return {
    name: PLAN_REPORT_QUEUE,
    // An early job (a clock difference) waits with backoff over 20 tries.
    attempts: 20,
    backoffMs: 1_000,
    stalledAfterMs: 120_000,
    async process({ outboxId, payload }) {
      const period = payload && typeof payload.month === 'string' ? monthPeriod(payload.month) : undefined;
      if (!period || typeof payload.notBefore !== 'number') throw new UnrecoverableError('Not a plan report job');
      assertDue(payload.notBefore, Date.now());
      await engine.runAsSystem('$plan-report-monthly', hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: PLAN_REPORT_QUEUE, outboxId }))) return;
        for (const payer of await activePayers(scope.q)) await producePlanReport(scope, `Organization/${payer}`, period, `${payer}:${payload.month}`);
        await scheduleMonthlyPlanReports(scope.q, nextMonth(payload.month));
        scope.afterCommit(() => scope.services.nudgeOutbox());
      });
    },
  };
}
