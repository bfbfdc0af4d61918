// Subscriptions (R5 Backport on R4) end to end over HTTP, with real queues and a rest-hook receiver
// on loopback: creation and handshake, what is refused (422 with the reason and element), event
// notifications (Parameters, payload levels, topic and filters), retries in order, $status, heartbeats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  eventNumbers,
  HEARTBEAT_PERIOD,
  param,
  sleep,
  SR_TOPIC,
  startReceiver,
  statusOf,
  subscribe,
  subscription,
  TASK_TOPIC,
  waitFor,
  type Json,
  type Receiver,
} from './subscription-helpers.ts';

let server: TestServer;
let receiver: Receiver;

const task = (id: string, owner: string, extra: Json = {}): Json => ({
  resourceType: 'Task', id, status: 'requested', intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
  for: { reference: 'Patient/p1' }, authoredOn: '2026-03-01T10:00:00Z',
  requester: { reference: 'Organization/ehr' }, owner: { reference: owner }, ...extra,
});

const put = async (resource: Json) => {
  const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  expect(res.status, res.text).toBeLessThan(300);
  return res.body;
};

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ ALLOW_HTTP_ENDPOINTS: 'true' }, { queues: { dispatchIntervalMs: 50 } });
  await put({ resourceType: 'Patient', id: 'p1', name: [{ family: 'Sub' }] });
  for (const org of ['ehr', 'cbo-x', 'cbo-y']) await put({ resourceType: 'Organization', id: org, name: org });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('creating a subscription', () => {
  it('sends the handshake and becomes active', async () => {
    const res = await server.request('POST', '/fhir/Subscription', {
      body: subscription({ endpoint: `${receiver.url}/handshake`, filters: ['Task?owner=Organization/cbo-x'], headers: ['Authorization: Bearer hook-secret'] }),
    });
    expect(res.status, res.text).toBe(201);
    const id = res.body.id;
    const [handshake] = await waitFor('handshake', () => (receiver.accepted('/handshake').length ? receiver.accepted('/handshake') : undefined));
    expect(handshake.headers['content-type']).toBe('application/fhir+json');
    expect(handshake.headers.authorization).toBe('Bearer hook-secret');
    expect(handshake.body.resourceType).toBe('Bundle');
    expect(handshake.body.type).toBe('history');
    const status = statusOf(handshake.body);
    expect(status.resourceType).toBe('Parameters');
    expect(param(status, 'type').valueCode).toBe('handshake');
    expect(param(status, 'topic').valueCanonical).toBe(TASK_TOPIC);
    expect(param(status, 'subscription').valueReference.reference).toMatch(new RegExp(`/Subscription/${id}$`));
    expect(param(status, 'events-since-subscription-start').valueString).toBe('0');
    expect(handshake.body.entry).toHaveLength(1);
    await waitFor('active', async () => ((await server.request('GET', `/fhir/Subscription/${id}`)).body.status === 'active' ? true : undefined));
  });

  it('goes to error when the handshake is refused', async () => {
    receiver.failNext('/refused', 1);
    const res = await server.request('POST', '/fhir/Subscription', { body: subscription({ endpoint: `${receiver.url}/refused` }) });
    expect(res.status).toBe(201);
    const current = await waitFor('error status', async () => {
      const body = (await server.request('GET', `/fhir/Subscription/${res.body.id}`)).body;
      return body.status === 'error' ? body : undefined;
    });
    expect(current.error).toMatch(/Handshake failed: HTTP 500/);
  });

  const refused = async (body: Json, reason: RegExp, expression: string) => {
    const res = await server.request('POST', '/fhir/Subscription', { body });
    expect(res.status, res.text).toBe(422);
    const issue = res.body.issue.find((candidate: Json) => reason.test(candidate.diagnostics));
    expect(issue, res.text).toBeDefined();
    expect(issue.expression).toEqual([expression]);
  };

  it('refuses an unsupported topic, channel, payload, filter or status with the reason and element', async () => {
    const endpoint = `${receiver.url}/never`;
    await refused(subscription({ endpoint, topic: 'http://example.org/SubscriptionTopic/encounter-start' }), /supported topic/, 'Subscription.criteria');
    await refused({ ...subscription({ endpoint }), criteria: 'Task?status=requested' }, /supported topic/, 'Subscription.criteria');
    await refused(subscription({ endpoint, channelType: 'email' }), /rest-hook only/, 'Subscription.channel.type');
    await refused(subscription({ endpoint, channelType: 'websocket' }), /rest-hook only/, 'Subscription.channel.type');
    await refused(subscription({ endpoint, content: 'everything' }), /Payload content 'everything'/, 'Subscription.channel.payload.extension[0]');
    await refused(subscription({ endpoint, payload: 'application/fhir+xml' }), /Payload type/, 'Subscription.channel.payload');
    await refused(subscription({ endpoint, filters: ['Task?patient=Patient/p1'] }), /cannot filter by 'patient'/, 'Subscription.criteria.extension[0]');
    await refused(subscription({ endpoint, filters: ['Task?_has:Consent:patient:status=active'] }), /cannot filter by '_has'/, 'Subscription.criteria.extension[0]');
    await refused(subscription({ endpoint, filters: ['ServiceRequest?_id=x'] }), /is about Task/, 'Subscription.criteria.extension[0]');
    await refused(subscription({ endpoint, topic: SR_TOPIC, filters: ['ServiceRequest?status=active'] }), /cannot filter by 'status'/, 'Subscription.criteria.extension[0]');
    await refused(subscription({ endpoint, filters: ['Task?owner:missing=true'] }), /Modifier :missing/, 'Subscription.criteria.extension[0]');
    await refused(subscription({ endpoint: 'ftp://example.org/hook' }), /must use https/, 'Subscription.channel.endpoint');
    await refused(subscription({ endpoint: 'relative/hook' }), /not an absolute URL/, 'Subscription.channel.endpoint');
    await refused(subscription({ endpoint, headers: ['no colon here'] }), /Name: value/, 'Subscription.channel.header[0]');
    await refused(subscription({ endpoint, status: 'error' }), /set by the server/, 'Subscription.status');
    const badHeartbeat = subscription({ endpoint });
    badHeartbeat.channel.extension = [{ url: HEARTBEAT_PERIOD, valueUnsignedInt: 0 }];
    await refused(badHeartbeat, /heartbeat-period/, 'Subscription.channel.extension[0]');
    // Nothing refused was stored or contacted.
    expect(receiver.requests.filter((r) => r.path === '/never')).toHaveLength(0);
  });

  it('accepts the IG\'s ServiceRequest topic with its _id filter', async () => {
    const id = await subscribe(server, receiver, { endpoint: `${receiver.url}/sr`, topic: SR_TOPIC, filters: ['ServiceRequest?_id=sr-1'] });
    expect(id).toBeTruthy();
  });
});

