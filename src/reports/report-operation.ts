// POST /fhir/$report (payer, period): produces the plan's referral report now and queues its
// delivery. Inputs: `payer` (an Organization reference, valueReference or valueString) and the
// period as `period` (valuePeriod, or a month YYYY-MM as valueString) or `start` and `end` dates.
// Answers Parameters with `report` (the MeasureReport) and `csv` (the Binary with its CSV rendering).
import type { Organization, Parameters, Period, Reference } from 'fhir/r4';
import { badRequest } from '../fhir/errors.ts';
import type { Operation, OperationInput } from '../fhir/operations/operation.ts';
import { newId } from '../fhir/resource-identity.ts';
import { readCurrent } from '../store/resource-store.ts';
import { producePlanReport } from './plan-report.ts';
import type { ReportPeriod } from './report-data.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The inclusive dates of month YYYY-MM. */
export function monthPeriod(month: string): ReportPeriod | undefined {
  const match = MONTH.exec(month);
  if (!match) return undefined;
  const last = new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
  return { start: `${month}-01`, end: `${month}-${String(last).padStart(2, '0')}` };
}

function periodInput(input: OperationInput): ReportPeriod {
  const period = input.value<Period>('period', 'Period');
  const text = period ? undefined : input.string('period');
  const start = period?.start ?? (text ? undefined : input.string('start'));
  const end = period?.end ?? (text ? undefined : input.string('end'));
  if (text !== undefined) {
    const month = monthPeriod(text);
    if (!month) throw badRequest(`period must be a month (YYYY-MM) or a Period, got "${text}"`, 'Parameters.parameter[period]');
    return month;
  }
  if (!start || !end) throw badRequest('period is required: a month (YYYY-MM), a Period, or start and end dates', 'Parameters.parameter[period]');
  const from = start.slice(0, 10);
  const to = end.slice(0, 10);
  if (!DATE.test(from) || !DATE.test(to) || from > to) throw badRequest('the period needs a start and an end date, the start not after the end', 'Parameters.parameter[period]');
  return { start: from, end: to };
}

export const reportOperation: Operation = {
  name: 'report',
  levels: ['system'],
  affectsState: true,
  async run({ scope, input }) {
    const payer = input.value<Reference>('payer', 'Reference')?.reference ?? input.string('payer');
    if (!payer) throw badRequest('payer is required (an Organization reference)', 'Parameters.parameter[payer]');
    const orgId = /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(payer)?.[1];
    if (!orgId) throw badRequest(`payer must be Organization/[id], got "${payer}"`, 'Parameters.parameter[payer]');
    const organization = await readCurrent(scope.q, 'Organization', orgId);
    if (!organization || organization.deleted || (organization.resource as Organization).resourceType !== 'Organization') {
      throw badRequest(`${payer} does not exist`, 'Parameters.parameter[payer]');
    }
    const period = periodInput(input);
    const key = `${orgId}:${period.start}:${period.end}:${newId().slice(0, 8)}`;
    const produced = await producePlanReport(scope, payer, period, key);
    const result: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'report', resource: produced.report },
        { name: 'csv', valueReference: { reference: produced.csvReference } },
      ],
    };
    return { status: 200, resource: result };
  },
};
