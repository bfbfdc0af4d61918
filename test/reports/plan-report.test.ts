// Plan referral reports: POST /fhir/$report computes the figures (received, accepted, completed,
// rejected by reason, time to close, services and spend by funding account, strata) with cells under
// 11 suppressed, stores the MeasureReport and its CSV, and sends both through the claims queue to
// the plan's endpoint as an aggregate; the monthly job does the same once per plan and month.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleMonthlyPlanReports } from '../../src/reports/monthly-report-job.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { createPayer, deliveryState, waitForDeliveryState } from '../billing/delivery/delivery-fixture.ts';
import { startPayerFhirEndpoint, type PayerFhirEndpoint } from '../billing/delivery/payer-fhir-endpoint.ts';

let server: TestServer;
let payer: PayerFhirEndpoint;

const FIGURES = 'http://cch.example.org/fhir/CodeSystem/plan-report-figure';
const day = (n: number) => `2025-03-${String(n).padStart(2, '0')}`;

async function put(resource: { resourceType: string; id: string; [key: string]: unknown }): Promise<void> {
  const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  if (res.status >= 300) throw new Error(`${resource.resourceType}/${resource.id}: ${res.status} ${res.text}`);
}

beforeAll(async () => {
  payer = await startPayerFhirEndpoint();
  server = await startTestServer({ ALLOW_HTTP_ENDPOINTS: 'true', MONTHLY_REPORTS: 'false' }, { queues: { dispatchIntervalMs: 50 } });
  await put({ resourceType: 'Organization', id: 'hub', name: 'Hub' });
  await put({ resourceType: 'Organization', id: 'ehr', name: 'Clinic' });
  await put({ resourceType: 'Organization', id: 'cbo-food', name: 'Food bank' });
  await createPayer(server, 'plan-r', 'fhir', payer.url);
  // 13 members: 11 women aged 35-49 in ZIP3 921, 2 men aged 65+ in ZIP3 900.
  for (let i = 1; i <= 13; i++) {
    const woman = i <= 11;
    await put({
      resourceType: 'Patient', id: `r${i}`, gender: woman ? 'female' : 'male', birthDate: woman ? '1985-06-01' : '1950-01-01',
      address: [{ use: 'home', postalCode: woman ? '92101' : '90001' }],
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: woman ? 'es' : 'en' }] }, preferred: true }],
    });
    await put({ resourceType: 'Coverage', id: `cov-r${i}`, status: 'active', beneficiary: { reference: `Patient/r${i}` }, payor: [{ reference: 'Organization/plan-r' }], period: { start: '2025-01-01' } });
    // The inbound referral: 12 completed after i days, the 13th in progress.
    const completed = i <= 12;
    await put({
      resourceType: 'Task', id: `ref-r${i}`, status: completed ? 'completed' : 'in-progress', intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      for: { reference: `Patient/r${i}` }, requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
      authoredOn: `${day(1)}T09:00:00Z`, ...(completed ? { executionPeriod: { start: `${day(1)}T09:00:00Z`, end: `${day(1 + i)}T09:00:00Z` } } : {}),
    });
    // One meal delivery each, on the plan's Medicaid account; two more on a grant.
    await put({
      resourceType: 'ChargeItem', id: `ch-r${i}`, status: 'billable', code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes', code: 'S5170' }] },
      subject: { reference: `Patient/r${i}` }, occurrenceDateTime: day(10), account: [{ reference: i <= 12 ? 'Account/medicaid-cs' : 'Account/grant-oaa' }],
      priceOverride: { value: 100, currency: 'USD' },
    });
  }
  await put({
    resourceType: 'ChargeItem', id: 'ch-extra', status: 'billable', code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes', code: 'S5170' }] },
    subject: { reference: 'Patient/r1' }, occurrenceDateTime: day(11), account: [{ reference: 'Account/grant-oaa' }], priceOverride: { value: 50, currency: 'USD' },
  });
  // Two CBO rejections of the hub's Tasks, for capacity.
  for (const i of [1, 2]) {
    await put({
      resourceType: 'Task', id: `hub-r${i}`, status: 'rejected', intent: 'order', statusReason: { text: 'no capacity' },
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      for: { reference: `Patient/r${i}` }, requester: { reference: 'Organization/hub' }, owner: { reference: 'Organization/cbo-food' }, authoredOn: `${day(1)}T10:00:00Z`,
    });
  }
}, 90_000);