describe('event notifications', () => {
  it('a Task status change sends one id-only notification with the SubscriptionStatus parameters', async () => {
    const path = '/id-only';
    const id = await subscribe(server, receiver, { endpoint: `${receiver.url}${path}`, filters: ['Task?owner=Organization/cbo-x&status=accepted,in-progress'] });
    await put(task('t-id-only', 'Organization/cbo-x'));
    await sleep(300); // status requested: not in the filter
    expect(receiver.accepted(path, 'event-notification')).toHaveLength(0);
    const updated = await put(task('t-id-only', 'Organization/cbo-x', { status: 'accepted' }));
    const [notification] = await waitFor('notification', () => receiver.accepted(path, 'event-notification').length ? receiver.accepted(path, 'event-notification') : undefined);
    const bundle = notification.body;
    expect(bundle.type).toBe('history');
    const status = statusOf(bundle);
    expect(status.meta.profile).toEqual(['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4']);
    expect(param(status, 'status').valueCode).toBe('active');
    expect(param(status, 'type').valueCode).toBe('event-notification');
    expect(param(status, 'topic').valueCanonical).toBe(TASK_TOPIC);
    expect(param(status, 'subscription').valueReference.reference).toMatch(new RegExp(`/fhir/Subscription/${id}$`));
    expect(param(status, 'events-since-subscription-start').valueString).toBe('1');
    const event = param(status, 'notification-event');
    const part = (name: string) => event.part.find((p: Json) => p.name === name);
    expect(part('event-number').valueString).toBe('1');
    expect(part('timestamp').valueInstant).toBe(updated.meta.lastUpdated);
    expect(part('focus').valueReference.reference).toMatch(/\/fhir\/Task\/t-id-only$/);
    expect(bundle.entry[0].request).toEqual({ method: 'GET', url: expect.stringMatching(new RegExp(`/Subscription/${id}/\\$status$`)) });
    // id-only: the focus entry has its URL and request, not the resource.
    expect(bundle.entry).toHaveLength(2);
    expect(bundle.entry[1].fullUrl).toMatch(/\/fhir\/Task\/t-id-only$/);
    expect(bundle.entry[1].resource).toBeUndefined();
    expect(bundle.entry[1].request).toEqual({ method: 'PUT', url: 'Task/t-id-only' });
    await sleep(300);
    expect(receiver.accepted(path, 'event-notification')).toHaveLength(1);
  });

  it('full-resource carries the resource; empty carries neither focus nor entries', async () => {
    await subscribe(server, receiver, { endpoint: `${receiver.url}/full`, filters: ['Task?owner=Organization/cbo-y'], content: 'full-resource' });
    await subscribe(server, receiver, { endpoint: `${receiver.url}/empty`, filters: ['Task?owner=Organization/cbo-y'], content: 'empty' });
    await put(task('t-payload', 'Organization/cbo-y', { description: 'hub notes' }));
    const [full] = await waitFor('full', () => receiver.accepted('/full', 'event-notification').length ? receiver.accepted('/full', 'event-notification') : undefined);
    expect(full.body.entry[1].resource).toMatchObject({ resourceType: 'Task', id: 't-payload', description: 'hub notes' });
    expect(full.body.entry[1].request).toEqual({ method: 'POST', url: 'Task' });
    const [empty] = await waitFor('empty', () => receiver.accepted('/empty', 'event-notification').length ? receiver.accepted('/empty', 'event-notification') : undefined);
    expect(empty.body.entry).toHaveLength(1);
    const event = param(statusOf(empty.body), 'notification-event');
    expect(event.part.map((p: Json) => p.name)).toEqual(['event-number', 'timestamp']);
  });

  it('follows the topic: drafts and non-order Tasks are no events; deletes are', async () => {
    const path = '/topic';
    await subscribe(server, receiver, { endpoint: `${receiver.url}${path}`, filters: ['Task?requester=Organization/ehr&code=fulfill'] });
    await put(task('t-draft', 'Organization/cbo-x', { status: 'draft' }));
    await put(task('t-plan', 'Organization/cbo-x', { intent: 'plan' }));
    await put(task('t-other-code', 'Organization/cbo-x', { code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] } }));
    await put(task('t-topic', 'Organization/cbo-x'));
    expect((await server.request('DELETE', '/fhir/Task/t-topic')).status).toBe(204);
    const received = await waitFor('two events', () => (receiver.accepted(path, 'event-notification').length >= 2 ? receiver.accepted(path, 'event-notification') : undefined));
    await sleep(300);
    expect(receiver.accepted(path, 'event-notification')).toHaveLength(2);
    expect(received.map((r) => r.body.entry[1].request)).toEqual([
      { method: 'POST', url: 'Task' },
      { method: 'DELETE', url: 'Task/t-topic' },
    ]);
    expect(received.flatMap((r) => eventNumbers(r.body))).toEqual(['1', '2']);
  });

  it('retries a failing endpoint with backoff and keeps the order: delivered once, then the next event', async () => {
    const path = '/flaky';
    const id = await subscribe(server, receiver, { endpoint: `${receiver.url}${path}`, filters: ['Task?owner=Organization/cbo-x&_lastUpdated=gt2020-01-01'] });
    receiver.failNext(path, 2);
    await put(task('t-flaky', 'Organization/cbo-x'));
    await put(task('t-flaky', 'Organization/cbo-x', { status: 'accepted' }));
    const delivered = await waitFor('two deliveries', () => (receiver.accepted(path, 'event-notification').length >= 2 ? receiver.accepted(path, 'event-notification') : undefined), 30_000);
    await sleep(500);
    const attempts = receiver.requests.filter((r) => r.path === path && r.body && param(statusOf(r.body), 'type')?.valueCode === 'event-notification');
    expect(attempts.filter((r) => r.status === 500)).toHaveLength(2);
    // Both failures were event 1; then 1 and 2, each once, in order.
    expect(attempts.filter((r) => r.status === 500).flatMap((r) => eventNumbers(r.body))).toEqual(['1', '1']);
    expect(receiver.accepted(path, 'event-notification')).toHaveLength(2);
    expect(delivered.flatMap((r) => eventNumbers(r.body))).toEqual(['1', '2']);
    expect(delivered.map((r) => r.body.entry[1].request.method)).toEqual(['POST', 'PUT']);

    // $status counts the delivered events.
    const status = await server.request('GET', `/fhir/Subscription/${id}/$status`);
    expect(status.status, status.text).toBe(200);
    expect(status.body.resourceType).toBe('Bundle');
    expect(status.body.type).toBe('searchset');
    const parameters = status.body.entry[0].resource;
    expect(param(parameters, 'type').valueCode).toBe('query-status');
    expect(param(parameters, 'status').valueCode).toBe('active');
    expect(param(parameters, 'events-since-subscription-start').valueString).toBe('2');
  }, 40_000);

  it('$status at the type level lists subscriptions by id and status', async () => {
    const all = await server.request('GET', '/fhir/Subscription/$status');
    expect(all.status).toBe(200);
    expect(all.body.entry.length).toBeGreaterThanOrEqual(6);
    const errors = await server.request('GET', '/fhir/Subscription/$status?status=error');
    expect(errors.body.entry.map((e: Json) => param(e.resource, 'status').valueCode)).toEqual(['error']);
    const one = all.body.entry[0].resource;
    const id = param(one, 'subscription').valueReference.reference.split('/').pop();
    const byId = await server.request('POST', '/fhir/Subscription/$status', { body: { resourceType: 'Parameters', parameter: [{ name: 'id', valueId: id }] } });
    expect(byId.body.entry).toHaveLength(1);
    expect((await server.request('GET', '/fhir/Subscription/unknown/$status')).status).toBe(404);
  });

  it('a subscription turned off gets nothing more; turned on again it handshakes', async () => {
    const path = '/off';
    const id = await subscribe(server, receiver, { endpoint: `${receiver.url}${path}`, filters: ['Task?owner=Organization/cbo-y&status=on-hold'] });
    const current = (await server.request('GET', `/fhir/Subscription/${id}`)).body;
    expect((await server.request('PUT', `/fhir/Subscription/${id}`, { body: { ...current, status: 'off' } })).status).toBe(200);
    await put(task('t-off', 'Organization/cbo-y', { status: 'on-hold', statusReason: { text: 'waiting' } }));
    await sleep(500);
    expect(receiver.accepted(path, 'event-notification')).toHaveLength(0);
    const off = (await server.request('GET', `/fhir/Subscription/${id}`)).body;
    expect((await server.request('PUT', `/fhir/Subscription/${id}`, { body: { ...off, status: 'requested' } })).status).toBe(200);
    await waitFor('second handshake', () => (receiver.accepted(path, 'handshake').length === 2 ? true : undefined));
  });
});

describe('heartbeats', () => {
  it('sends a heartbeat per heartbeatPeriod while nothing else was sent', async () => {
    const path = '/heartbeat';
    const id = await subscribe(server, receiver, { endpoint: `${receiver.url}${path}`, filters: ['Task?owner=Organization/nobody'], heartbeatSeconds: 1 });
    const beats = await waitFor('two heartbeats', () => (receiver.accepted(path, 'heartbeat').length >= 2 ? receiver.accepted(path, 'heartbeat') : undefined), 10_000);
    const status = statusOf(beats[0].body);
    expect(param(status, 'status').valueCode).toBe('active');
    expect(param(status, 'events-since-subscription-start').valueString).toBe('0');
    expect(beats[0].body.entry).toHaveLength(1);
    // Deleting the subscription ends the chain.
    expect((await server.request('DELETE', `/fhir/Subscription/${id}`)).status).toBe(204);
    await sleep(1_200);
    const count = receiver.accepted(path, 'heartbeat').length;
    await sleep(1_500);
    expect(receiver.accepted(path, 'heartbeat').length).toBe(count);
  }, 20_000);
});
