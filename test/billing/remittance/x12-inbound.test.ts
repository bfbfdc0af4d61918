// Inbound X12 over HTTP ($x12-inbound) and through the watched folder: 999 and 277CA update each
// claim's ClaimResponse, an 835 pays claims line by line (matched by REF*6R), writes one
// PaymentReconciliation and credits the CBO's payable ledger (less the hub fee) whose Account shows
// the balance; a resent 835 applies once; malformed or unmatched X12 changes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { createClaim, createMember, createPayer } from '../delivery/delivery-fixture.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../../fixtures/x12');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

let server: TestServer;
let inbound: string;
const claims: Record<string, string> = {};

const post = (text: string, contentType = 'application/edi-x12') =>
  server.request('POST', '/fhir/$x12-inbound', { rawBody: text, headers: { 'content-type': contentType } });
const responseOf = async (control: string) => (await server.request('GET', `/fhir/ClaimResponse/cr-${claims[control]}`)).body;
const balance = async () => {
  const account = (await server.request('GET', '/fhir/Account/cbo-payable-cbo-housing')).body;
  return account?.extension?.find((e: { url: string }) => e.url === 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Account.balance')?.extension.find((p: { url: string }) => p.url === 'amount')?.valueMoney.value;
};
const reconciliations = async () => (await server.request('GET', '/fhir/PaymentReconciliation')).body.entry?.length ?? 0;

beforeAll(async () => {
  inbound = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-x12-in-'));
  server = await startTestServer({ HUB_ADMIN_FEE_PERCENT: '10', X12_INBOUND_DIR: inbound, X12_INBOUND_POLL_MS: '100' });
  await server.request('PUT', '/fhir/Organization/cbo-housing', { body: { resourceType: 'Organization', id: 'cbo-housing', name: 'Housing CBO' } });
  await createPayer(server, 'plan-1', 'fhir', 'https://plan.example/fhir');
  await createMember(server, 'm1', 'plan-1');
  await createMember(server, 'm2', 'plan-1');
  for (const [control, member] of [['CCH000000123', 'm1'], ['CCH000000124', 'm2']]) claims[control] = (await createClaim(server, member, 'plan-1', 'Organization/cbo-housing', control)).id;
}, 60_000);

afterAll(async () => {
  await server?.close();
  fs.rmSync(inbound, { recursive: true, force: true });
});

describe('$x12-inbound', () => {
  it('999: an accepted group queues the claim, a rejected one records the error', async () => {
    const accepted = await post(fixture('999-accepted.x12'));
    expect(accepted.status).toBe(200);
    expect(accepted.body.parameter[0].part).toEqual(expect.arrayContaining([{ name: 'type', valueCode: '999' }, { name: 'duplicate', valueBoolean: false }]));
    expect((await responseOf('CCH000000123')).outcome).toBe('queued');
    expect((await post(fixture('999-rejected.x12'), 'text/plain')).status).toBe(200);
    const rejected = await responseOf('CCH000000124');
    expect(rejected.outcome).toBe('error');
    expect(rejected.error[0].code.coding[0].code).toBe('8');
    expect(rejected.request).toEqual({ reference: `Claim/${claims.CCH000000124}` });
  });

  it('277CA: per claim, accepted into adjudication with the payer claim number, or rejected with the status code', async () => {
    expect((await post(fixture('277ca.x12'))).status).toBe(200);
    const accepted = await responseOf('CCH000000123');
    expect(accepted.outcome).toBe('queued');
    expect(accepted.identifier).toEqual([{ system: 'urn:cch:payer-claim-control-number', value: 'PLANCLAIM001' }]);
    const rejected = await responseOf('CCH000000124');
    expect(rejected.outcome).toBe('error');
    expect(rejected.error[0].code.coding.map((c: { code: string }) => c.code)).toEqual(['A7', '562']);
  });

  it('835: pays the claim line by line, reconciles the payment and credits the CBO ledger less the hub fee', async () => {
    const res = await post(fixture('835-payment.x12'));
    expect(res.status).toBe(200);
    const response = await responseOf('CCH000000123');
    expect(response.outcome).toBe('complete');
    expect(response.payment.amount).toEqual({ value: 400, currency: 'USD' });
    const line2 = response.item.find((item: { itemSequence: number }) => item.itemSequence === 2);
    expect(line2.adjudication).toEqual(
      expect.arrayContaining([
        { category: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'benefit' }] }, amount: { value: 250, currency: 'USD' } },
        {
          category: { coding: [{ system: 'https://x12.org/codes/claim-adjustment-group-codes', code: 'CO' }] },
          reason: { coding: [{ system: 'https://x12.org/codes/claim-adjustment-reason-codes', code: '45' }] },
          amount: { value: 50, currency: 'USD' },
        },
      ]),
    );
    const bundle = (await server.request('GET', '/fhir/PaymentReconciliation')).body;
    expect(bundle.entry).toHaveLength(1);
    const reconciliation = bundle.entry[0].resource;
    expect(reconciliation.paymentAmount).toEqual({ value: 400, currency: 'USD' });
    expect(reconciliation.paymentDate).toBe('2025-02-10');
    expect(reconciliation.detail).toEqual([expect.objectContaining({ request: { reference: `Claim/${claims.CCH000000123}` }, amount: { value: 400, currency: 'USD' } })]);
    // 150 + 250 paid, 10 % hub fee: 360 owed to the CBO.
    expect(await balance()).toBe(360);
  });

  it('a resent 835 (same TRN) applies once', async () => {
    const res = await post(fixture('835-payment-resent.x12'));
    expect(res.status).toBe(200);
    expect(res.body.parameter[0].part).toContainEqual({ name: 'duplicate', valueBoolean: true });
    expect(await balance()).toBe(360);
    expect(await reconciliations()).toBe(1);
  });

  it('malformed X12 is a 400 naming the segment; nothing is applied', async () => {
    const res = await post(fixture('835-malformed.x12'));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toContain('X12 segment 26 (SE)');
    expect(res.body.issue[0].expression).toEqual(['X12.segment[26]']);
    expect((await post('not x12 at all')).status).toBe(400);
    expect(await balance()).toBe(360);
    expect(await reconciliations()).toBe(1);
  });

  it('an 835 whose line matches no claim line is refused whole (422): no payment, no ledger row, no key recorded', async () => {
    const text = fixture('835-payment.x12').replace('TRN*1*EFT0001234', 'TRN*1*EFT0005555').replace('REF*6R*CCH000000123-2', 'REF*6R*CCH000000123-9');
    const res = await post(text);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].diagnostics).toMatch(/X12 segment \d+ \(REF\): line control number CCH000000123-9/);
    expect(await balance()).toBe(360);
    expect(await reconciliations()).toBe(1);
    // Fixed, the same TRN applies (the refused try left no duplicate key behind).
    const fixed = await post(text.replace('REF*6R*CCH000000123-9', 'REF*6R*CCH000000123-2'));
    expect(fixed.body.parameter[0].part).toContainEqual({ name: 'duplicate', valueBoolean: false });
    expect(await balance()).toBe(720);
  });

  it('refuses other content types', async () => {
    expect((await server.request('POST', '/fhir/$x12-inbound', { body: { resourceType: 'Parameters' } })).status).toBe(415);
  });

  it('a partner without the operation in its profile may not post remittances', async () => {
    const plan = await server.tokenFor('plan', 'Organization/plan-1', ['HPAYMT']);
    const res = await server.request('POST', '/fhir/$x12-inbound', { rawBody: fixture('835-payment.x12'), headers: { 'content-type': 'application/edi-x12' }, token: plan });
    expect(res.status).toBe(403);
  });
});

describe('the watched X12 folder', () => {
  it('applies files dropped in it, moves them to processed/, and malformed ones to failed/ with the reason', async () => {
    const good = fixture('835-payment.x12').replace('TRN*1*EFT0001234', 'TRN*1*EFT0007777');
    fs.writeFileSync(path.join(inbound, 'remit-7777.x12'), good);
    fs.writeFileSync(path.join(inbound, 'broken.x12'), fixture('835-malformed.x12'));
    const until = Date.now() + 10_000;
    while ((!fs.existsSync(path.join(inbound, 'processed', 'remit-7777.x12')) || !fs.existsSync(path.join(inbound, 'failed', 'broken.x12.error.txt'))) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fs.readdirSync(path.join(inbound, 'processed'))).toEqual(['remit-7777.x12']);
    expect(fs.readFileSync(path.join(inbound, 'failed', 'broken.x12.error.txt'), 'utf8')).toContain('X12 segment 26 (SE)');
    expect(fs.readdirSync(inbound).filter((name) => !['processed', 'failed'].includes(name))).toEqual([]);
    expect(await balance()).toBe(1080);
    expect(await reconciliations()).toBe(3);
  });
});
