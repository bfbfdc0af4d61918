// Date search with every prefix at year, month, day, minute and second precision, time zones,
// partial-date targets, Periods (open at either end) and malformed values.
//
// Semantics (half-open ranges): the search value's precision gives S = [s1, s2), the target's
// value or Period gives T = [t1, t2) (an open end is infinite).
//   eq: t1 >= s1 and t2 <= s2   ne: not eq   gt: t2 > s2   lt: t1 < s1   ge: t2 > s1   le: t1 < s2
//   sa: t1 >= s2                eb: t2 <= s1  ap: T overlaps S widened by 10% of its distance from now (>= 1 day)
// Dates without a time are read as UTC days.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { expectSearchError, putAll, searchIds, type Json } from './search-helpers.ts';

let server: TestServer;
const ids = (search: string) => searchIds(server, search);

const patient = (id: string, birthDate: string): Json => ({ resourceType: 'Patient', id, birthDate });
const observation = (id: string, effective: Json): Json => ({ resourceType: 'Observation', id, status: 'final', code: { text: 'date search' }, ...effective });
const encounter = (id: string, period: Json): Json => ({
  resourceType: 'Encounter',
  id,
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  period,
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

const data: Json[] = [
  patient('y1980', '1980'), // all of 1980
  patient('m1980-06', '1980-06'),
  patient('d1980-06-15', '1980-06-15'),
  patient('d1981-01-01', '1981-01-01'),
  patient('d1979-12-31', '1979-12-31'),
  patient('d1950-01-01', '1950-01-01'),

  observation('e-0800z', { effectiveDateTime: '2025-03-01T08:00:00Z' }),
  // The same instant written at UTC+02:00.
  observation('e-1000p2', { effectiveDateTime: '2025-03-01T10:00:00+02:00' }),
  observation('e-080030', { effectiveDateTime: '2025-03-01T08:00:30Z' }),
  observation('e-0801', { effectiveDateTime: '2025-03-01T08:01:00Z' }),
  observation('e-day0302', { effectiveDateTime: '2025-03-02' }),
  observation('e-period', { effectivePeriod: { start: '2025-03-01T07:00:00Z', end: '2025-03-01T09:00:00Z' } }),
  // Still going: no end.
  observation('e-open', { effectivePeriod: { start: '2025-02-20T00:00:00Z' } }),

  encounter('enc-closed', { start: '2025-01-10T09:00:00Z', end: '2025-01-12T17:00:00Z' }),
  encounter('enc-open-end', { start: '2025-01-11T00:00:00Z' }),
  encounter('enc-open-start', { end: '2025-01-05' }),
  encounter('enc-one-day', { start: '2025-01-11', end: '2025-01-11' }),

  // For ap near now.
  { resourceType: 'Task', id: 'k-recent', status: 'requested', intent: 'order', authoredOn: iso(now - 12 * HOUR) },
  { resourceType: 'Task', id: 'k-ten-days-ago', status: 'requested', intent: 'order', authoredOn: iso(now - 10 * DAY) },
  { resourceType: 'Task', id: 'k-in-five-days', status: 'requested', intent: 'order', authoredOn: iso(now + 5 * DAY) },
];

const ALL_1980S = ['d1979-12-31', 'd1980-06-15', 'd1981-01-01', 'm1980-06', 'y1980'];

beforeAll(async () => {
  server = await startTestServer();
  await putAll(server, data);
});
afterAll(async () => {
  await server?.close();
});

describe('partial-date targets (Patient.birthDate)', () => {
  it('eq: the target lies within the search range', async () => {
    expect(await ids('Patient?birthdate=1980')).toEqual(['d1980-06-15', 'm1980-06', 'y1980']);
    expect(await ids('Patient?birthdate=eq1980')).toEqual(['d1980-06-15', 'm1980-06', 'y1980']);
    expect(await ids('Patient?birthdate=eq1980-06')).toEqual(['d1980-06-15', 'm1980-06']);
    expect(await ids('Patient?birthdate=1980-06-15')).toEqual(['d1980-06-15']);
    expect(await ids('Patient?birthdate=1980-06-16')).toEqual([]);
    expect(await ids('Patient?birthdate=1979,1981')).toEqual(['d1979-12-31', 'd1981-01-01']);
  });

  it('ne is the complement of eq', async () => {
    expect(await ids('Patient?birthdate=ne1980')).toEqual(['d1950-01-01', 'd1979-12-31', 'd1981-01-01']);
    expect(await ids('Patient?birthdate=ne1980-06')).toEqual(['d1950-01-01', 'd1979-12-31', 'd1981-01-01', 'y1980']);
  });

  it('gt and lt: part of the target lies after / before the search range', async () => {
    expect(await ids('Patient?birthdate=gt1980')).toEqual(['d1981-01-01']);
    expect(await ids('Patient?birthdate=lt1980')).toEqual(['d1950-01-01', 'd1979-12-31']);
    // All of 1980 extends past June 1980.
    expect(await ids('Patient?birthdate=gt1980-06')).toEqual(['d1981-01-01', 'y1980']);
    expect(await ids('Patient?birthdate=lt1980-06')).toEqual(['d1950-01-01', 'd1979-12-31', 'y1980']);
  });

  it('ge and le: part of the target lies after the start / before the end of the search range', async () => {
    expect(await ids('Patient?birthdate=ge1980')).toEqual(['d1980-06-15', 'd1981-01-01', 'm1980-06', 'y1980']);
    expect(await ids('Patient?birthdate=le1980')).toEqual(['d1950-01-01', 'd1979-12-31', 'd1980-06-15', 'm1980-06', 'y1980']);
    expect(await ids('Patient?birthdate=ge1980-06-15')).toEqual(['d1980-06-15', 'd1981-01-01', 'm1980-06', 'y1980']);
    expect(await ids('Patient?birthdate=le1980-06-15')).toEqual(['d1950-01-01', 'd1979-12-31', 'd1980-06-15', 'm1980-06', 'y1980']);
  });

  it('sa and eb: the whole target lies after / before the search range', async () => {
    expect(await ids('Patient?birthdate=sa1980')).toEqual(['d1981-01-01']);
    expect(await ids('Patient?birthdate=eb1980')).toEqual(['d1950-01-01', 'd1979-12-31']);
    expect(await ids('Patient?birthdate=sa1980-06')).toEqual(['d1981-01-01']);
    expect(await ids('Patient?birthdate=eb1980-06')).toEqual(['d1950-01-01', 'd1979-12-31']);
    expect(await ids('Patient?birthdate=sa1979-12-31')).toEqual(['d1980-06-15', 'd1981-01-01', 'm1980-06', 'y1980']);
    // June 1980 and all of 1980 do not end before 15 June.
    expect(await ids('Patient?birthdate=eb1980-06-15')).toEqual(['d1950-01-01', 'd1979-12-31']);
  });

  it('two parameters make a range (AND)', async () => {
    expect(await ids('Patient?birthdate=ge1980-06&birthdate=lt1980-07')).toEqual(['d1980-06-15', 'm1980-06', 'y1980']);
    expect(await ids('Patient?birthdate=sa1979&birthdate=eb1981')).toEqual(['d1980-06-15', 'm1980-06', 'y1980']);
  });

  it('ap: approximately (widened by 10% of the distance from now)', async () => {
    // Some 45 years ago: widened by about 4.5 years, which reaches 1979 and 1981 but not 1950.
    expect(await ids('Patient?birthdate=ap1980-06-15')).toEqual(ALL_1980S);
  });
});

describe('dateTime targets (Observation.effectiveDateTime) and time zones', () => {
  it('second precision', async () => {
    expect(await ids('Observation?date=2025-03-01T08:00:00Z')).toEqual(['e-0800z', 'e-1000p2']);
    expect(await ids('Observation?date=eq2025-03-01T08:00:30Z')).toEqual(['e-080030']);
    expect(await ids('Observation?date=2025-03-01T08:00:01Z')).toEqual([]);
  });

  it('a search value with an offset is the same instant in UTC', async () => {
    expect(await ids('Observation?date=2025-03-01T10:00:00+02:00')).toEqual(['e-0800z', 'e-1000p2']);
    expect(await ids('Observation?date=2025-03-01T09:00:00+01:00')).toEqual(['e-0800z', 'e-1000p2']);
    expect(await ids('Observation?date=2025-03-01T03:00:00-05:00')).toEqual(['e-0800z', 'e-1000p2']);
    // Same wall-clock time as the UTC+02:00 target, but at UTC+00:00 it is two hours later.
    expect(await ids('Observation?date=2025-03-01T08:00:00+02:00')).toEqual([]);
  });

  it('minute precision covers the whole minute', async () => {
    expect(await ids('Observation?date=2025-03-01T08:00Z')).toEqual(['e-080030', 'e-0800z', 'e-1000p2']);
    expect(await ids('Observation?date=2025-03-01T10:00+02:00')).toEqual(['e-080030', 'e-0800z', 'e-1000p2']);
    expect(await ids('Observation?date=2025-03-01T08:01Z')).toEqual(['e-0801']);
    expect(await ids('Observation?date=ne2025-03-01T08:00Z')).toEqual(['e-0801', 'e-day0302', 'e-open', 'e-period']);
  });

  it('day, month and year precision (a Period counts when it lies within the range)', async () => {
    expect(await ids('Observation?date=2025-03-01')).toEqual(['e-080030', 'e-0800z', 'e-0801', 'e-1000p2', 'e-period']);
    expect(await ids('Observation?date=2025-03-02')).toEqual(['e-day0302']);
    expect(await ids('Observation?date=2025-03')).toEqual(['e-080030', 'e-0800z', 'e-0801', 'e-1000p2', 'e-day0302', 'e-period']);
    expect(await ids('Observation?date=2025')).toEqual(['e-080030', 'e-0800z', 'e-0801', 'e-1000p2', 'e-day0302', 'e-period']);
    expect(await ids('Observation?date=2024')).toEqual([]);
  });

  it('gt, lt, ge, le at second precision', async () => {
    expect(await ids('Observation?date=gt2025-03-01T08:00:00Z')).toEqual(['e-080030', 'e-0801', 'e-day0302', 'e-open', 'e-period']);
    expect(await ids('Observation?date=lt2025-03-01T08:00:00Z')).toEqual(['e-open', 'e-period']);
    expect(await ids('Observation?date=ge2025-03-01T08:00:30Z')).toEqual(['e-080030', 'e-0801', 'e-day0302', 'e-open', 'e-period']);
    expect(await ids('Observation?date=le2025-03-01T08:00:30Z')).toEqual(['e-080030', 'e-0800z', 'e-1000p2', 'e-open', 'e-period']);
    // The same bound written in another zone.
    expect(await ids('Observation?date=lt2025-03-01T10:00:00+02:00')).toEqual(['e-open', 'e-period']);
  });

  it('sa and eb', async () => {
    expect(await ids('Observation?date=sa2025-03-01')).toEqual(['e-day0302']);
    expect(await ids('Observation?date=sa2025-03-01T08:00:00Z')).toEqual(['e-080030', 'e-0801', 'e-day0302']);
    expect(await ids('Observation?date=eb2025-03-01T08:00:30Z')).toEqual(['e-0800z', 'e-1000p2']);
  });
});

describe('Periods open at one end', () => {
  it('an Observation.effectivePeriod without an end runs on forever', async () => {
    expect(await ids('Observation?date=ge2025-06-01')).toEqual(['e-open']);
    expect(await ids('Observation?date=gt2030')).toEqual(['e-open']);
    expect(await ids('Observation?date=lt2025-02-21')).toEqual(['e-open']);
    expect(await ids('Observation?date=sa2025-02-19')).toEqual(['e-080030', 'e-0800z', 'e-0801', 'e-1000p2', 'e-day0302', 'e-open', 'e-period']);
    expect(await ids('Observation?date=eb2026')).toEqual(['e-080030', 'e-0800z', 'e-0801', 'e-1000p2', 'e-day0302', 'e-period']);
  });

  it('Encounter?date on Encounter.period', async () => {
    expect(await ids('Encounter?date=2025-01-11')).toEqual(['enc-one-day']);
    expect(await ids('Encounter?date=2025-01')).toEqual(['enc-closed', 'enc-one-day']);
    expect(await ids('Encounter?date=ne2025-01')).toEqual(['enc-open-end', 'enc-open-start']);
    expect(await ids('Encounter?date=ge2025-01-11')).toEqual(['enc-closed', 'enc-one-day', 'enc-open-end']);
    expect(await ids('Encounter?date=lt2025-01-11')).toEqual(['enc-closed', 'enc-open-start']);
    expect(await ids('Encounter?date=le2025-01-11')).toEqual(['enc-closed', 'enc-one-day', 'enc-open-end', 'enc-open-start']);
    expect(await ids('Encounter?date=gt2025-01-12')).toEqual(['enc-open-end']);
    expect(await ids('Encounter?date=sa2025-01-10')).toEqual(['enc-one-day', 'enc-open-end']);
    expect(await ids('Encounter?date=eb2025-01-10')).toEqual(['enc-open-start']);
    expect(await ids('Encounter?date=gt2025-01-12&date=lt2025-01-11')).toEqual([]);
  });
});

describe('ap near now', () => {
  it('widens today by at least a day', async () => {
    const today = new Date(now).toISOString().slice(0, 10);
    expect(await ids(`Task?authored-on=ap${today}`)).toEqual(['k-recent']);
  });
});

describe('malformed dates', () => {
  it('are a 400 OperationOutcome naming the parameter', async () => {
    await expectSearchError(server, 'Patient?birthdate=1980-13', 'birthdate');
    await expectSearchError(server, 'Patient?birthdate=gt1980-02-30', 'birthdate');
    await expectSearchError(server, 'Patient?birthdate=June 1980', 'birthdate');
    await expectSearchError(server, 'Observation?date=2025-03-01T25:00:00Z', 'date');
    await expectSearchError(server, 'Encounter?date=ge2025-1-1', 'date');
  });
});
