// The figures of a plan's referral report, before any suppression: referrals received, accepted,
// completed and rejected (CBO rejections by reason), days from referral to close (median, p90),
// services and spend per funding Account, and the same counts per stratum of each dimension.
import type { Task } from 'fhir/r4';
import type { ReportData, ReportPeriod } from './report-data.ts';
import { DIMENSIONS, stratumOf, type Dimension } from './report-strata.ts';

export interface Cell {
  received: number;
  accepted: number;
  completed: number;
  rejected: number;
  services: number;
  spend: number;
}

export interface Figures {
  all: Cell;
  /** Days from authoredOn to close of each closed referral. */
  daysToClose: number[];
  rejectedByReason: Map<string, number>;
  byAccount: Map<string, { services: number; spend: number }>;
  strata: Map<Dimension, Map<string, Cell>>;
}

const ACCEPTED = new Set(['accepted', 'in-progress', 'on-hold', 'completed']);
const CLOSED = new Set(['completed', 'failed', 'rejected', 'cancelled']);

const emptyCell = (): Cell => ({ received: 0, accepted: 0, completed: 0, rejected: 0, services: 0, spend: 0 });

function reasonOf(task: Task): string {
  const reason = task.statusReason;
  return reason?.coding?.[0]?.code ?? reason?.text ?? 'unspecified';
}

/** Days between a referral's authoring and its close (executionPeriod.end, else lastModified). */
function daysToClose(task: Task): number | undefined {
  const closedAt = task.executionPeriod?.end ?? task.lastModified;
  if (!CLOSED.has(task.status) || !task.authoredOn || !closedAt) return undefined;
  const days = (Date.parse(closedAt) - Date.parse(task.authoredOn)) / 86_400_000;
  return Number.isFinite(days) && days >= 0 ? days : undefined;
}

/** The value at quantile `q` (nearest rank) of `values`; undefined when empty. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function computeFigures(data: ReportData, period: ReportPeriod): Figures {
  const all = emptyCell();
  const strata = new Map<Dimension, Map<string, Cell>>(DIMENSIONS.map((dimension) => [dimension, new Map<string, Cell>()]));
  const cellsOf = (patient: string) =>
    DIMENSIONS.map((dimension) => {
      const value = stratumOf(data.patients.get(patient), dimension, period.end);
      const cells = strata.get(dimension)!;
      if (!cells.has(value)) cells.set(value, emptyCell());
      return cells.get(value)!;
    });
  const add = (patient: string, change: (cell: Cell) => void) => {
    change(all);
    for (const cell of cellsOf(patient)) change(cell);
  };
  const days: number[] = [];
  for (const { patient, task } of data.referrals) {
    add(patient, (cell) => {
      cell.received++;
      if (ACCEPTED.has(task.status)) cell.accepted++;
      if (task.status === 'completed') cell.completed++;
    });
    const closed = daysToClose(task);
    if (closed !== undefined) days.push(closed);
  }
  const rejectedByReason = new Map<string, number>();
  for (const { patient, task } of data.rejections) {
    add(patient, (cell) => cell.rejected++);
    const reason = reasonOf(task);
    rejectedByReason.set(reason, (rejectedByReason.get(reason) ?? 0) + 1);
  }
  const byAccount = new Map<string, { services: number; spend: number }>();
  for (const { patient, charge } of data.charges) {
    const spend = charge.priceOverride?.value ?? 0;
    add(patient, (cell) => {
      cell.services++;
      cell.spend += spend;
    });
    const account = charge.account?.[0]?.reference ?? 'unassigned';
    const entry = byAccount.get(account) ?? { services: 0, spend: 0 };
    entry.services++;
    entry.spend += spend;
    byAccount.set(account, entry);
  }
  return { all, daysToClose: days, rejectedByReason, byAccount, strata };
}
