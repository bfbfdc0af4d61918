// A plan report as the plan gets it: a summary MeasureReport and the same figures as CSV. Small cells
// are suppressed (CMS cell-size rule: a count from 1 to 10 is never shown; 0 is), and so is any
// figure derived from one: the spend of a suppressed service count, the median and p90 time to
// close when fewer than 11 referrals closed. A suppressed population carries no count but the
// data-absent-reason `masked`; the CSV says "suppressed".
import type { MeasureReport, MeasureReportGroup, MeasureReportGroupPopulation, MeasureReportGroupStratifierStratum, Quantity } from 'fhir/r4';
import { quantile, type Cell, type Figures } from './report-figures.ts';
import type { ReportPeriod } from './report-data.ts';
import { DIMENSIONS } from './report-strata.ts';

export const MIN_CELL = 11;
export const PLAN_REPORT_MEASURE = 'http://cch.example.org/fhir/Measure/plan-referral-report';
export const REPORT_FIGURE_SYSTEM = 'http://cch.example.org/fhir/CodeSystem/plan-report-figure';
const DATA_ABSENT = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

const shown = (count: number) => count === 0 || count >= MIN_CELL;
const round2 = (value: number) => Math.round(value * 100) / 100;
const usd = (value: number): Quantity => ({ value: round2(value), unit: 'USD', system: 'urn:iso:std:iso:4217', code: 'USD' });
const days = (value: number): Quantity => ({ value: Math.round(value * 10) / 10, unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' });
const figure = (code: string) => ({ coding: [{ system: REPORT_FIGURE_SYSTEM, code }] });

function population(code: string, count: number): MeasureReportGroupPopulation {
  return shown(count) ? { code: figure(code), count } : { code: figure(code), extension: [{ url: DATA_ABSENT, valueCode: 'masked' }] };
}

const CELL_FIGURES = ['received', 'accepted', 'completed', 'rejected', 'services'] as const;

function cellStratum(value: string, cell: Cell): MeasureReportGroupStratifierStratum {
  return {
    value: { text: value },
    population: CELL_FIGURES.map((code) => population(code, cell[code])),
    ...(cell.services >= MIN_CELL ? { measureScore: usd(cell.spend) } : {}),
  };
}

export interface RenderedReport {
  report: MeasureReport;
  csv: string;
}

const csvField = (value: string | number) => {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function renderReport(figures: Figures, context: { payer: string; period: ReportPeriod; reporter: string; identifier: { system: string; value: string } }): RenderedReport {
  const rows: (string | number)[][] = [['section', 'dimension', 'stratum', 'figure', 'value']];
  const count = (section: string, dimension: string, stratum: string, code: string, value: number) => rows.push([section, dimension, stratum, code, shown(value) ? value : 'suppressed']);
  const amount = (section: string, dimension: string, stratum: string, code: string, value: number | undefined) => rows.push([section, dimension, stratum, code, value === undefined ? 'suppressed' : value]);

  const closed = figures.daysToClose.length;
  const median = closed >= MIN_CELL ? quantile(figures.daysToClose, 0.5) : undefined;
  const p90 = closed >= MIN_CELL ? quantile(figures.daysToClose, 0.9) : undefined;
  for (const code of CELL_FIGURES) count('referrals', 'all', 'all', code, figures.all[code]);
  amount('referrals', 'all', 'all', 'spend-usd', figures.all.services >= MIN_CELL || figures.all.services === 0 ? round2(figures.all.spend) : undefined);
  amount('time-to-close', 'all', 'all', 'median-days', median === undefined ? undefined : Math.round(median * 10) / 10);
  amount('time-to-close', 'all', 'all', 'p90-days', p90 === undefined ? undefined : Math.round(p90 * 10) / 10);
  for (const [reason, n] of [...figures.rejectedByReason].sort()) count('rejected-by-reason', 'reason', reason, 'rejected', n);
  for (const [account, entry] of [...figures.byAccount].sort()) {
    count('funding-account', 'account', account, 'services', entry.services);
    amount('funding-account', 'account', account, 'spend-usd', entry.services >= MIN_CELL ? round2(entry.spend) : undefined);
  }
  for (const dimension of DIMENSIONS) {
    for (const [value, cell] of [...figures.strata.get(dimension)!].sort()) {
      for (const code of CELL_FIGURES) count('stratified', dimension, value, code, cell[code]);
      amount('stratified', dimension, value, 'spend-usd', cell.services >= MIN_CELL ? round2(cell.spend) : undefined);
    }
  }

  const groups: MeasureReportGroup[] = [
    {
      code: figure('referrals'),
      population: CELL_FIGURES.map((code) => population(code, figures.all[code])),
      ...(figures.all.services >= MIN_CELL ? { measureScore: usd(figures.all.spend) } : {}),
      stratifier: DIMENSIONS.map((dimension) => ({
        code: [{ coding: [{ system: REPORT_FIGURE_SYSTEM, code: dimension }] }],
        stratum: [...figures.strata.get(dimension)!].sort().map(([value, cell]) => cellStratum(value, cell)),
      })),
    },
    { code: figure('time-to-close-median'), population: [population('closed', closed)], ...(median !== undefined ? { measureScore: days(median) } : {}) },
    { code: figure('time-to-close-p90'), population: [population('closed', closed)], ...(p90 !== undefined ? { measureScore: days(p90) } : {}) },
    {
      code: figure('rejected-by-reason'),
      stratifier: [{ code: [{ coding: [{ system: REPORT_FIGURE_SYSTEM, code: 'reason' }] }], stratum: [...figures.rejectedByReason].sort().map(([reason, n]) => ({ value: { text: reason }, population: [population('rejected', n)] })) }],
    },
    {
      code: figure('funding-account'),
      stratifier: [
        {
          code: [{ coding: [{ system: REPORT_FIGURE_SYSTEM, code: 'account' }] }],
          stratum: [...figures.byAccount].sort().map(([account, entry]) => ({
            value: { text: account },
            population: [population('services', entry.services)],
            ...(entry.services >= MIN_CELL ? { measureScore: usd(entry.spend) } : {}),
          })),
        },
      ],
    },
  ];
  const report: MeasureReport = {
    resourceType: 'MeasureReport',
    identifier: [context.identifier],
    status: 'complete',
    type: 'summary',
    measure: PLAN_REPORT_MEASURE,
    date: new Date().toISOString(),
    reporter: { reference: context.reporter },
    period: { start: context.period.start, end: context.period.end },
    group: groups,
  };
  return { report, csv: `${rows.map((row) => row.map(csvField).join(',')).join('\n')}\n` };
}
