// The IG's indirect referral with FHIR servers on both sides, over real HTTP and real queues: the
// referral source's server (a small in-test FHIR server holding the ServiceRequest, Patient and Consent)
// and a full CBO's server (another one that accepts the pushed resources and serves its Task). The EHR
// posts a Task whose focus is an absolute URL on its server; the hub fetches the referral with the
// partner's credentials, routes it to the full CBO, pushes the Task there as the CBO may see it, polls it,
// and mirrors what the CBO does back to the source Task on the hub.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SD = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition';
const IRCP = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  ifNoneExist: string | undefined;
}

/** A minimal FHIR server: read, create (If-None-Exist on identifier), update, search by identifier; optional auth. */
interface FakeFhir {
  base: string;
  resources: Map<string, Json>;
  requests: Recorded[];
  /** Paths (e.g. `/fhir/ServiceRequest/broken`) answered with 500. */
  failing: Set<string>;
  put(resource: Json): void;
  close(): Promise<void>;
}

async function fakeFhirServer(auth: { bearer?: string; client?: { id: string; secret: string } }): Promise<FakeFhir> {
  const resources = new Map<string, Json>();
  const requests: Recorded[] = [];
  const failing = new Set<string>();
  let seq = 0;
  let base = '';
  const issued = 'issued-token-1';
  const expected = auth.bearer ?? (auth.client ? issued : undefined);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, ifNoneExist: req.headers['if-none-exist'] as string | undefined });
      const send = (status: number, body?: Json, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
        res.end(body ? JSON.stringify(body) : undefined);
      };
      if (url.pathname === '/token' && req.method === 'POST') {
        const basic = `Basic ${Buffer.from(`${auth.client?.id}:${auth.client?.secret}`).toString('base64')}`;
        if (req.headers.authorization !== basic || !text.includes('grant_type=client_credentials')) return send(401, { error: 'invalid_client' });
        return send(200, { access_token: issued, token_type: 'bearer', expires_in: 300 });
      }
      if (expected && req.headers.authorization !== `Bearer ${expected}`) return send(401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
      if (failing.has(url.pathname)) return send(500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] });
      const match = /^\/fhir\/([A-Za-z]+)(?:\/([A-Za-z0-9\-.]+))?$/.exec(url.pathname);
      if (!match) return send(404);
      const [, type, id] = match;
      const byIdentifier = (query: string | null) => {
        if (!query) return [];
        const [system, value] = query.split('|');
        return [...resources.values()].filter((r) => r.resourceType === type && (r.identifier ?? []).some((i: Json) => i.system === system && i.value === value));
      };
      if (req.method === 'GET' && id) {
        const found = resources.get(`${type}/${id}`);
        return found ? send(200, found) : send(404);
      }
      if (req.method === 'GET') {
        const found = byIdentifier(url.searchParams.get('identifier'));
        return send(200, { resourceType: 'Bundle', type: 'searchset', total: found.length, entry: found.map((resource) => ({ resource })) });
      }
      const body = JSON.parse(text) as Json;
      if (req.method === 'POST' && !id) {
        const condition = new URLSearchParams(req.headers['if-none-exist'] as string | undefined);
        const existing = byIdentifier(condition.get('identifier'))[0];
        if (existing) return send(200, existing, { location: `${base}/${type}/${existing.id}/_history/${existing.meta.versionId}` });
        const created = { ...body, id: `${type.toLowerCase()}-${++seq}`, meta: { ...body.meta, versionId: '1' } };
        resources.set(`${type}/${created.id}`, created);
        return send(201, created, { location: `${base}/${type}/${created.id}/_history/1` });
      }
      if (req.method === 'PUT' && id) {
        const previous = resources.get(`${type}/${id}`);
        const version = String(Number(previous?.meta?.versionId ?? 0) + 1);
        resources.set(`${type}/${id}`, { ...body, id, meta: { ...body.meta, versionId: version } });
        return send(previous ? 200 : 201, resources.get(`${type}/${id}`));
      }
      return send(405);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return {
    base,
    resources,
    requests,
    failing,
    put: (resource) => resources.set(`${resource.resourceType}/${resource.id}`, resource),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let hub: TestServer;
let ehrServer: FakeFhir;
let cboServer: FakeFhir;
let ehrToken: string;
let partnersFile: string;

const task = async (id: string): Promise<Json> => (await hub.request('GET', `/fhir/Task/${id}`)).body;
const hubTasks = async (sourceId: string): Promise<Json[]> => ((await hub.request('GET', `/fhir/Task?part-of=Task/${sourceId}&_sort=_lastUpdated`)).body.entry ?? []).map((e: Json) => e.resource);
const remoteOf = (type: string) => [...cboServer.resources.values()].filter((r) => r.resourceType === type);

/** The referral as the EHR holds it on its own server. */
function seedReferral(suffix: string): void {
  ehrServer.put({
    resourceType: 'Patient', id: `p-${suffix}`, identifier: [{ system: 'urn:ssn', value: `999-00-${suffix}` }], name: [{ family: 'Remote', given: ['Pat'] }],
    birthDate: '1980-05-01', maritalStatus: { text: 'married' }, address: [{ use: 'home', postalCode: '97201', state: 'OR' }],
  });
  ehrServer.put({
    resourceType: 'Consent', id: `c-${suffix}`, status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IDSCL' }] }],
    patient: { reference: `Patient/p-${suffix}` }, dateTime: '2026-01-01T00:00:00Z', organization: [{ reference: 'Organization/ehr' }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'deny', provision: [{ type: 'permit', actor: [{ role: IRCP, reference: { reference: 'Organization/cbo-full' } }] }] },
  });
  ehrServer.put({
    resourceType: 'ServiceRequest', id: `sr-${suffix}`, status: 'active', intent: 'order', subject: { reference: `Patient/p-${suffix}` },
    category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] }, requester: { reference: 'Organization/ehr' },
    authoredOn: '2026-11-01', supportingInfo: [{ reference: `Consent/c-${suffix}` }],
  });
}

