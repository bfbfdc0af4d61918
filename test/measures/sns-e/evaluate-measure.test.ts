// $evaluate-measure for SNS-E over a hand-computed roster (sns-e-fixtures.ts). Expected populations,
// MY2025, plan A (p01–p24; p12 fails enrollment, so the initial population is 23):
//   food-screening            DEN 23, DENEX 2 (p17 hospice, p18 died), NUM 10 (p01 p02 p04–p08 p19 p20 p24)
//   food-intervention         DEN 8 (p02 p04–p08 p17 p24), DENEX 1 (p17), NUM 2 (p02 on D+30 … Dec 31; p04 on D+30)
//   housing-screening         NUM 3 (p09 p10 p24)      housing-intervention   DEN 2 (p09 p10), NUM 1 (p10)
//   transportation-screening  NUM 2 (p11 p24)          transportation-intervention DEN 1, NUM 1 (p11)
import type { MeasureReport, MeasureReportGroup, Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { answer, coverage, FOOD_NEG, patient, roster, store } from './sns-e-fixtures.ts';

let server: TestServer;
const MY2025 = 'periodStart=2025-01-01&periodEnd=2025-12-31';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a MeasureReport or an OperationOutcome
const evaluate = (query: string, token?: string) => server.request<MeasureReport & { issue?: any }>('GET', `/fhir/Measure/sns-e/$evaluate-measure?${query}`, token ? { token } : {});

function rate(report: MeasureReport, code: string): { counts: Record<string, number>; score?: number; group: MeasureReportGroup } {
  const group = report.group!.find((g) => g.code?.coding?.[0].code === code)!;
  const counts = Object.fromEntries(group.population!.map((p) => [p.code!.coding![0].code!, p.count!]));
  return { counts, score: group.measureScore?.value, group };
}

const counts = (ip: number, den: number, denex: number, num: number) => ({ 'initial-population': ip, denominator: den, 'denominator-exclusion': denex, numerator: num });

beforeAll(async () => {
  server = await startTestServer();
  await store(server, roster());
});

afterAll(async () => {
  await server?.close();
});

describe('Measure/sns-e', () => {
  it('is loaded at start with six rates, four populations and the age-band stratifier', async () => {
    const { status, body } = await server.request('GET', '/fhir/Measure/sns-e');
    expect(status).toBe(200);
    expect(body.group.map((g: MeasureReportGroup) => g.code!.coding![0].code)).toEqual([
      'food-screening', 'food-intervention', 'housing-screening', 'housing-intervention', 'transportation-screening', 'transportation-intervention',
    ]);
    for (const group of body.group) {
      expect(group.population.map((p: { code: { coding: { code: string }[] } }) => p.code.coding[0].code)).toEqual(['initial-population', 'denominator', 'denominator-exclusion', 'numerator']);
      expect(group.stratifier[0].code.coding[0].code).toBe('age-band');
    }
  });
});

describe('summary report (reportType population)', () => {
  it('counts every rule edge as computed by hand, with NUM/(DEN−DENEX)', async () => {
    const { status, body } = await evaluate(`${MY2025}&payer=Organization/plan-a`);
    expect(status).toBe(200);
    expect(body.type).toBe('summary');
    expect(body.period).toEqual({ start: '2025-01-01', end: '2025-12-31' });
    expect(rate(body, 'food-screening')).toMatchObject({ counts: counts(23, 23, 2, 10), score: Number((10 / 21).toFixed(6)) });
    expect(rate(body, 'food-intervention')).toMatchObject({ counts: counts(23, 8, 1, 2), score: Number((2 / 7).toFixed(6)) });
    expect(rate(body, 'housing-screening')).toMatchObject({ counts: counts(23, 23, 2, 3) });
    expect(rate(body, 'housing-intervention')).toMatchObject({ counts: counts(23, 2, 0, 1), score: 0.5 });
    expect(rate(body, 'transportation-screening')).toMatchObject({ counts: counts(23, 23, 2, 2) });
    expect(rate(body, 'transportation-intervention')).toMatchObject({ counts: counts(23, 1, 0, 1), score: 1 });
  });

  it('keeps two plans apart', async () => {
    const { body } = await evaluate(`${MY2025}&payer=Organization/plan-b`);
    expect(rate(body, 'food-screening').counts).toEqual(counts(1, 1, 0, 1));
    expect(rate(body, 'food-intervention').counts).toEqual(counts(1, 0, 0, 0));
  });

  it('stratifies by age on the last day of the period, and omits measureScore when DEN − DENEX is 0', async () => {
    const { status, body } = await evaluate(`${MY2025}&subject=Group/ages&reportType=population`);
    expect(status).toBe(200);
    const screening = rate(body, 'food-screening');
    expect(screening.counts).toEqual(counts(4, 4, 0, 0));
    expect(screening.score).toBe(0);
    const strata = Object.fromEntries(screening.group.stratifier![0].stratum!.map((s) => [s.value!.coding![0].code, s.population!.find((p) => p.code!.coding![0].code === 'initial-population')!.count]));
    expect(strata).toEqual({ le17: 1, '18-64': 2, '65plus': 1 });
    const intervention = rate(body, 'food-intervention');
    expect(intervention.counts.denominator).toBe(0);
    expect(intervention.group.measureScore).toBeUndefined();
    expect(intervention.group.stratifier![0].stratum!.every((s) => s.measureScore === undefined)).toBe(true);
  });

  it('applies the measurement-year switches: in MY2026 G0136 is no screening and Z codes no positive', async () => {
    const y2025 = (await evaluate(`${MY2025}&subject=Patient/p24`)).body;
    expect(rate(y2025, 'food-screening').counts.numerator).toBe(1);
    expect(rate(y2025, 'housing-screening').counts.numerator).toBe(1);
    expect(rate(y2025, 'food-intervention').counts.denominator).toBe(1);
    const y2026 = (await evaluate('periodStart=2026-01-01&periodEnd=2026-12-31&subject=Patient/p24')).body;
    expect(rate(y2026, 'food-screening').counts).toEqual(counts(1, 1, 0, 0));
    expect(rate(y2026, 'food-intervention').counts).toEqual(counts(1, 0, 0, 0));
  });
});

describe('individual report (reportType subject)', () => {
  it('gives one member populations and the evaluated resources', async () => {
    const { status, body } = await evaluate(`${MY2025}&subject=Patient/p02&payer=Organization/plan-a`);
    expect(status).toBe(200);
    expect(body.type).toBe('individual');
    expect(body.subject).toEqual({ reference: 'Patient/p02' });
    expect(rate(body, 'food-intervention')).toMatchObject({ counts: counts(1, 1, 0, 1), score: 1 });
    expect(rate(body, 'housing-intervention').group.measureScore).toBeUndefined();
    expect(body.evaluatedResource!.map((r) => r.reference).sort()).toEqual(['Coverage/cov-p02', 'Observation/o02', 'Patient/p02', 'Procedure/x02']);
  });

  it.each([
    ['p03', 'a positive on Dec 2 is outside the screening window', 'food-screening', counts(1, 1, 0, 0)],
    ['p05', 'an intervention 31 days after the positive is late', 'food-intervention', counts(1, 1, 0, 0)],
    ['p06', 'an intervention the day before the positive does not count', 'food-intervention', counts(1, 1, 0, 0)],
    ['p07', 'a later positive does not move the anchor of the first', 'food-intervention', counts(1, 1, 0, 0)],
    ['p08', 'an intervention of another domain does not count', 'food-intervention', counts(1, 1, 0, 0)],
    ['p09', 'an inadequate-housing need is not met by a housing-instability intervention', 'housing-intervention', counts(1, 1, 0, 0)],
    ['p10', 'a housing-instability need is met by a housing-instability intervention', 'housing-intervention', counts(1, 1, 0, 1)],
    ['p11', 'one enrollment gap of 45 days keeps the member', 'transportation-intervention', counts(1, 1, 0, 1)],
    ['p12', 'a gap of 46 days leaves the member out', 'food-screening', counts(0, 0, 0, 0)],
    ['p17', 'hospice in the period excludes', 'food-intervention', counts(1, 1, 1, 0)],
    ['p18', 'death in the period excludes', 'food-screening', counts(1, 1, 1, 0)],
    ['p19', 'death after the period does not', 'food-screening', counts(1, 1, 0, 1)],
    ['p20', 'PRAPARE 93031-3 with no value is a screening', 'food-screening', counts(1, 1, 0, 1)],
    ['p21', 'PRAPARE 93031-3 declined (dataAbsentReason) is not', 'food-screening', counts(1, 1, 0, 0)],
    ['p22', 'a declined answer is not a screening', 'housing-screening', counts(1, 1, 0, 0)],
    ['p23', 'an entered-in-error screening is ignored', 'food-screening', counts(1, 1, 0, 0)],
  ])('%s: %s', async (id, _what, code, expected) => {
    const { status, body } = await evaluate(`${MY2025}&subject=Patient/${id}&payer=Organization/plan-a`);
    expect(status).toBe(200);
    expect(rate(body, code).counts).toEqual(expected);
  });
});

describe('subject-list report', () => {
  it('lists the members of each population in contained Lists', async () => {
    const { status, body } = await evaluate(`${MY2025}&payer=Organization/plan-a&reportType=subject-list`);
    expect(status).toBe(200);
    expect(body.type).toBe('subject-list');
    const members = (code: string, population: string) => {
      const ref = rate(body, code).group.population!.find((p) => p.code!.coding![0].code === population)!.subjectResults?.reference;
      const list = body.contained!.find((c) => `#${c.id}` === ref) as { entry: { item: { reference: string } }[] } | undefined;
      return (list?.entry ?? []).map((e) => e.item.reference).sort();
    };
    expect(members('food-intervention', 'numerator')).toEqual(['Patient/p02', 'Patient/p04']);
    expect(members('food-intervention', 'denominator-exclusion')).toEqual(['Patient/p17']);
    expect(members('housing-intervention', 'denominator')).toEqual(['Patient/p09', 'Patient/p10']);
    expect(members('food-screening', 'initial-population')).toHaveLength(23);
    expect(members('food-screening', 'initial-population')).not.toContain('Patient/p12');
    expect(rate(body, 'housing-intervention').group.population!.find((p) => p.code!.coding![0].code === 'denominator-exclusion')!.subjectResults).toBeUndefined();
  });
});

describe('who may evaluate', () => {
  it('a plan-analytics client gets its own members, and nothing about another plan', async () => {
    const token = await server.tokenFor('plan-analytics', 'Organization/plan-a', ['PERFMSR']);
    const own = await evaluate(MY2025, token);
    expect(own.status).toBe(200);
    expect(rate(own.body, 'food-screening').counts).toEqual(counts(23, 23, 2, 10));
    const member = await evaluate(`${MY2025}&subject=Patient/p04`, token);
    expect(rate(member.body, 'food-intervention').counts.numerator).toBe(1);
    const unknown = await evaluate(`${MY2025}&payer=Organization/no-such-plan`, token);
    for (const [query, what] of [
      [`${MY2025}&payer=Organization/plan-b`, 'Organization/plan-b'],
      [`${MY2025}&subject=Patient/p25`, 'Patient/p25'],
      [`${MY2025}&subject=Group/plan-b-members&reportType=population`, 'Group/plan-b-members'],
    ]) {
      const other = await evaluate(query, token);
      expect(other.status).toBe(404);
      expect(other.body.issue[0].diagnostics).toBe(`${what} is not known`);
    }
    // Another plan's payer answers exactly like one that does not exist.
    expect(unknown.status).toBe(404);
  });

  it('a plan client evaluates its own members; a CBO may not evaluate at all', async () => {
    const plan = await server.tokenFor('plan', 'Organization/plan-b', ['HOPERAT']);
    const own = await evaluate(MY2025, plan);
    expect(own.status).toBe(200);
    expect(rate(own.body, 'food-screening').counts).toEqual(counts(1, 1, 0, 1));
    expect((await evaluate(`${MY2025}&subject=Patient/p01`, plan)).status).toBe(404);
    // Its own members by name too (care management of its members): the contained Lists survive its profile.
    const list = await evaluate(`${MY2025}&reportType=subject-list`, plan);
    expect(list.status).toBe(200);
    const ref = rate(list.body, 'food-screening').group.population!.find((p) => p.code!.coding![0].code === 'initial-population')!.subjectResults?.reference;
    const members = list.body.contained?.find((c) => `#${c.id}` === ref) as { entry: { item: { reference: string } }[] } | undefined;
    expect(members?.entry.map((e) => e.item.reference)).toEqual(['Patient/p25']);
    const cbo = await server.tokenFor('cbo', 'Organization/food-bank', ['COC']);
    expect((await evaluate(`${MY2025}&payer=Organization/plan-a`, cbo)).status).toBe(403);
  });

  it("a member's opt-out keeps them out of what their plan's analytics client gets", async () => {
    await store(server, [
      { resourceType: 'Organization', id: 'plan-c', name: 'Plan C' } as Resource,
      patient('p27'), coverage('cov-p27', 'p27', 'plan-c', '2025-01-01', '2025-12-31'), answer('o27', 'p27', ...FOOD_NEG, '2025-03-01'),
      patient('p28'), coverage('cov-p28', 'p28', 'plan-c', '2025-01-01', '2025-12-31'), answer('o28', 'p28', ...FOOD_NEG, '2025-03-01'),
      {
        resourceType: 'Consent', id: 'optout-p28', status: 'active', patient: { reference: 'Patient/p28' }, dateTime: '2025-01-01T00:00:00Z',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
        provision: { type: 'deny' },
      } as Resource,
    ]);
    expect(rate((await evaluate(`${MY2025}&payer=Organization/plan-c`)).body, 'food-screening').counts).toEqual(counts(2, 2, 0, 2));
    const token = await server.tokenFor('plan-analytics', 'Organization/plan-c', ['PERFMSR']);
    expect(rate((await evaluate(MY2025, token)).body, 'food-screening').counts).toEqual(counts(1, 1, 0, 1));
    expect((await evaluate(`${MY2025}&subject=Patient/p28`, token)).status).toBe(404);
    expect((await evaluate(`${MY2025}&subject=Patient/p27`, token)).status).toBe(200);
  });

  it('hub-staff may evaluate any plan', async () => {
    const staff = await server.tokenFor('hub-staff', 'Organization/hub', ['HOPERAT']);
    const { status, body } = await evaluate(`${MY2025}&payer=Organization/plan-b`, staff);
    expect(status).toBe(200);
    expect(rate(body, 'food-screening').counts.numerator).toBe(1);
  });
});

describe('bad input', () => {
  it.each([
    ['periodEnd=2025-12-31&payer=Organization/plan-a', 400, 'Parameters.parameter[periodStart]'],
    ['periodStart=2025-13-45x&periodEnd=2025-12-31&payer=Organization/plan-a', 400, 'Parameters.parameter[periodStart]'],
    [`${MY2025}&payer=Organization/plan-a&reportType=everything`, 400, 'Parameters.parameter[reportType]'],
    [`${MY2025}&subject=Group/ages&reportType=subject`, 400, 'Parameters.parameter[subject]'],
    [`${MY2025}&subject=Observation/o01`, 400, 'Parameters.parameter[subject]'],
    [MY2025, 400, 'Parameters.parameter[payer]'],
  ])('%s → %i at %s', async (query, status, expression) => {
    const response = await evaluate(query);
    expect(response.status).toBe(status);
    expect(response.body.issue[0].expression).toEqual([expression]);
  });

  it('POST with a Parameters body works like GET', async () => {
    const { status, body } = await server.request('POST', '/fhir/Measure/sns-e/$evaluate-measure', {
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'periodStart', valueDate: '2025-01-01' },
          { name: 'periodEnd', valueDate: '2025-12-31' },
          { name: 'subject', valueString: 'Patient/p10' },
        ],
      },
    });
    expect(status).toBe(200);
    expect(rate(body, 'housing-intervention').counts.numerator).toBe(1);
  });
});
