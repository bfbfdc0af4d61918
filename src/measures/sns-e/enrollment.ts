// Continuous enrollment over the measurement period from Coverage periods: covered the whole period
// but for at most `maxGaps` gaps of at most `maxGapDays` days each (sns-e-terminology.md 1.3, [C2]),
// and (HEDIS anchor convention, [I]) covered on the period's last day.
import type { Coverage } from 'fhir/r4';
import { dayOf, lastDayOf } from './calendar-days.ts';

export interface EnrollmentRule {
  maxGaps: number;
  maxGapDays: number;
  requireEnrolledOnLastDay: boolean;
}

export interface Enrollment {
  eligible: boolean;
  /** Uncovered stretches inside the period, in days. */
  gaps: number[];
}

/** Coverage that counts: active (cancelled, draft and entered-in-error Coverages enrol nobody). */
export const enrolling = (coverage: Coverage): boolean => coverage.status === 'active';

export function continuousEnrollment(coverages: readonly Coverage[], start: number, end: number, rule: EnrollmentRule): Enrollment {
  const spans = coverages
    .filter(enrolling)
    .map((coverage) => ({
      from: Math.max(start, dayOf(coverage.period?.start) ?? start),
      to: Math.min(end, lastDayOf(coverage.period?.end) ?? end),
    }))
    .filter((span) => span.from <= span.to)
    .sort((a, b) => a.from - b.from);
  const gaps: number[] = [];
  let coveredUntil = start - 1; // last covered day so far
  for (const span of spans) {
    if (span.from > coveredUntil + 1) gaps.push(span.from - coveredUntil - 1);
    coveredUntil = Math.max(coveredUntil, span.to);
  }
  if (coveredUntil < end) gaps.push(end - coveredUntil);
  const onLastDay = coveredUntil >= end;
  const eligible = spans.length > 0 && gaps.length <= rule.maxGaps && gaps.every((days) => days <= rule.maxGapDays) && (!rule.requireEnrolledOnLastDay || onLastDay);
  return { eligible, gaps };
}