/**
 * The EHR's Task reaches the hub, focus and patient on the EHR's server. Returns the source Task id.
 * (Posted with the hub-admin token: the policy refuses a partner's write whose patient is named only by
 * an absolute URL, "the data names no patient"; once the hub has fetched the referral, the Task names
 * the hub's copy of the patient and the EHR reads and updates it with its own token.)
 */
async function refer(srId: string, patientId: string): Promise<string> {
  const res = await hub.request('POST', '/fhir/Task', {
    body: {
      resourceType: 'Task', meta: { profile: [`${SD}/SDOHCC-TaskForReferralManagement`] }, status: 'requested', intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: `${ehrServer.base}/ServiceRequest/${srId}` }, for: { reference: `${ehrServer.base}/Patient/${patientId}` },
      authoredOn: '2026-11-01T10:00:00Z', requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

beforeAll(async () => {
  ehrServer = await fakeFhirServer({ client: { id: 'hub-at-ehr', secret: 'ehr-secret' } });
  cboServer = await fakeFhirServer({ bearer: 'cbo-static-token' });
  partnersFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'partners-')), 'partners.json');
  fs.writeFileSync(partnersFile, JSON.stringify({
    [ehrServer.base]: { type: 'client_credentials', tokenUrl: ehrServer.base.replace(/\/fhir$/, '/token'), clientId: 'hub-at-ehr', clientSecretEnv: 'TEST_EHR_SECRET' },
    [cboServer.base]: { type: 'bearer', token: 'cbo-static-token' },
  }));
  hub = await startTestServer(
    { ALLOW_HTTP_ENDPOINTS: 'true', PARTNERS_FILE: partnersFile, TEST_EHR_SECRET: 'ehr-secret', CBO_POLL_SECONDS: '0.3', PARTNER_ATTEMPTS: '3', PARTNER_BACKOFF_MS: '200' },
    { queues: { dispatchIntervalMs: 50 } },
  );
  const network: Json[] = [
    ...['hub', 'ehr'].map((id) => ({ resourceType: 'Organization', id, active: true, name: id })),
    { resourceType: 'Endpoint', id: 'ep-cbo-full', status: 'active', connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' }, payloadType: [{ text: 'FHIR' }], address: cboServer.base },
    { resourceType: 'Organization', id: 'cbo-full', active: true, name: 'Full CBO', endpoint: [{ reference: 'Endpoint/ep-cbo-full' }] },
    { resourceType: 'Location', id: 'area-97201', meta: { profile: [`${SD}/SDOHCC-Location`] }, status: 'active', name: 'Portland 97201', address: { postalCode: '97201', state: 'OR' } },
    {
      resourceType: 'HealthcareService', id: 'hs-cbo-full', active: true, providedBy: { reference: 'Organization/cbo-full' }, name: 'Meals',
      category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }], coverageArea: [{ reference: 'Location/area-97201' }],
    },
  ];
  for (const resource of network) {
    const res = await hub.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
    expect(res.status, res.text).toBeLessThan(300);
  }
  ehrToken = await hub.tokenFor('referral-source', 'Organization/ehr', ['TREAT']);
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await ehrServer?.close();
  await cboServer?.close();
  if (partnersFile) fs.rmSync(path.dirname(partnersFile), { recursive: true, force: true });
});

