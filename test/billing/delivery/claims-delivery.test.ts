// The claims queue end to end over real Redis: documents reach the payer's FHIR endpoint (started
// here), an SFTP server (OpenSSH on loopback, and the ssh2 fallback) or a drop folder; resends do
// not duplicate; transient failures are retried; permanent ones are marked failed and dead-lettered
// with the reason; a member's payment opt-out stops the claim at send time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters } from '../../../src/queue/dead-letters.ts';
import { startSftpServer, type TestSftpServer } from '../../helpers/sftp-server.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { createClaim, createMember, createPayer, deliveryState, HPAYMT_OPT_OUT, queueDelivery, waitForDeliveryState, waitProcessed } from './delivery-fixture.ts';
import { startPayerFhirEndpoint, type PayerFhirEndpoint } from './payer-fhir-endpoint.ts';

let server: TestServer;
let payer: PayerFhirEndpoint;
let sftp: TestSftpServer;
let fallbackSftp: TestSftpServer;
let dropRoot: string;
let keyDir: string;

beforeAll(async () => {
  [payer, sftp, fallbackSftp] = await Promise.all([startPayerFhirEndpoint(), startSftpServer(), startSftpServer({ forceFallback: true })]);
  dropRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-drop-'));
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cch-keys-'));
  fs.writeFileSync(path.join(keyDir, 'sftp.key'), sftp.clientPrivateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(keyDir, 'fallback.key'), fallbackSftp.clientPrivateKey, { mode: 0o600 });
  fs.writeFileSync(
    path.join(keyDir, 'credentials.json'),
    JSON.stringify({
      'plan-sftp-billing': { privateKeyFile: 'sftp.key', hostKeySha256: sftp.hostKeySha256 },
      'plan-fallback-billing': { privateKeyFile: 'fallback.key', hostKeySha256: fallbackSftp.hostKeySha256 },
      'plan-wrongkey-billing': { privateKeyFile: 'sftp.key', hostKeySha256: fallbackSftp.hostKeySha256 },
    }),
  );
  server = await startTestServer(
    {
      ALLOW_HTTP_ENDPOINTS: 'true',
      CLAIMS_DELIVERY_ATTEMPTS: '3',
      CLAIMS_DELIVERY_BACKOFF_MS: '50',
      CLAIMS_DELIVERY_TIMEOUT_MS: '5000',
      CLAIMS_DROP_ROOT: dropRoot,
      CLAIMS_SFTP_CREDENTIALS_FILE: path.join(keyDir, 'credentials.json'),
    },
    { queues: { dispatchIntervalMs: 50 } },
  );
  await server.request('PUT', '/fhir/Organization/hub', { body: { resourceType: 'Organization', id: 'hub', name: 'Hub' } });
  await server.request('PUT', '/fhir/Organization/cbo-housing', { body: { resourceType: 'Organization', id: 'cbo-housing', name: 'Housing CBO' } });
  await createPayer(server, 'plan-fhir', 'fhir', payer.url);
  await createPayer(server, 'plan-sftp', 'sftp', `sftp://${sftp.username}@${sftp.host}:${sftp.port}${sftp.directory}`);
  await createPayer(server, 'plan-fallback', 'sftp', `sftp://${fallbackSftp.username}@${fallbackSftp.host}:${fallbackSftp.port}${fallbackSftp.directory}`);
  await createPayer(server, 'plan-wrongkey', 'sftp', `sftp://${sftp.username}@${sftp.host}:${sftp.port}${sftp.directory}`);
  await createPayer(server, 'plan-drop', 'drop-folder', `file://${path.join(dropRoot, 'plan-drop')}`);
  await createPayer(server, 'plan-outside', 'drop-folder', `file://${os.tmpdir()}/elsewhere`);
  for (const plan of ['plan-fhir', 'plan-sftp', 'plan-fallback', 'plan-drop', 'plan-wrongkey', 'plan-outside']) await createMember(server, `m-${plan}`, plan);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([payer?.close(), sftp?.close(), fallbackSftp?.close()]);
  fs.rmSync(dropRoot, { recursive: true, force: true });
  fs.rmSync(keyDir, { recursive: true, force: true });
});

