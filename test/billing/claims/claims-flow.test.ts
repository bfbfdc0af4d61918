// From delivered services to claims and invoices, over HTTP with real queues: completed referrals become
// ChargeItems (charge-capture queue), $build groups them per payer and account into Claims (fee-for-service,
// case rate) or Invoices (invoice, capitation PMPM), enqueues them on the claims queue, holds header Z-codes,
// and renders the 837P and the CSV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHARGE_CAPTURE_QUEUE } from '../../../src/billing/charge-capture.ts';
import { enqueue } from '../../../src/queue/outbox.ts';
import { wasProcessed } from '../../../src/queue/processed-once.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { chargesOf, claimsQueueMessages, completeReferral, ICD, loadContracts, loadNetwork, member, waitFor, type Service, x12Segments } from './billing-fixtures.ts';

let server: TestServer;
let cbo: string;
let ffsReferral: { sourceId: string; hubTaskId: string };
const CCN = 'urn:cch:claim-control-number';
const LCN = 'http://cch.example.org/fhir/StructureDefinition/line-control-number';
const STATE = 'http://cch.example.org/fhir/StructureDefinition/delivery-state';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const build = (payer: string, period: string, token?: string) =>
  server.request('POST', '/fhir/Claim/$build', { token, body: { resourceType: 'Parameters', parameter: [{ name: 'payer', valueString: payer }, { name: 'period', valueString: period }] } });
const entriesOf = (bundle: Any, type: string): Any[] => (bundle.entry ?? []).map((entry: Any) => entry.resource).filter((resource: Any) => resource.resourceType === type);


