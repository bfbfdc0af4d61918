// Dates at day granularity (sns-e-terminology.md 1.8: all SNS-E comparisons are calendar dates, the
// member's local date as written). A day is an integer count of days since 1970-01-01.

const MS_PER_DAY = 86_400_000;

/** The day of a FHIR date or dateTime (its written date part; a year or year-month is its first day). */
export function dayOf(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!match) return undefined;
  return Date.UTC(Number(match[1]), Number(match[2] ?? '1') - 1, Number(match[3] ?? '1')) / MS_PER_DAY;
}

/** The last day a partial date can mean (2025 → Dec 31; 2025-02 → Feb 28), else the day itself. */
export function lastDayOf(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!match) return undefined;
  if (match[3]) return dayOf(value);
  if (match[2]) return Date.UTC(Number(match[1]), Number(match[2]), 1) / MS_PER_DAY - 1;
  return Date.UTC(Number(match[1]) + 1, 0, 1) / MS_PER_DAY - 1;
}

export const dayFromParts = (year: number, month: number, day: number): number => Date.UTC(year, month - 1, day) / MS_PER_DAY;

export const isoDay = (day: number): string => new Date(day * MS_PER_DAY).toISOString().slice(0, 10);

export function yearOfDay(day: number): number {
  return new Date(day * MS_PER_DAY).getUTCFullYear();
}

/** Whole years from `birthDate` to `on` (birthdays on Feb 29 count from Mar 1 in common years). */
export function ageOn(birthDate: string, on: number): number | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!match) return undefined;
  const date = new Date(on * MS_PER_DAY);
  const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
  const [by, bm, bd] = [Number(match[1]), Number(match[2] ?? '1'), Number(match[3] ?? '1')];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}