/** A stored report document with a CSV attachment (as $report writes them). */
async function createReport(payerId: string, id: string): Promise<void> {
  const csv = Buffer.from('measure,stratum,count\nreferrals-received,all,42\n').toString('base64');
  expect((await server.request('PUT', `/fhir/Binary/${id}-csv`, { body: { resourceType: 'Binary', id: `${id}-csv`, contentType: 'text/csv', data: csv } })).status).toBe(201);
  const report = {
    resourceType: 'MeasureReport', id, status: 'complete', type: 'summary', measure: 'http://cch.example.org/fhir/Measure/plan-monthly',
    identifier: [{ system: 'urn:cch:report', value: id }], reporter: { reference: 'Organization/hub' },
    period: { start: '2025-01-01', end: '2025-01-31' },
    // Member-level parts, which a plan's delivered reports never carry: a member List and evaluated resources.
    contained: [{ resourceType: 'List', id: 'received', status: 'current', mode: 'snapshot', entry: [{ item: { reference: 'Patient/m-plan-fhir' } }] }],
    group: [{ population: [{ code: { text: 'referrals-received' }, count: 42, subjectResults: { reference: '#received' } }] }],
    evaluatedResource: [{ reference: 'Patient/m-plan-fhir' }],
  };
  expect((await server.request('PUT', `/fhir/MeasureReport/${id}`, { body: report })).status).toBe(201);
}

