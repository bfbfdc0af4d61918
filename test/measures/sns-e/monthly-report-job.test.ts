// The monthly SNS-E job end to end through the outbox, BullMQ and a real Redis: the job for December
// 2025 stores one summary MeasureReport per plan over the whole year, enqueues each for delivery to its
// plan on the claims queue, schedules January's job, and does all of it once however often it is delivered.
import type { MeasureReport } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIMS_QUEUE } from '../../../src/billing/billing-conventions.ts';
import { monthlyJob, scheduleMonthlyReport, SNS_E_REPORT_QUEUE } from '../../../src/measures/sns-e/monthly-report-job.ts';
import { enqueue, jobIdOf } from '../../../src/queue/outbox.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { waitFor } from '../../queue/queue-fixtures.ts';
import { roster, store } from './sns-e-fixtures.ts';

let server: TestServer;

/** The stored reports of December 2025 (the chain then catches up on the months since, each with its own reports). */
const reports = async () =>
  (await server.db.query<{ content: MeasureReport }>(`SELECT content FROM resource WHERE resource_type = 'MeasureReport' AND NOT deleted`))
    .map((row) => row.content)
    .filter((report) => report.identifier?.[0].value?.endsWith(':2025-12'));
/** Outbox rows of a queue (the claims queue also carries the billing module's claims: reports are kind 'report'). */
const outbox = (queue: string) =>
  server.db.query<{ id: string; payload: Record<string, unknown>; dedupe_key: string | null }>(`SELECT id::text, payload, dedupe_key FROM outbox WHERE queue = $1 ORDER BY id`, [queue]);

beforeAll(async () => {
  server = await startTestServer({}, { queues: {} });
  await store(server, roster());
});

afterAll(async () => {
  await server?.close();
});

describe('monthly SNS-E reports', () => {
  it('the server schedules the current month once, due when the month ends', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const rows = (await outbox(SNS_E_REPORT_QUEUE)).filter((row) => row.dedupe_key === `sns-e-monthly:${month}`);
    expect(rows).toHaveLength(1);
    expect(rows[0].payload).toEqual(monthlyJob(month));
    expect(await scheduleMonthlyReport(server.db, month)).toBeUndefined(); // a second process adds nothing
  });

  it("a due job stores each plan's report, queues it to the plan, and schedules the next month", async () => {
    await enqueue(server.db, { queue: SNS_E_REPORT_QUEUE, payload: monthlyJob('2025-12'), dedupeKey: 'sns-e-monthly:2025-12' });
    server.queues!.nudge();
    await waitFor('two MeasureReports', async () => (await reports()).length === 2, 30_000);

    const byPayer = new Map((await reports()).map((report) => [report.extension?.[0].valueReference?.reference, report]));
    const planA = byPayer.get('Organization/plan-a')!;
    expect(planA.type).toBe('summary');
    expect(planA.period).toEqual({ start: '2025-01-01', end: '2025-12-31' });
    expect(planA.identifier).toEqual([{ system: 'urn:cch:sns-e-report', value: 'plan-a:2025-12' }]);
    const foodScreening = planA.group!.find((g) => g.code!.coding![0].code === 'food-screening')!;
    expect(foodScreening.population!.map((p) => p.count)).toEqual([23, 23, 2, 10]);
    expect(byPayer.get('Organization/plan-b')!.group![0].population!.map((p) => p.count)).toEqual([1, 1, 0, 1]);

    const ids = new Set((await reports()).map((report) => `MeasureReport/${report.id}`));
    const deliveries = (await outbox(CLAIMS_QUEUE)).filter((row) => ids.has(String(row.payload.reference)));
    expect(deliveries.map((row) => row.payload).sort((a, b) => String(a.payer).localeCompare(String(b.payer)))).toEqual([
      { kind: 'report', reference: `MeasureReport/${planA.id}`, payer: 'Organization/plan-a' },
      { kind: 'report', reference: `MeasureReport/${byPayer.get('Organization/plan-b')!.id}`, payer: 'Organization/plan-b' },
    ]);
    const next = (await outbox(SNS_E_REPORT_QUEUE)).filter((row) => row.dedupe_key === 'sns-e-monthly:2026-01');
    expect(next.map((row) => row.payload)).toEqual([{ month: '2026-01', notBefore: Date.UTC(2026, 1, 1) }]);
  });

  it('a redelivered job does nothing a second time', async () => {
    const [row] = (await outbox(SNS_E_REPORT_QUEUE)).filter((r) => r.dedupe_key === 'sns-e-monthly:2025-12');
    const queue = server.queues!.queues.find(({ name }) => name === SNS_E_REPORT_QUEUE)!.queue;
    // As after a crash between BullMQ's completion and the outbox bookkeeping: the same row dispatched again.
    await queue.remove(jobIdOf(row.id));
    await server.db.query(`UPDATE outbox SET dispatched_at = NULL WHERE id = $1`, [row.id]);
    server.queues!.nudge();
    await waitFor('the redelivered job', async () => (await queue.getJob(jobIdOf(row.id)))?.finishedOn !== undefined, 30_000);
    expect(await reports()).toHaveLength(2);
    const ids = new Set((await reports()).map((report) => `MeasureReport/${report.id}`));
    expect((await outbox(CLAIMS_QUEUE)).filter((r) => ids.has(String(r.payload.reference)))).toHaveLength(2);
  });
});