afterAll(async () => {
  await server?.close();
  await payer?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const populationOf = (list: any[], code: string) => list.find((p) => p.code.coding[0].code === code);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const groupOf = (report: any, code: string) => report.group.find((g: any) => g.code.coding[0].code === code);

describe('POST /fhir/$report', () => {
  it('computes the figures with cells under 11 suppressed, stores the CSV, and sends the aggregate to the plan', async () => {
    const res = await server.request('POST', '/fhir/$report', {
      body: { resourceType: 'Parameters', parameter: [{ name: 'payer', valueReference: { reference: 'Organization/plan-r' } }, { name: 'period', valueString: '2025-03' }] },
    });
    expect(res.status).toBe(200);
    const report = res.body.parameter.find((p: { name: string }) => p.name === 'report').resource;
    expect(report).toMatchObject({ resourceType: 'MeasureReport', status: 'complete', type: 'summary', period: { start: '2025-03-01', end: '2025-03-31' } });
    const referrals = groupOf(report, 'referrals');
    expect(populationOf(referrals.population, 'received').count).toBe(13);
    expect(populationOf(referrals.population, 'accepted').count).toBe(13);
    expect(populationOf(referrals.population, 'completed').count).toBe(12);
    expect(populationOf(referrals.population, 'rejected')).toEqual({ code: { coding: [{ system: FIGURES, code: 'rejected' }] }, extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] });
    expect(populationOf(referrals.population, 'services').count).toBe(14);
    expect(referrals.measureScore.value).toBe(1350);
    // Days to close 1..12: median (nearest rank) 6, p90 11.
    expect(groupOf(report, 'time-to-close-median').measureScore).toMatchObject({ value: 6, code: 'd' });
    expect(groupOf(report, 'time-to-close-p90').measureScore).toMatchObject({ value: 11, code: 'd' });
    // Strata: 11 women shown, 2 men suppressed.
    const sex = referrals.stratifier.find((s: { code: { coding: { code: string }[] }[] }) => s.code[0].coding[0].code === 'sex');
    const women = sex.stratum.find((s: { value: { text: string } }) => s.value.text === 'female');
    const men = sex.stratum.find((s: { value: { text: string } }) => s.value.text === 'male');
    expect(populationOf(women.population, 'received').count).toBe(11);
    expect(populationOf(men.population, 'received').count).toBeUndefined();
    expect(men.measureScore).toBeUndefined();
    const zip3 = referrals.stratifier.find((s: { code: { coding: { code: string }[] }[] }) => s.code[0].coding[0].code === 'zip3');
    expect(zip3.stratum.map((s: { value: { text: string } }) => s.value.text)).toEqual(['900', '921']);
    // Funding accounts: 12 Medicaid services ($1200) shown, 2 grant services suppressed with their spend.
    const accounts = groupOf(report, 'funding-account').stratifier[0].stratum;
    expect(accounts.find((s: { value: { text: string } }) => s.value.text === 'Account/medicaid-cs')).toMatchObject({ population: [{ count: 12 }], measureScore: { value: 1200 } });
    const grant = accounts.find((s: { value: { text: string } }) => s.value.text === 'Account/grant-oaa');
    expect(grant.population[0].count).toBeUndefined();
    expect(grant.measureScore).toBeUndefined();
    expect(JSON.stringify(report)).not.toMatch(/Patient\//);

    const csvRef = res.body.parameter.find((p: { name: string }) => p.name === 'csv').valueReference.reference;
    const binary = (await server.request('GET', `/fhir/${csvRef}`)).body;
    const csv = Buffer.from(binary.data, 'base64').toString('utf8');
    expect(csv).toContain('referrals,all,all,received,13');
    expect(csv).toContain('referrals,all,all,rejected,suppressed');
    expect(csv).toContain('rejected-by-reason,reason,no capacity,rejected,suppressed');
    expect(csv).toContain('funding-account,account,Account/medicaid-cs,spend-usd,1200');
    expect(csv).toContain('stratified,language,es,received,11');

    // Delivered through the claims queue, as an aggregate, with its CSV.
    expect(deliveryState(await waitForDeliveryState(server, `MeasureReport/${report.id}`)).state).toBe('sent');
    const atPayer = [...payer.stored.values()].find((r) => r.resourceType === 'MeasureReport' && JSON.stringify(r.identifier).includes(report.identifier[0].value));
    expect(atPayer?.group).toEqual(report.group);
    expect(payer.stored.get(`Binary/cch-${csvRef.split('/')[1]}`)).toBeDefined();
  });

  it('refuses a missing payer or a malformed period with the failing parameter', async () => {
    const noPayer = await server.request('POST', '/fhir/$report', { body: { resourceType: 'Parameters', parameter: [{ name: 'period', valueString: '2025-03' }] } });
    expect(noPayer.status).toBe(400);
    expect(noPayer.body.issue[0].expression).toEqual(['Parameters.parameter[payer]']);
    const badPeriod = await server.request('POST', '/fhir/$report', {
      body: { resourceType: 'Parameters', parameter: [{ name: 'payer', valueString: 'Organization/plan-r' }, { name: 'period', valueString: '2025-13' }] },
    });
    expect(badPeriod.status).toBe(400);
    expect(badPeriod.body.issue[0].expression).toEqual(['Parameters.parameter[period]']);
    const unknown = await server.request('POST', '/fhir/$report', {
      body: { resourceType: 'Parameters', parameter: [{ name: 'payer', valueString: 'Organization/nope' }, { name: 'period', valueString: '2025-03' }] },
    });
    expect(unknown.status).toBe(400);
  });
});

describe('the monthly plan report job', () => {
  it('produces each plan report of a month once, sends it, and schedules the next month', async () => {
    expect(await scheduleMonthlyPlanReports(server.db, '2025-03')).toBeDefined();
    expect(await scheduleMonthlyPlanReports(server.db, '2025-03')).toBeUndefined(); // the chain exists once
    server.queues!.nudge();
    const search = () => server.request('GET', '/fhir/MeasureReport?identifier=urn:cch:plan-report|plan-r:2025-03');
    const until = Date.now() + 15_000;
    while (!(await search()).body.entry?.length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const found = (await search()).body.entry;
    expect(found).toHaveLength(1);
    expect(deliveryState(await waitForDeliveryState(server, `MeasureReport/${found[0].resource.id}`)).state).toBe('sent');
    const next = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE dedupe_key = 'plan-report-monthly:2025-04'`);
    expect(next[0].n).toBe(1);
  });
});
