import { describe, expect, it } from 'vitest';
import { parseDateRange } from './date-range.ts';
import { FhirError } from './errors.ts';

const range = (value: string) => {
  const { start, end } = parseDateRange(value, 'Patient?_lastUpdated');
  return [start.toISOString(), end.toISOString()];
};

function errorOf(value: string): FhirError {
  try {
    parseDateRange(value, 'Patient?_lastUpdated');
  } catch (error) {
    expect(error).toBeInstanceOf(FhirError);
    return error as FhirError;
  }
  throw new Error(`expected '${value}' to be rejected`);
}

describe('parseDateRange precision', () => {
  it('covers a whole year', () => {
    expect(range('2025')).toEqual(['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    expect(range('1999')).toEqual(['1999-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z']);
  });

  it('covers a whole month, of whatever length, across a year end', () => {
    expect(range('2025-02')).toEqual(['2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z']);
    expect(range('2024-02')).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    expect(range('2025-04')).toEqual(['2025-04-01T00:00:00.000Z', '2025-05-01T00:00:00.000Z']);
    expect(range('2025-12')).toEqual(['2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });

  it('covers a whole (UTC) day, including a leap day and a year end', () => {
    expect(range('2025-03-01')).toEqual(['2025-03-01T00:00:00.000Z', '2025-03-02T00:00:00.000Z']);
    expect(range('2024-02-29')).toEqual(['2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    expect(range('2025-12-31')).toEqual(['2025-12-31T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });

  it('covers a whole minute', () => {
    expect(range('2025-03-01T10:15')).toEqual(['2025-03-01T10:15:00.000Z', '2025-03-01T10:16:00.000Z']);
    expect(range('2025-03-01T23:59Z')).toEqual(['2025-03-01T23:59:00.000Z', '2025-03-02T00:00:00.000Z']);
  });

  it('covers a whole second', () => {
    expect(range('2025-03-01T10:15:30Z')).toEqual(['2025-03-01T10:15:30.000Z', '2025-03-01T10:15:31.000Z']);
    expect(range('2025-03-01T10:15:59')).toEqual(['2025-03-01T10:15:59.000Z', '2025-03-01T10:16:00.000Z']);
  });

  it('narrows to the precision of the fraction, down to a millisecond', () => {
    expect(range('2025-03-01T10:15:30.5Z')).toEqual(['2025-03-01T10:15:30.500Z', '2025-03-01T10:15:30.600Z']);
    expect(range('2025-03-01T10:15:30.25Z')).toEqual(['2025-03-01T10:15:30.250Z', '2025-03-01T10:15:30.260Z']);
    expect(range('2025-03-01T10:15:30.123Z')).toEqual(['2025-03-01T10:15:30.123Z', '2025-03-01T10:15:30.124Z']);
    expect(range('2025-03-01T10:15:30.999Z')).toEqual(['2025-03-01T10:15:30.999Z', '2025-03-01T10:15:31.000Z']);
    // Finer than a millisecond still covers (at least) the instant it names.
    const [start, end] = range('2025-03-01T10:15:30.1234Z');
    expect(Date.parse(start)).toBeLessThanOrEqual(Date.parse('2025-03-01T10:15:30.123Z'));
    expect(Date.parse(end)).toBeGreaterThan(Date.parse('2025-03-01T10:15:30.123Z'));
    expect(Date.parse(end) - Date.parse(start)).toBe(1);
  });
});

describe('parseDateRange time zones', () => {
  it('reads a dateTime without a zone as UTC', () => {
    expect(range('2025-03-01T10:15:30')).toEqual(range('2025-03-01T10:15:30Z'));
    expect(range('2025-03-01T10:15')).toEqual(range('2025-03-01T10:15Z'));
  });

  it('converts positive and negative offsets to UTC at second precision', () => {
    expect(range('2025-03-01T10:15:30+02:00')).toEqual(['2025-03-01T08:15:30.000Z', '2025-03-01T08:15:31.000Z']);
    expect(range('2025-03-01T22:15:30-05:00')).toEqual(['2025-03-02T03:15:30.000Z', '2025-03-02T03:15:31.000Z']);
    expect(range('2025-03-01T10:15:30+05:30')).toEqual(['2025-03-01T04:45:30.000Z', '2025-03-01T04:45:31.000Z']);
    expect(range('2025-03-01T00:00:00+00:00')).toEqual(range('2025-03-01T00:00:00Z'));
  });

  it('converts offsets at minute and millisecond precision', () => {
    expect(range('2025-03-01T00:30+01:00')).toEqual(['2025-02-28T23:30:00.000Z', '2025-02-28T23:31:00.000Z']);
    expect(range('2025-03-01T10:15:30.123-03:00')).toEqual(['2025-03-01T13:15:30.123Z', '2025-03-01T13:15:30.124Z']);
  });
});

describe('parseDateRange errors', () => {
  it('rejects malformed values with 400 naming the expression', () => {
    for (const value of ['', 'yesterday', '25', '2025-1', '2025-01-1', '2025-01-01T10', '2025-01-01 10:00', '2025-01-01T10:00:00+0200', '2025-01-01Z']) {
      const error = errorOf(value);
      expect(error.status, value).toBe(400);
      expect(error.outcome.issue[0].expression).toEqual(['Patient?_lastUpdated']);
    }
  });

  it('rejects out-of-range months, days and times', () => {
    for (const value of ['2025-13', '2025-00', '2025-01-32', '2025-01-00', '2025-01-01T25:00', '2025-01-01T10:60']) {
      expect(errorOf(value).status, value).toBe(400);
    }
  });

  it('rejects days that do not exist in their month instead of rolling over', () => {
    for (const value of ['2025-02-29', '2025-02-30', '2025-04-31', '2025-02-30T10:00:00Z']) {
      expect(errorOf(value).status, value).toBe(400);
    }
  });
});
