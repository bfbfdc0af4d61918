// FHIR date/dateTime/instant search values as half-open ranges [start, end), by their precision:
// `2025` covers the whole year, `2025-03-01T10:00` the whole minute.
import { badRequest } from './errors.ts';

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export interface DateRange {
  start: Date;
  end: Date;
}

export function parseDateRange(value: string, expression: string): DateRange {
  const m = DATE.exec(value);
  if (!m) throw badRequest(`Invalid date '${value}'`, expression);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  // Date() rolls 2025-02-30 over into March: check the calendar date exists.
  if (d && new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDate() !== Number(d)) {
    throw badRequest(`Invalid date '${value}'`, expression);
  }
  const iso = (parts: string) => {
    const date = new Date(parts);
    if (Number.isNaN(date.getTime())) throw badRequest(`Invalid date '${value}'`, expression);
    return date;
  };
  const tz = zone ?? 'Z'; // a dateTime without zone is read as UTC
  if (!mo) return { start: iso(`${y}-01-01T00:00:00Z`), end: iso(`${Number(y) + 1}-01-01T00:00:00Z`) };
  if (!d) {
    const start = iso(`${y}-${mo}-01T00:00:00Z`);
    const end = new Date(start);
    end.setUTCMonth(end.getUTCMonth() + 1);
    return { start, end };
  }
  if (!h) {
    const start = iso(`${y}-${mo}-${d}T00:00:00Z`);
    return { start, end: new Date(start.getTime() + 86_400_000) };
  }
  if (!s) {
    const start = iso(`${y}-${mo}-${d}T${h}:${mi}:00${tz}`);
    return { start, end: new Date(start.getTime() + 60_000) };
  }
  const start = iso(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac ?? ''}${tz}`);
  // Precision of the given fraction: 1 s without one, 1 ms at three digits or more.
  const step = frac ? Math.max(1, 1000 / 10 ** Math.min(3, frac.length - 1)) : 1000;
  return { start, end: new Date(start.getTime() + step) };
}