describe('claims delivered through the queue', () => {
  it('POSTs the claim to the payer FHIR endpoint once, however often it is sent, and marks it sent', async () => {
    const claim = await createClaim(server, 'm-plan-fhir', 'plan-fhir');
    await queueDelivery(server, { kind: 'claim', reference: `Claim/${claim.id}`, payer: 'Organization/plan-fhir' });
    const sent = await waitForDeliveryState(server, `Claim/${claim.id}`);
    expect(deliveryState(sent).state).toBe('sent');
    const atPayer = () => [...payer.stored.values()].filter((r) => r.resourceType === 'Claim' && JSON.stringify(r.identifier).includes(claim.control));
    expect(atPayer()).toHaveLength(1);
    // The payer gets the claim, not the hub's bookkeeping.
    expect(atPayer()[0].extension).toBeUndefined();
    expect(atPayer()[0].total).toEqual({ value: 450, currency: 'USD' });

    // A resend (a second message for the same claim) finds the first copy at the payer.
    const version = sent.meta.versionId;
    await waitProcessed(server, await queueDelivery(server, { kind: 'claim', reference: `Claim/${claim.id}`, payer: 'Organization/plan-fhir' }));
    expect(payer.requests.filter((r) => r === 'POST Claim').length).toBe(2);
    expect(atPayer()).toHaveLength(1);
    expect((await server.request('GET', `/fhir/Claim/${claim.id}`)).body.meta.versionId).toBe(version); // still sent: no new version
  });

  it('retries a payer that fails for a while, then delivers', async () => {
    const claim = await createClaim(server, 'm-plan-fhir', 'plan-fhir');
    payer.failNext(2, 503);
    await queueDelivery(server, { kind: 'claim', reference: `Claim/${claim.id}`, payer: 'Organization/plan-fhir' });
    expect(deliveryState(await waitForDeliveryState(server, `Claim/${claim.id}`)).state).toBe('sent');
    expect([...payer.stored.values()].filter((r) => JSON.stringify(r.identifier ?? '').includes(claim.control))).toHaveLength(1);
  });

  it('marks a claim the payer refuses as failed with the reason, and dead-letters it at once', async () => {
    const claim = await createClaim(server, 'm-plan-fhir', 'plan-fhir');
    payer.failNext(1, 422);
    await queueDelivery(server, { kind: 'claim', reference: `Claim/${claim.id}`, payer: 'Organization/plan-fhir' });
    const failed = deliveryState(await waitForDeliveryState(server, `Claim/${claim.id}`));
    expect(failed.state).toBe('failed');
    expect(failed.reason).toContain('answered 422');
    const letters = await listDeadLetters(server.queues!.queues);
    expect(letters.some((letter) => letter.queue === 'claims' && letter.failedReason.includes('answered 422') && letter.attemptsMade === 1)).toBe(true);
  });

  it('does not send a claim whose member opted out of payment disclosure since it was built; hub staff see why', async () => {
    const claim = await createClaim(server, 'm-plan-fhir', 'plan-fhir');
    const before = payer.requests.length;
    expect((await server.request('PUT', '/fhir/Consent/optout-payment', { body: HPAYMT_OPT_OUT('optout-payment', 'm-plan-fhir') })).status).toBe(201);
    try {
      await queueDelivery(server, { kind: 'claim', reference: `Claim/${claim.id}`, payer: 'Organization/plan-fhir' });
      await waitForDeliveryState(server, `Claim/${claim.id}`);
      const staff = await server.tokenFor('hub-staff', 'Organization/hub', ['HOPERAT']);
      const seen = await server.request('GET', `/fhir/Claim/${claim.id}`, { token: staff });
      expect(seen.status).toBe(200);
      expect(deliveryState(seen.body)).toEqual({ state: 'withheld-consent', reason: expect.stringContaining('consent') });
      expect(payer.requests.length).toBe(before);
      expect([...payer.stored.values()].some((r) => JSON.stringify(r.identifier ?? '').includes(claim.control))).toBe(false);
    } finally {
      await server.request('DELETE', '/fhir/Consent/optout-payment');
    }
  });

  it('sends a report as an aggregate with its CSV: member-level detail stays home', async () => {
    await createReport('plan-fhir', 'report-fhir-1');
    await queueDelivery(server, { kind: 'report', reference: 'MeasureReport/report-fhir-1', payer: 'Organization/plan-fhir', attachments: ['Binary/report-fhir-1-csv'] });
    expect(deliveryState(await waitForDeliveryState(server, 'MeasureReport/report-fhir-1')).state).toBe('sent');
    const report = [...payer.stored.values()].find((r) => r.resourceType === 'MeasureReport' && JSON.stringify(r.identifier).includes('report-fhir-1'));
    expect(report?.group).toEqual([{ population: [{ code: { text: 'referrals-received' }, count: 42 }] }]);
    expect(report?.evaluatedResource).toBeUndefined();
    expect(report?.contained).toBeUndefined();
    const csv = payer.stored.get('Binary/cch-report-fhir-1-csv');
    expect(Buffer.from(String(csv?.data), 'base64').toString()).toContain('referrals-received,all,42');
  });

  it(`writes files over SFTP (OpenSSH when installed) under fixed names`, async () => {
    await createReport('plan-sftp', 'report-sftp-1');
    const message = { kind: 'report' as const, reference: 'MeasureReport/report-sftp-1', payer: 'Organization/plan-sftp', attachments: ['Binary/report-sftp-1-csv'] };
    await queueDelivery(server, message);
    expect(deliveryState(await waitForDeliveryState(server, 'MeasureReport/report-sftp-1')).state).toBe('sent');
    expect(fs.readdirSync(sftp.directory).sort()).toEqual(['report-sftp-1-1.csv', 'report-sftp-1.json']);
    expect(JSON.parse(fs.readFileSync(path.join(sftp.directory, 'report-sftp-1.json'), 'utf8')).group[0].population[0].count).toBe(42);
    // A resend replaces the files: still two.
    await waitProcessed(server, await queueDelivery(server, message));

    expect(fs.readdirSync(sftp.directory).sort()).toEqual(['report-sftp-1-1.csv', 'report-sftp-1.json']);
  });

  it('writes files over SFTP to the ssh2 fallback server as well', async () => {
    expect(fallbackSftp.kind).toBe('ssh2');
    await createReport('plan-fallback', 'report-fallback-1');
    await queueDelivery(server, { kind: 'report', reference: 'MeasureReport/report-fallback-1', payer: 'Organization/plan-fallback', attachments: ['Binary/report-fallback-1-csv'] });
    expect(deliveryState(await waitForDeliveryState(server, 'MeasureReport/report-fallback-1')).state).toBe('sent');
    expect(fs.readFileSync(path.join(fallbackSftp.directory, 'report-fallback-1-1.csv'), 'utf8')).toContain('referrals-received,all,42');
  });

  it('refuses an SFTP server whose host key is not the pinned one', async () => {
    await createReport('plan-wrongkey', 'report-wrongkey-1');
    await queueDelivery(server, { kind: 'report', reference: 'MeasureReport/report-wrongkey-1', payer: 'Organization/plan-wrongkey' });
    const outcome = deliveryState(await waitForDeliveryState(server, 'MeasureReport/report-wrongkey-1'));
    expect(outcome.state).toBe('failed');
    expect(fs.existsSync(path.join(sftp.directory, 'report-wrongkey-1.json'))).toBe(false);
  });

  it('drops files into a folder below CLAIMS_DROP_ROOT, and refuses one outside it', async () => {
    await createReport('plan-drop', 'report-drop-1');
    await queueDelivery(server, { kind: 'report', reference: 'MeasureReport/report-drop-1', payer: 'Organization/plan-drop', attachments: ['Binary/report-drop-1-csv'] });
    expect(deliveryState(await waitForDeliveryState(server, 'MeasureReport/report-drop-1')).state).toBe('sent');
    expect(fs.readdirSync(path.join(dropRoot, 'plan-drop')).sort()).toEqual(['report-drop-1-1.csv', 'report-drop-1.json']);

    await createReport('plan-outside', 'report-outside-1');
    await queueDelivery(server, { kind: 'report', reference: 'MeasureReport/report-outside-1', payer: 'Organization/plan-outside' });
    const refused = deliveryState(await waitForDeliveryState(server, 'MeasureReport/report-outside-1'));
    expect(refused).toEqual({ state: 'failed', reason: expect.stringContaining('outside CLAIMS_DROP_ROOT') });
  });
});