describe('a referral from a FHIR referral source to a full CBO', () => {
  it('fetches the remote focus, pushes to the CBO as it may see it, and mirrors its progress back to the source', async () => {
    seedReferral('1');
    const sourceId = await refer('sr-1', 'p-1');

    // The hub fetched the referral with client credentials and kept copies, the original URL in meta.source.
    const [hubTask] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    expect(hubTask.owner).toEqual({ reference: 'Organization/cbo-full' });
    expect(ehrServer.requests.some((r) => r.path === '/token')).toBe(true);
    expect(ehrServer.requests.filter((r) => r.path.startsWith('/fhir/')).every((r) => r.authorization === 'Bearer issued-token-1')).toBe(true);
    const copies = await hub.request('GET', `/fhir/ServiceRequest?_source=${encodeURIComponent(`${ehrServer.base}/ServiceRequest/sr-1`)}`);
    expect(copies.body.entry).toHaveLength(1);
    const srCopy = copies.body.entry[0].resource;
    const patientCopy = (await hub.request('GET', `/fhir/${srCopy.subject.reference}`)).body;
    expect(patientCopy.meta.source).toBe(`${ehrServer.base}/Patient/p-1`);
    expect(hubTask.for).toEqual(srCopy.subject);
    const routed = await task(sourceId);
    expect(routed.status).toBe('accepted');
    expect(routed.for).toEqual({ ...srCopy.subject, identifier: { system: 'urn:ietf:rfc:3986', value: `${ehrServer.base}/Patient/p-1` } });

    // The CBO's server received Patient, Consent, ServiceRequest and Task, linked to each other, redacted for the CBO.
    const remoteTask = await waitFor('push', () => remoteOf('Task')[0]);
    const [remotePatient] = remoteOf('Patient');
    const [remoteSr] = remoteOf('ServiceRequest');
    expect(remoteOf('Consent')).toHaveLength(1);
    expect(cboServer.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/fhir/Patient', '/fhir/Consent', '/fhir/ServiceRequest', '/fhir/Task']);
    expect(cboServer.requests.every((r) => r.authorization === 'Bearer cbo-static-token')).toBe(true);
    expect(cboServer.requests.find((r) => r.path === '/fhir/Task')?.ifNoneExist).toContain(encodeURIComponent(`/Task/${hubTask.id}`));
    expect(remoteTask.focus).toEqual({ reference: `ServiceRequest/${remoteSr.id}` });
    expect(remoteTask.for).toEqual({ reference: `Patient/${remotePatient.id}` });
    expect(remoteTask.owner.reference).toMatch(/\/fhir\/Organization\/cbo-full$/);
    expect(remoteSr.subject).toEqual({ reference: `Patient/${remotePatient.id}` });
    expect(remotePatient.name).toEqual([{ family: 'Remote', given: ['Pat'] }]);
    expect(remotePatient.maritalStatus).toBeUndefined(); // not in the CBO's minimum necessary
    expect(remotePatient.identifier.map((i: Json) => i.system)).toEqual(['urn:ietf:rfc:3986']); // the SSN stays home
    expect(remotePatient.meta.security).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));

    // The hub records where its Task lives now.
    const recorded = await waitFor('remote identifier', async () => ((await task(hubTask.id)).identifier ? task(hubTask.id) : undefined));
    expect(recorded.identifier).toContainEqual({ use: 'secondary', system: 'urn:cch:cbo-task', value: `${cboServer.base}/Task/${remoteTask.id}` });
    // …and an AuditEvent records the disclosure to the CBO: its organization, purpose COC, what was sent.
    const audits = ((await hub.request('GET', '/fhir/AuditEvent?_sort=-_lastUpdated&_count=500')).body.entry ?? []).map((e: Json) => e.resource);
    const disclosure = audits.find((a: Json) => a.agent?.some((agent: Json) => agent.who?.identifier?.value === 'cbo-push:Organization/cbo-full'));
    expect(disclosure, 'disclosure AuditEvent').toBeDefined();
    expect(disclosure.purposeOfEvent[0].coding[0].code).toBe('COC');
    const sent = disclosure.entity.map((e: Json) => e.what?.reference).filter(Boolean);
    expect(sent).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^Task/${hubTask.id}/_history/`)), expect.stringMatching(/^Patient\/rm-/)]));

    // The CBO accepts on its server: the poll mirrors it, the source goes in-progress.
    cboServer.put({ ...remoteTask, status: 'accepted', meta: { versionId: '2' } });
    await waitFor('hub task accepted', async () => ((await task(hubTask.id)).status === 'accepted' ? true : undefined));
    await waitFor('source in progress', async () => ((await task(sourceId)).status === 'in-progress' ? true : undefined));

    // It completes with a Procedure on its server as output.
    cboServer.put({
      resourceType: 'Procedure', id: 'proc-1', status: 'completed', subject: { reference: `Patient/${remotePatient.id}` }, performedDateTime: '2026-11-20',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
    });
    cboServer.put({
      ...remoteTask, status: 'completed', meta: { versionId: '3' },
      output: [{ type: { coding: [{ system: SDOHCC, code: 'resulting-activity' }] }, valueReference: { reference: 'Procedure/proc-1' } }],
    });
    const done = await waitFor('source completed', async () => {
      const source = await task(sourceId);
      return source.status === 'completed' ? source : undefined;
    });
    const outcome = done.output[0].valueReference.reference as string;
    expect(outcome).toMatch(/^Procedure\/rm-[0-9a-f]{40}$/);
    const procedure = (await hub.request('GET', `/fhir/${outcome}`)).body;
    expect(procedure.meta.source).toBe(`${cboServer.base}/Procedure/proc-1`);
    expect(procedure.subject).toEqual(hubTask.for); // the hub's patient, not the CBO's
    expect((await task(hubTask.id)).status).toBe('completed');

    // The EHR sees the outcome on its Task at the hub, and polling of the CBO has stopped.
    expect((await hub.request('GET', `/fhir/Task/${sourceId}`, { token: ehrToken })).body.status).toBe('completed');
    const polls = () => cboServer.requests.filter((r) => r.method === 'GET' && r.path === `/fhir/Task/${remoteTask.id}`).length;
    const seen = polls();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(polls()).toBe(seen);
  });

  it('the source cancelling cancels the Task on the CBO\'s server', async () => {
    seedReferral('2');
    const sourceId = await refer('sr-2', 'p-2');
    const [hubTask] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    await waitFor('remote identifier', async () => ((await task(hubTask.id)).identifier ? true : undefined));
    const source = await task(sourceId);
    const cancel = await hub.request('PUT', `/fhir/Task/${sourceId}`, { token: ehrToken, body: { ...source, status: 'cancelled', statusReason: { text: 'patient moved' } } });
    expect(cancel.status, cancel.text).toBe(200);
    const remote = await waitFor('remote cancelled', () => remoteOf('Task').find((t) => t.identifier.some((i: Json) => i.value.endsWith(`/Task/${hubTask.id}`)) && t.status === 'cancelled'));
    expect(remote.statusReason.text).toBe('The referral source cancelled the referral');
  });

  it('a remote focus that cannot be fetched is retried, then dead-lettered; the source Task stays requested', async () => {
    ehrServer.failing.add('/fhir/ServiceRequest/broken');
    const sourceId = await refer('broken', 'p-1');
    const letters = await waitFor('dead letter', async () => {
      const res = await hub.request('GET', '/admin/queues/api/dead-letters');
      const found = (res.body.deadLetters as Json[]).filter((letter) => letter.queue === 'referral-fetch');
      return found.length ? found : undefined;
    });
    expect(letters[0].attemptsMade).toBe(3);
    expect(ehrServer.requests.filter((r) => r.path === '/fhir/ServiceRequest/broken')).toHaveLength(3);
    const source = await task(sourceId);
    expect(source.status).toBe('requested');
    expect(await hubTasks(sourceId)).toEqual([]);
  });

  it('a focus on a server that is not a configured partner is not fetched at all', async () => {
    const res = await hub.request('POST', '/fhir/Task', {
      body: {
        resourceType: 'Task', meta: { profile: [`${SD}/SDOHCC-TaskForReferralManagement`] }, status: 'requested', intent: 'order',
        code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
        focus: { reference: 'http://127.0.0.1:9/fhir/ServiceRequest/elsewhere' }, for: { reference: 'http://127.0.0.1:9/fhir/Patient/p' },
        authoredOn: '2026-11-01T10:00:00Z', requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
      },
    });
    expect(res.status, res.text).toBe(201);
    const letter = await waitFor('dead letter', async () => {
      const list = (await hub.request('GET', '/admin/queues/api/dead-letters')).body.deadLetters as Json[];
      return list.find((l) => l.queue === 'referral-fetch' && /not a configured partner/.test(l.failedReason));
    });
    expect(letter.attemptsMade).toBe(1);
    expect((await task(res.body.id)).status).toBe('requested');
  });
});
