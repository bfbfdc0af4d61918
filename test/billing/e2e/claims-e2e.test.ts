// The whole money loop over HTTP with real Redis, a payer FHIR endpoint and an SFTP server: completed
// referrals → charges → Claim/$build → delivery (FHIR, then an 837P over SFTP) → 835 → reconciled CBO
// ledger; a member who opts out of payment disclosure between build and send; a duplicate 835; a
// malformed 835 that changes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSftpServer, type TestSftpServer } from '../../helpers/sftp-server.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { chargesOf, completeReferral, loadContracts, loadNetwork, member, waitFor } from '../claims/billing-fixtures.ts';
import { deliveryState, HPAYMT_OPT_OUT, queueDelivery, waitForDeliveryState } from '../delivery/delivery-fixture.ts';
import { startPayerFhirEndpoint, type PayerFhirEndpoint } from '../delivery/payer-fhir-endpoint.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const CCN = 'urn:cch:claim-control-number';
const LCN = 'http://cch.example.org/fhir/StructureDefinition/line-control-number';

let server: TestServer;
let payer: PayerFhirEndpoint;
let sftp: TestSftpServer;
const claims: Record<string, Any> = {};

/** Points demo-plan's billing Endpoint at `address` (FHIR or SFTP), keeping the Organization as the contract loaded it. */
async function billingEndpoint(kind: 'fhir' | 'sftp', address: string): Promise<void> {
  const connectionType = kind === 'fhir'
    ? { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' }
    : { system: 'http://cch.example.org/fhir/CodeSystem/billing-connection-type', code: 'sftp' };
  const endpoint = {
    resourceType: 'Endpoint', id: 'demo-plan-billing', status: 'active', connectionType, address, managingOrganization: { reference: 'Organization/demo-plan' },
    payloadType: [{ coding: [{ system: 'http://cch.example.org/fhir/CodeSystem/endpoint-payload-type', code: 'billing' }] }],
  };
  expect((await server.request('PUT', '/fhir/Endpoint/demo-plan-billing', { body: endpoint })).status).toBeLessThan(300);
  const organization = (await server.request('GET', '/fhir/Organization/demo-plan')).body;
  expect((await server.request('PUT', '/fhir/Organization/demo-plan', { body: { ...organization, endpoint: [{ reference: 'Endpoint/demo-plan-billing' }] } })).status).toBe(200);
}

/** An 835 paying `claim` in full but for `withheld` on its last line (CO-45), under trace `trn`. */
function remittance(claim: Any, trn: string, withheld: number): string {
  const control = claim.identifier.find((i: Any) => i.system === CCN).value;
  const lines = claim.item.map((item: Any, i: number) => {
    const charge = item.net.value;
    const paid = i === claim.item.length - 1 ? charge - withheld : charge;
    const lcn = item.extension.find((e: Any) => e.url === LCN).valueString;
    return [`SVC*HC:${item.productOrService.coding[0].code}*${charge}*${paid}**${item.quantity?.value ?? 1}`, `DTM*472*${item.servicedDate.replace(/-/g, '')}`, ...(paid < charge ? [`CAS*CO*45*${charge - paid}`] : []), `REF*6R*${lcn}`];
  });
  const total = claim.total.value;
  const body = [
    `BPR*I*${total - withheld}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20261210`,
    `TRN*1*${trn}*1512345678`,
    'N1*PR*DEMO HEALTH PLAN', 'N1*PE*COMMUNITY CARE HUB*XX*1234567893', 'LX*1',
    `CLP*${control}*1*${total}*${total - withheld}*0*MC*PLAN${trn}*12*1`,
    ...lines.flat(),
  ];
  const segments = ['ST*835*0001*005010X221A1', ...body];
  return [
    'ISA*00*          *00*          *ZZ*PLANRECV01     *ZZ*CCHSUBMIT01    *261210*1200*^*00501*000000777*0*T*:',
    'GS*HP*PLANRECV01*CCHSUBMIT01*20261210*1200*777*X*005010X221A1',
    ...segments, `SE*${segments.length + 1}*0001`, 'GE*1*777', 'IEA*1*000000777',
  ].join('~\n') + '~\n';
}

const cboBalance = async () => {
  const account = (await server.request('GET', '/fhir/Account/cbo-payable-cbo-a')).body;
  return account?.extension?.find((e: Any) => e.url.endsWith('extension-Account.balance'))?.extension.find((p: Any) => p.url === 'amount').valueMoney.value;
};

let keyDir: string | undefined;

beforeAll(async () => {
  [payer, sftp] = await Promise.all([startPayerFhirEndpoint(), startSftpServer()]);
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-e2e-keys-'));
  fs.writeFileSync(path.join(keyDir, 'client.key'), sftp.clientPrivateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(keyDir, 'credentials.json'), JSON.stringify({ 'demo-plan-billing': { privateKeyFile: 'client.key', hostKeySha256: sftp.hostKeySha256 } }));
  server = await startTestServer(
    { ALLOW_HTTP_ENDPOINTS: 'true', CLAIM_BATCH_INTERVAL_HOURS: '0', HUB_ADMIN_FEE_PERCENT: '10', CLAIMS_DELIVERY_BACKOFF_MS: '50', CLAIMS_DELIVERY_TIMEOUT_MS: '10000', CLAIMS_SFTP_CREDENTIALS_FILE: path.join(keyDir, 'credentials.json'), MONTHLY_REPORTS: 'false' },
    { queues: { dispatchIntervalMs: 50 } },
  );
  await loadNetwork(server);
  await loadContracts(server);
  await billingEndpoint('fhir', payer.url);
  const cbo = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  await member(server, 'e2e-1', 'demo-plan', 'demo-plan-calaim-cs', 'MCD123456789');
  await member(server, 'e2e-2', 'demo-plan', 'demo-plan-calaim-cs', 'MCD987654321');
  await completeReferral(server, cbo, 'e2e-1', 'Z59.41', [{ code: 'S5170', modifiers: ['U6'], date: '2026-11-20', units: 3 }, { code: 'H0043', modifiers: ['U6'], date: '2026-11-21' }]);
  await completeReferral(server, cbo, 'e2e-2', 'Z59.41', [{ code: 'S9977', modifiers: ['U7'], date: '2026-11-22' }]);
  for (const [patient, count] of [['e2e-1', 2], ['e2e-2', 1]] as const) await waitFor(`charges of ${patient}`, async () => ((await chargesOf(server, patient)).length >= count ? true : undefined));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([payer?.close(), sftp?.close()]);
  if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
});

describe('completed referral → charge → claim → delivery → 835 → ledger', () => {
  it('builds the claims and sends each once to the payer FHIR endpoint; a member who opted out between build and send is withheld', async () => {
    // Hold delivery so the opt-out lands between build and send. The queue is paused, not the worker:
    // a worker resumed while its main loop is winding down can stay stopped (seen once under CI load).
    const { queue } = server.queues!.queues.find((q) => q.name === 'claims')!;
    await queue.pause();
    const built = await server.request('POST', '/fhir/Claim/$build', { body: { resourceType: 'Parameters', parameter: [{ name: 'payer', valueString: 'Organization/demo-plan' }, { name: 'period', valueString: '2026-11' }] } });
    expect(built.status, built.text).toBe(200);
    const found = (built.body.entry ?? []).map((e: Any) => e.resource).filter((r: Any) => r.resourceType === 'Claim');
    for (const claim of found) claims[claim.patient.reference.split('/')[1]] = claim;
    expect(Object.keys(claims).sort()).toEqual(['e2e-1', 'e2e-2']);
    expect((await server.request('PUT', '/fhir/Consent/e2e-2-payment-optout', { body: HPAYMT_OPT_OUT('e2e-2-payment-optout', 'e2e-2') })).status).toBe(201);
    await queue.resume();

    expect(deliveryState(await waitForDeliveryState(server, `Claim/${claims['e2e-1'].id}`)).state).toBe('sent');
    expect(deliveryState(await waitForDeliveryState(server, `Claim/${claims['e2e-2'].id}`)).state).toBe('withheld-consent');
    const atPayer = [...payer.stored.values()].filter((r) => r.resourceType === 'Claim');
    expect(atPayer).toHaveLength(1);
    expect(atPayer[0].identifier).toEqual(claims['e2e-1'].identifier);
  });

  it('sends the same claim as an 837P over SFTP under its claim control number', async () => {
    await billingEndpoint('sftp', `sftp://${sftp.username}@${sftp.host}:${sftp.port}${sftp.directory}`);
    const claim = claims['e2e-1'];
    const control = claim.identifier.find((i: Any) => i.system === CCN).value;
    await queueDelivery(server, { kind: 'claim', reference: `Claim/${claim.id}`, payer: 'Organization/demo-plan' });
    const file = path.join(sftp.directory, `${control}.837`);
    // Generous under a loaded CI machine (each SSH attempt times out at 10 s and is retried); on timeout,
    // say what the queue recorded on the Claim.
    await waitFor('the 837P on the SFTP server', async () => (fs.existsSync(file) ? true : undefined), 45_000).catch(async (error: Error) => {
      const stored = (await server.request('GET', `/fhir/Claim/${claim.id}`)).body;
      throw new Error(`${error.message}; the Claim's delivery extensions: ${JSON.stringify(stored?.extension ?? [])}`);
    });
    const x12 = fs.readFileSync(file, 'utf8');
    expect(x12).toMatch(/^ISA\*/);
    expect(x12).toContain(`CLM*${control}*`);
    for (const item of claim.item) expect(x12).toContain(`REF*6R*${item.extension.find((e: Any) => e.url === LCN).valueString}`);
  });

  it('reconciles the 835: ClaimResponse, PaymentReconciliation and the CBO payable ledger; a duplicate applies once; a malformed one changes nothing', async () => {
    const claim = claims['e2e-1'];
    const total = claim.total.value;
    const text = remittance(claim, 'EFT-E2E-1', 5);
    const post = (body: string) => server.request('POST', '/fhir/$x12-inbound', { rawBody: body, headers: { 'content-type': 'application/edi-x12' } });
    const applied = await post(text);
    expect(applied.status, applied.text).toBe(200);
    const response = (await server.request('GET', `/fhir/ClaimResponse/cr-${claim.id}`)).body;
    expect(response).toMatchObject({ outcome: 'complete', request: { reference: `Claim/${claim.id}` }, payment: { amount: { value: total - 5 } } });
    expect(response.item).toHaveLength(claim.item.length);
    const expected = Math.round((total - 5) * 0.9 * 100) / 100;
    expect(await cboBalance()).toBe(expected);

    const again = await post(text.replace('000000777', '000000778').replace('000000777', '000000778'));
    expect(again.body.parameter[0].part).toContainEqual({ name: 'duplicate', valueBoolean: true });
    expect(await cboBalance()).toBe(expected);

    const broken = await post(remittance(claim, 'EFT-E2E-2', 0).replace(/SE\*(\d+)\*/, (_m, n) => `SE*${Number(n) + 1}*`));
    expect(broken.status).toBe(400);
    expect(broken.body.issue[0].diagnostics).toMatch(/X12 segment \d+ \(SE\)/);
    expect(await cboBalance()).toBe(expected);
    expect((await server.request('GET', '/fhir/PaymentReconciliation')).body.entry).toHaveLength(1);
  });
});
