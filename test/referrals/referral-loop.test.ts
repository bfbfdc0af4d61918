// The closed loop end to end, over HTTP, with real queues (Redis) and the outbox: an EHR's referral
// Task owned by the hub is routed to a consented CBO, the CBO accepts and completes it, and the
// outcome reaches the source Task; a rejection re-routes; no eligible CBO rejects the referral.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { consent, permitFor } from '../policy/fixture.ts';
import { startReceiver, subscribe, type Receiver } from '../subscriptions/subscription-helpers.ts';

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SD = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition';

let server: TestServer;
let receiver: Receiver;
let ehr: string;
const cbo: Record<string, string> = {};

type Json = Record<string, unknown>;
const area = { resourceType: 'Location', id: 'area-97201', meta: { profile: [`${SD}/SDOHCC-Location`] }, status: 'active', name: 'Portland 97201', address: { postalCode: '97201', state: 'OR' } };
const foodService = (org: string): Json => ({
  resourceType: 'HealthcareService', id: `hs-${org}`, active: true, providedBy: { reference: `Organization/${org}` }, name: `Meals by ${org}`,
  category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
  coverageArea: [{ reference: 'Location/area-97201' }],
});
const patient = (id: string): Json => ({ resourceType: 'Patient', id, name: [{ family: 'Loop' }], address: [{ use: 'home', postalCode: '97201', state: 'OR' }] });
const serviceRequest = (id: string, patientId: string): Json => ({
  resourceType: 'ServiceRequest', id, status: 'active', intent: 'order', subject: { reference: `Patient/${patientId}` },
  category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
  code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] }, requester: { reference: 'Organization/ehr' }, authoredOn: '2026-11-01',
});
const sourceTask = (srId: string, patientId: string): Json => ({
  resourceType: 'Task', status: 'requested', intent: 'order', code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
  focus: { reference: `ServiceRequest/${srId}` }, for: { reference: `Patient/${patientId}` }, authoredOn: '2026-11-01T10:00:00Z',
  requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const task = async (id: string): Promise<any> => (await server.request('GET', `/fhir/Task/${id}`)).body;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const hubTasks = async (sourceId: string): Promise<any[]> => ((await server.request('GET', `/fhir/Task?part-of=Task/${sourceId}&_sort=_lastUpdated`)).body.entry ?? []).map((e: any) => e.resource);

/** The EHR refers a patient: ServiceRequest + Task in one transaction. Returns the source Task id. */
async function refer(patientId: string): Promise<string> {
  await server.request('PUT', `/fhir/Patient/${patientId}`, { body: patient(patientId) });
  const srId = `sr-${patientId}`;
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { resource: serviceRequest(srId, patientId), request: { method: 'PUT', url: `ServiceRequest/${srId}` } },
      { resource: sourceTask(srId, patientId), request: { method: 'POST', url: 'Task' } },
    ],
  };
  const res = await server.request('POST', '/fhir', { body: bundle });
  expect(res.status).toBe(200);
  return res.body.entry[1].response.location.split('/')[5];
}

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ ALLOW_HTTP_ENDPOINTS: 'true' }, { queues: { dispatchIntervalMs: 50 } });
  const network = [
    ...['hub', 'ehr', 'cbo-a', 'cbo-b'].map((id) => ({ resourceType: 'Organization', id, active: true, name: id })),
    area, foodService('cbo-a'), foodService('cbo-b'),
  ];
  for (const resource of network) {
    const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
    expect(res.status).toBeLessThan(300);
  }
  ehr = await server.tokenFor('referral-source', 'Organization/ehr', ['TREAT']);
  cbo.a = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  cbo.b = await server.tokenFor('cbo', 'Organization/cbo-b', ['COC']);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('the closed loop', () => {
  it('routes, accepts, completes and returns the outcome to the source', async () => {
    await server.request('PUT', '/fhir/Consent/c-loop-1', { body: consent('c-loop-1', 'loop-1', permitFor('Organization/cbo-a', 'Organization/cbo-b')) });
    // The EHR follows its referrals by subscription (full resources), as well as by polling.
    await subscribe(server, receiver, { endpoint: `${receiver.url}/ehr`, filters: ['Task?requester=Organization/ehr'], content: 'full-resource' }, ehr);
    const sourceId = await refer('loop-1');
    const [hubTask] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    expect(hubTask.status).toBe('requested');
    expect(hubTask.requester).toEqual({ reference: 'Organization/hub' });
    expect(hubTask.note[0].text).toMatch(/^Routed by the hub: food-insecurity/);
    expect(hubTask.note[0].text).not.toContain('Loop');
    expect((await task(sourceId)).status).toBe('accepted');
    const owner = hubTask.owner.reference as string;
    const token = owner === 'Organization/cbo-a' ? cbo.a : cbo.b;

    // The CBO polls its work list and accepts.
    const polled = await server.request('GET', `/fhir/Task?owner=${owner}&status=requested`, { token });
    expect(polled.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(hubTask.id);
    expect((await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token, body: { ...hubTask, status: 'accepted' } })).status).toBe(200);
    await waitFor('source in progress', async () => ((await task(sourceId)).status === 'in-progress' ? true : undefined));

    // It delivers the service and completes with the Procedure as output.
    const procedure = await server.request('POST', '/fhir/Procedure', {
      token,
      body: {
        resourceType: 'Procedure', status: 'completed', subject: { reference: 'Patient/loop-1' }, performedDateTime: '2026-11-20',
        category: { coding: [{ system: 'http://snomed.info/sct', code: '410606002' }, { system: SDOHCC, code: 'food-insecurity' }] },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
      },
    });
    expect(procedure.status).toBe(201);
    const output = [{ type: { text: 'Meals delivered' }, valueReference: { reference: `Procedure/${procedure.body.id}` } }];
    expect((await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token, body: { ...(await task(hubTask.id)), status: 'completed', output } })).status).toBe(200);
    const done = await waitFor('source completed', async () => {
      const source = await task(sourceId);
      return source.status === 'completed' ? source : undefined;
    });
    expect(done.output).toEqual(output);

    // The EHR sees the outcome by polling its own Task, and by subscription.
    const seen = await server.request('GET', `/fhir/Task/${sourceId}`, { token: ehr });
    expect(seen.body.status).toBe('completed');
    const notified = await waitFor('the completion notification', async () =>
      receiver
        .accepted('/ehr', 'event-notification')
        .flatMap((request) => request.body.entry.slice(1).map((entry: { resource?: { id: string; status: string; output?: unknown } }) => entry.resource))
        .find((resource) => resource?.id === sourceId && resource.status === 'completed'),
    );
    expect(notified!.output).toEqual(output);
  });

  it('a rejection re-routes to the next eligible CBO; when none is left the source is told why', async () => {
    await server.request('PUT', '/fhir/Consent/c-loop-2', { body: consent('c-loop-2', 'loop-2', permitFor('Organization/cbo-a', 'Organization/cbo-b')) });
    const sourceId = await refer('loop-2');
    const [first] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    const firstToken = first.owner.reference === 'Organization/cbo-a' ? cbo.a : cbo.b;
    await server.request('PUT', `/fhir/Task/${first.id}`, { token: firstToken, body: { ...first, status: 'rejected', statusReason: { text: 'at capacity' } } });
    const second = await waitFor('re-routing', async () => (await hubTasks(sourceId)).find((t) => t.id !== first.id));
    expect(second.owner.reference).not.toBe(first.owner.reference);
    const secondToken = second.owner.reference === 'Organization/cbo-a' ? cbo.a : cbo.b;
    await server.request('PUT', `/fhir/Task/${second.id}`, { token: secondToken, body: { ...second, status: 'rejected', statusReason: { text: 'no drivers' } } });
    const failed = await waitFor('no CBO left', async () => {
      const source = await task(sourceId);
      return source.status === 'failed' ? source : undefined;
    });
    expect(failed.statusReason.text).toMatch(/^No CBO can take this referral after 2 tried/);
  });

  it('without a consent naming any CBO the referral is rejected, saying so', async () => {
    const sourceId = await refer('loop-3');
    const rejected = await waitFor('rejection', async () => {
      const source = await task(sourceId);
      return source.status === 'rejected' ? source : undefined;
    });
    expect(rejected.statusReason.text).toContain('no consent of the patient names them');
    expect(await hubTasks(sourceId)).toEqual([]);
  });

  it('the source cancelling cancels the hub\'s open Task', async () => {
    await server.request('PUT', '/fhir/Consent/c-loop-4', { body: consent('c-loop-4', 'loop-4', permitFor('Organization/cbo-a', 'Organization/cbo-b')) });
    const sourceId = await refer('loop-4');
    const [hubTask] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    const source = await task(sourceId);
    expect((await server.request('PUT', `/fhir/Task/${sourceId}`, { token: ehr, body: { ...source, status: 'cancelled', statusReason: { text: 'patient moved' } } })).status).toBe(200);
    await waitFor('hub task cancelled', async () => ((await task(hubTask.id)).status === 'cancelled' ? true : undefined));
  });
});