beforeAll(async () => {
  server = await startTestServer({ CLAIM_BATCH_INTERVAL_HOURS: '0' }, { queues: { dispatchIntervalMs: 50 } });
  await loadNetwork(server);
  await loadContracts(server);
  cbo = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  // One member and referral after the other, so charge ids and control numbers come out in a known order.
  const members: [string, string, string, string?][] = [
    ['ffs-1', 'demo-plan', 'demo-plan-calaim-cs', 'MCD123456789'], ['ffs-2', 'demo-plan', 'demo-plan-calaim-cs'], ['held-1', 'demo-plan', 'demo-plan-calaim-cs'],
    ['case-1', 'pathways-plan', 'pathways-food'], ['inv-1', 'county-grant', 'county-food-grant', 'CNTY-77'], ['cap-1', 'capitated-plan', 'capitated-cs'],
  ];
  for (const [id, payer, program, memberId] of members) await member(server, id, payer, program, memberId);
  const services: [string, string, Service[]][] = [
    ['ffs-1', 'Z59.41', [{ code: 'S5170', modifiers: ['U6'], date: '2026-11-20', units: 3 }, { code: 'H0043', modifiers: ['U6'], date: '2026-11-21' }]],
    ['ffs-2', 'Z59.41', [{ code: 'S9977', modifiers: ['U7'], date: '2026-11-22' }]],
    ['held-1', 'Z59.4', [{ code: 'S5170', modifiers: ['U6'], date: '2026-11-23' }]],
    ['case-1', 'Z59.41', [{ code: 'S9977', modifiers: ['U7'], date: '2026-11-10' }, { code: 'S9977', modifiers: ['U7'], date: '2026-11-17' }]],
    ['inv-1', 'Z59.41', [{ code: 'S5170', date: '2026-11-12', units: 4 }]],
    ['cap-1', 'Z59.41', [{ code: 'S5170', modifiers: ['U6'], date: '2026-11-14' }]],
  ];
  const referrals = [];
  for (const [patient, zCode, delivered] of services) referrals.push(await completeReferral(server, cbo, patient, zCode, delivered));
  ffsReferral = referrals[0];
  const expected: Record<string, number> = { 'ffs-1': 2, 'ffs-2': 1, 'held-1': 1, 'case-1': 1, 'inv-1': 1, 'cap-1': 1 };
  for (const [patient, count] of Object.entries(expected)) await waitFor(`charges of ${patient}`, async () => ((await chargesOf(server, patient)).length >= count ? true : undefined));
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('charge capture', () => {
  it('records a ChargeItem per matching Procedure of a completed referral, with the fee schedule price, account and Z-code', async () => {
    const charges = await chargesOf(server, 'ffs-1');
    const meals = charges.find((charge) => charge.code.coding[0].code === 'S5170');
    expect(meals).toMatchObject({
      status: 'billable',
      subject: { reference: 'Patient/ffs-1' },
      occurrenceDateTime: '2026-11-20',
      quantity: { value: 3, code: 'UN' },
      priceOverride: { value: 45, currency: 'USD' },
      performingOrganization: { reference: 'Organization/cbo-a' },
      account: [{ reference: 'Account/demo-plan-calaim-cs' }],
      reason: [{ coding: [{ system: ICD, code: 'Z59.41' }] }],
      definitionCanonical: ['http://cch.example.org/fhir/ChargeItemDefinition/calaim-s5170-u6'],
    });
    expect(meals.extension).toEqual([{ url: 'http://cch.example.org/fhir/StructureDefinition/service-modifier', valueCoding: { system: 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes', code: 'U6' } }]);
    expect(charges.find((charge) => charge.code.coding[0].code === 'H0043').priceOverride.value).toBe(150);
  });

  it('is idempotent: the same completion captured again records nothing new', async () => {
    const outboxId = await enqueue(server.db, { queue: CHARGE_CAPTURE_QUEUE, payload: ffsReferral });
    server.queues!.nudge();
    await waitFor('the repeat capture', async () => ((await wasProcessed(server.db, { queue: CHARGE_CAPTURE_QUEUE, outboxId: outboxId! })) ? true : undefined));
    expect(await chargesOf(server, 'ffs-1')).toHaveLength(2);
  });

  it('a case rate is one charge per referral episode, however many services; capitation services are not billable', async () => {
    const [episode] = await chargesOf(server, 'case-1');
    expect(await chargesOf(server, 'case-1')).toHaveLength(1);
    expect(episode).toMatchObject({ quantity: { value: 1 }, priceOverride: { value: 250 }, account: [{ reference: 'Account/pathways-food-case' }] });
    const [utilization] = await chargesOf(server, 'cap-1');
    expect(utilization.status).toBe('not-billable');
  });
});

describe('$build', () => {
  let claims: Any[];

  it('groups a payer\'s charges into one professional Claim per member and CBO, enqueued for delivery', async () => {
    const res = await build('Organization/demo-plan', '2026-11');
    expect(res.status, res.text).toBe(200);
    claims = entriesOf(res.body, 'Claim');
    expect(claims).toHaveLength(3); // ffs-1 (2 lines), ffs-2, held-1 (held)
    const ffs1 = claims.find((claim) => claim.patient.reference === 'Patient/ffs-1');
    expect(ffs1).toMatchObject({
      status: 'active', use: 'claim', insurer: { reference: 'Organization/demo-plan' }, provider: { reference: 'Organization/hub' },
      careTeam: [{ sequence: 1, provider: { reference: 'Organization/cbo-a' } }],
      diagnosis: [{ sequence: 1, diagnosisCodeableConcept: { coding: [{ system: ICD, code: 'Z59.41' }] } }],
      insurance: [{ focal: true, coverage: { reference: 'Coverage/cov-ffs-1' } }],
      billablePeriod: { start: '2026-11-20', end: '2026-11-21' },
      total: { value: 195 },
    });
    const ccn = ffs1.identifier.find((identifier: Any) => identifier.system === CCN).value;
    expect(ffs1.item.map((item: Any) => item.extension.find((e: Any) => e.url === LCN).valueString)).toEqual([`${ccn}-1`, `${ccn}-2`]);
    expect(ffs1.item.map((item: Any) => item.diagnosisSequence)).toEqual([[1], [1]]);
    expect(ffs1.extension).toContainEqual({ url: 'http://cch.example.org/fhir/StructureDefinition/claim-account', valueReference: { reference: 'Account/demo-plan-calaim-cs' } });
    const messages = await claimsQueueMessages(server);
    expect(messages).toContainEqual({ kind: 'claim', reference: `Claim/${ffs1.id}`, payer: 'Organization/demo-plan' });
    // Other payers' charges (case rate, invoice, capitation) are not on this payer's claims.
    expect(claims.every((claim) => claim.insurer.reference === 'Organization/demo-plan')).toBe(true);
  });

  it('bills a charge once: building the period again builds nothing new', async () => {
    const again = await build('Organization/demo-plan', '2026-11');
    expect(entriesOf(again.body, 'Claim').filter((claim) => claim.status === 'active')).toHaveLength(0);
  });

  it('holds a claim with a header Z-code (not billable): draft, not enqueued, $x12 is a 422 naming the line and code; recoded, it is released', async () => {
    const held = claims.find((claim) => claim.patient.reference === 'Patient/held-1');
    expect(held.status).toBe('draft');
    expect(held.extension).toContainEqual({ url: STATE, valueCode: 'held' });
    expect((await claimsQueueMessages(server)).map((message) => message.reference)).not.toContain(`Claim/${held.id}`);
    const x12 = await server.request('GET', `/fhir/Claim/${held.id}/$x12`);
    expect(x12.status).toBe(422);
    expect(x12.body.issue[0].diagnostics).toMatch(/Line 1 \(S5170-U6 on 2026-11-23.*Z59\.4 is a header code/);
    expect(x12.body.issue[0].expression).toEqual(['Claim.item[0]']);

    const [charge] = await chargesOf(server, 'held-1');
    expect((await server.request('PUT', `/fhir/ChargeItem/${charge.id}`, { body: { ...charge, reason: [{ coding: [{ system: ICD, code: 'Z59.41' }] }] } })).status).toBe(200);
    const rebuilt = await build('Organization/demo-plan', '2026-11');
    const released = entriesOf(rebuilt.body, 'Claim').find((claim) => claim.id === held.id);
    expect(released.status).toBe('active');
    expect(released.diagnosis[0].diagnosisCodeableConcept.coding[0].code).toBe('Z59.41');
    expect((await claimsQueueMessages(server)).map((message) => message.reference)).toContain(`Claim/${held.id}`);
    expect((await server.request('GET', `/fhir/Claim/${held.id}/$x12`)).status).toBe(200);
  });

  it('renders the 837P that x12-parser reads back with its loops and correct SE/GE/IEA counts', async () => {
    const ffs1 = claims.find((claim) => claim.patient.reference === 'Patient/ffs-1');
    const res = await server.request('GET', `/fhir/Claim/${ffs1.id}/$x12`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/edi-x12');
    const segments = await x12Segments(res.text);
    const names = segments.map((segment) => segment.name);
    const st = names.indexOf('ST');
    const se = names.indexOf('SE');
    expect(Number(segments[se]['1'])).toBe(se - st + 1);
    expect(segments.find((s) => s.name === 'GE')!['1']).toBe('1');
    expect(segments.find((s) => s.name === 'IEA')!['1']).toBe('1');
    expect(segments.find((s) => s.name === 'IEA')!['2']).toBe(segments[0]['13']);
    const ccn = ffs1.identifier[0].value;
    expect(segments.find((s) => s.name === 'CLM')).toMatchObject({ 1: ccn, 2: '195' });
    expect(segments.filter((s) => s.name === 'HL').map((s) => s['3'])).toEqual(['20', '22']);
    expect(segments.find((s) => s.name === 'NM1' && s['1'] === '82')).toMatchObject({ 8: 'XX', 9: '9876543213' });
    expect(segments.find((s) => s.name === 'NM1' && s['1'] === 'IL')).toMatchObject({ 3: 'DOE', 9: 'MCD123456789' });
    expect(segments.find((s) => s.name === 'NM1' && s['1'] === 'PR')).toMatchObject({ 9: 'DEMOPAYER01' });
    // x12-parser splits composites: '1' is the first component, '1-1' the second, '1-2' the third...
    expect(segments.find((s) => s.name === 'HI')).toMatchObject({ 1: 'ABK', '1-1': 'Z5941' });
    expect(segments.filter((s) => s.name === 'SV1').map((s) => [s['1'], s['1-1'], s['1-2']].join(':'))).toEqual(['HC:S5170:U6', 'HC:H0043:U6']);
    expect(segments.filter((s) => s.name === 'SV1').map((s) => [s['2'], s['3'], s['4'], s['7']])).toEqual([['45', 'UN', '3', '1'], ['150', 'UN', '1', '1']]);
    expect(segments.filter((s) => s.name === 'REF' && s['1'] === '6R').map((s) => s['2'])).toEqual([`${ccn}-1`, `${ccn}-2`]);
  });

  it('builds a case-rate claim of one line per episode', async () => {
    const res = await build('Organization/pathways-plan', '2026-11');
    const [claim] = entriesOf(res.body, 'Claim');
    expect(entriesOf(res.body, 'Claim')).toHaveLength(1);
    expect(claim.item).toHaveLength(1);
    expect(claim.total.value).toBe(250);
  });

  it('an invoice-model payer gets one Invoice for the period (no Claim), enqueued, with its CSV', async () => {
    const res = await build('Organization/county-grant', '2026-11-01/2026-11-30');
    expect(entriesOf(res.body, 'Claim')).toHaveLength(0);
    const [invoice] = entriesOf(res.body, 'Invoice');
    expect(invoice).toMatchObject({ status: 'issued', recipient: { reference: 'Organization/county-grant' }, totalNet: { value: 50 } });
    expect(invoice.lineItem).toHaveLength(1);
    expect(await claimsQueueMessages(server)).toContainEqual({ kind: 'invoice', reference: `Invoice/${invoice.id}`, payer: 'Organization/county-grant' });
    const csv = await server.request('GET', `/fhir/Invoice/${invoice.id}/$csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const [header, line] = csv.text.trim().split('\r\n');
    expect(header.split(',')).toContain('member_id');
    expect(line).toContain(',CNTY-77,DOE,JANE,1980-01-01,S5170,,2026-11-12,2026-11-12,4,50.00,9876543213,EXAMPLE HOUSING NONPROFIT,Z59.41,Account/county-food-grant'.replace('DOE,JANE', 'Doe,Jane'));
  });

  it('aggregate accounts bill whole calendar months: the running month waits, a late charge gets a supplemental invoice', async () => {
    // After November's invoice (the test above): a late November service, and one in a December not over yet.
    await member(server, 'inv-2', 'county-grant', 'county-food-grant');
    await completeReferral(server, cbo, 'inv-2', 'Z59.41', [{ code: 'S5170', date: '2026-11-25', units: 2 }, { code: 'S5170', date: '2026-12-02', units: 1 }]);
    await waitFor('charges of inv-2', async () => ((await chargesOf(server, 'inv-2')).length >= 2 ? true : undefined));
    // As the daily batch builds: everything up to a day in the middle of December.
    const res = await build('Organization/county-grant', '2026-10-01/2026-12-15');
    const invoices = entriesOf(res.body, 'Invoice');
    expect(invoices).toHaveLength(1);
    expect(invoices[0].type.text).toBe('Social care services invoice (supplemental)');
    expect(invoices[0].totalNet.value).toBe(25);
    expect(invoices[0].extension[0].valuePeriod).toEqual({ start: '2026-11-01', end: '2026-11-30' });
    // December is invoiced once it is over, on its own.
    const december = entriesOf((await build('Organization/county-grant', '2026-12')).body, 'Invoice');
    expect(december.map((invoice) => [invoice.type.text, invoice.totalNet.value])).toEqual([['Social care services invoice', 12.5]]);
  });

  it('capitation: one PMPM charge per enrolled member per month, invoiced; services are not billed; once per month', async () => {
    const res = await build('Organization/capitated-plan', '2026-11');
    const [invoice] = entriesOf(res.body, 'Invoice');
    expect(entriesOf(res.body, 'Claim')).toHaveLength(0);
    expect(invoice.lineItem).toHaveLength(1);
    expect(invoice.totalNet.value).toBe(42);
    const again = await build('Organization/capitated-plan', '2026-11');
    expect(entriesOf(again.body, 'Invoice')).toHaveLength(0);
  });
});

describe('access and input', () => {
  it('only the hub builds and renders claims: partners are refused', async () => {
    const plan = await server.tokenFor('plan', 'Organization/demo-plan', ['HPAYMT']);
    const cboBuild = await build('Organization/demo-plan', '2026-11', cbo);
    expect(cboBuild.status).toBe(403);
    expect(cboBuild.body.resourceType).toBe('OperationOutcome');
    const [claim] = entriesOf((await server.request('GET', '/fhir/Claim?_count=1')).body, 'Claim');
    expect((await server.request('GET', `/fhir/Claim/${claim.id}/$x12`, { token: cbo })).status).toBe(403);
    expect([403, 404]).toContain((await server.request('GET', `/fhir/Claim/${claim.id}/$x12`, { token: plan })).status);
    const staff = await server.tokenFor('hub-staff', 'Organization/hub', ['HOPERAT']);
    expect((await build('Organization/demo-plan', '2026-10', staff)).status).toBe(200);
  });

  it('bad parameters are a 400 naming the parameter', async () => {
    const period = await build('Organization/demo-plan', '2026-13');
    expect(period.status).toBe(400);
    expect(period.body.issue[0].expression).toEqual(['Parameters.parameter[period]']);
    const payer = await build('Organization/nobody', '2026-11');
    expect(payer.status).toBe(400);
    expect(payer.body.issue[0].expression).toEqual(['Parameters.parameter[payer]']);
  });
});
