// Subscriptions under the disclosure policy: a CBO's subscription is decided at send time under the
// CBO's own actor. Full-resource payloads are trimmed to its profile (cbo-coc); a Task it may not
// see (another CBO's, or a patient without a consent naming it) produces no notification and no
// event count; after a consent revocation nothing more about that patient is delivered.
// Partners manage only their own organization's Subscriptions (cbo-coc lists Subscription and $status).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { consent, patient, permitFor, task } from '../policy/fixture.ts';
import { eventNumbers, param, sleep, startReceiver, statusOf, subscribe, subscription, waitFor, type Json, type Receiver } from './subscription-helpers.ts';

const CBO_TASK_ELEMENTS = [
  'identifier', 'status', 'businessStatus', 'statusReason', 'intent', 'priority', 'code', 'focus', 'for', 'authoredOn', 'lastModified',
  'requester', 'owner', 'partOf', 'basedOn', 'input', 'output', 'note', 'executionPeriod',
];

let server: TestServer;
let receiver: Receiver;
let cboA: string;
let cboA2: string;
let cboB: string;

const put = async (resource: Json) => {
  const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  expect(res.status, res.text).toBeLessThan(300);
  return res.body;
};

/** The hub updates a Task (status, and content a CBO must not receive). */
const touch = (id: string, subject: string, owner: string, status: string) =>
  put(task(id, subject, owner, 'Organization/hub', { status, description: `internal hub notes ${status}`, reasonCode: { text: 'clinical reason' } }));

const pendingEvents = async (subscriptionId: string) =>
  (await server.db.query(`SELECT seq FROM subscription_event WHERE subscription_id = $1 AND state = 'pending'`, [subscriptionId])).length;

const eventsOf = (pathName: string) => receiver.accepted(pathName, 'event-notification');

/** The AuditEvents of notifications (disclosed: outcome 0; withheld: 4). */
const notificationAudits = async (): Promise<Json[]> =>
  (
    await server.db.query<{ content: Json }>(
      `SELECT content FROM resource WHERE resource_type = 'AuditEvent' AND content -> 'subtype' -> 0 ->> 'code' = '$subscription-notification'`,
    )
  ).map((row) => (typeof row.content === 'string' ? JSON.parse(row.content) : row.content));

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ ALLOW_HTTP_ENDPOINTS: 'true' }, { queues: { dispatchIntervalMs: 50 } });
  for (const org of ['hub', 'cbo-a', 'cbo-b', 'ehr']) await put({ resourceType: 'Organization', id: org, name: org });
  for (const id of ['p1', 'p2', 'p3']) await put(patient(id));
  await put(consent('c-p1', 'p1', permitFor('Organization/cbo-a')));
  await put(consent('c-p2', 'p2', permitFor('Organization/cbo-b')));
  await put(task('t-a-p1', 'p1', 'Organization/cbo-a', 'Organization/hub'));
  await put(task('t-a-p3', 'p3', 'Organization/cbo-a', 'Organization/hub'));
  await put(task('t-b-p2', 'p2', 'Organization/cbo-b', 'Organization/hub'));
  cboA = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  cboA2 = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  cboB = await server.tokenFor('cbo', 'Organization/cbo-b', ['COC']);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('a CBO subscriber', () => {
  let full: string;
  let byCode: string;

  it('creates subscriptions it owns; other organizations cannot see or change them', async () => {
    full = await subscribe(server, receiver, { endpoint: `${receiver.url}/cbo-full`, filters: ['Task?owner=Organization/cbo-a'], content: 'full-resource' }, cboA);
    byCode = await subscribe(server, receiver, { endpoint: `${receiver.url}/cbo-code`, filters: ['Task?code=fulfill'] }, cboA);
    const owner = await server.db.query<{ owner_client_id: string; owner_organization: string; owner_role: string }>(
      `SELECT owner_client_id, owner_organization, owner_role FROM subscription_state WHERE id = $1`,
      [full],
    );
    expect(owner[0]).toMatchObject({ owner_organization: 'Organization/cbo-a', owner_role: 'cbo' });
    expect((await server.request('GET', `/fhir/Subscription/${full}/$status`, { token: cboA })).status).toBe(200);
    expect((await server.request('GET', `/fhir/Subscription/${full}/$status`, { token: cboB })).status).toBe(404);
    expect((await server.request('GET', '/fhir/Subscription/$status', { token: cboB })).body.entry).toHaveLength(0);
    const current = (await server.request('GET', `/fhir/Subscription/${full}`)).body;
    expect((await server.request('PUT', `/fhir/Subscription/${full}`, { body: current, token: cboB })).status).toBe(404);
    // Another client of the same organization may manage it.
    expect((await server.request('PUT', `/fhir/Subscription/${full}`, { body: current, token: cboA2 })).status).toBe(200);
    // Reads and searches: another organization's subscription (its endpoint, its headers) does not exist for cbo-b.
    expect((await server.request('GET', `/fhir/Subscription/${full}`, { token: cboB })).body).toEqual({
      resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: `Subscription/${full} is not known` }],
    });
    expect((await server.request('GET', '/fhir/Subscription', { token: cboB })).body.total).toBe(0);
    const own = await server.request('GET', '/fhir/Subscription', { token: cboA });
    expect(own.body.entry.map((e: Json) => e.resource.id).sort()).toEqual([full, byCode].sort());
  });

  it('may filter only by what its disclosure profile lets it search', async () => {
    const res = await server.request('POST', '/fhir/Subscription', {
      body: subscription({ endpoint: `${receiver.url}/never`, filters: ['Task?requester=Organization/hub'] }),
      token: cboA,
    });
    expect(res.status, res.text).toBe(422);
    expect(res.body.issue[0].diagnostics).toMatch(/requester.*not allowed for disclosure profile cbo-coc/);
    expect(res.body.issue[0].expression).toEqual(['Subscription.criteria.extension']);
    // A partner whose profile has no Subscription (plan analytics pull data in bulk) cannot subscribe at all.
    const analytics = await server.tokenFor('plan-analytics', 'Organization/plan', ['PERFMSR']);
    const refused = await server.request('POST', '/fhir/Subscription', { body: subscription({ endpoint: `${receiver.url}/never` }), token: analytics });
    expect(refused.status).toBe(403);
  });

  it('receives a full-resource payload trimmed to cbo-coc', async () => {
    await touch('t-a-p1', 'p1', 'Organization/cbo-a', 'accepted');
    const [notification] = await waitFor('CBO notification', () => (eventsOf('/cbo-full').length ? eventsOf('/cbo-full') : undefined));
    const resource = notification.body.entry[1].resource;
    expect(resource).toMatchObject({ resourceType: 'Task', id: 't-a-p1', status: 'accepted', owner: { reference: 'Organization/cbo-a' } });
    expect(resource.description).toBeUndefined();
    expect(resource.reasonCode).toBeUndefined();
    for (const key of Object.keys(resource)) expect(['resourceType', 'id', 'meta', ...CBO_TASK_ELEMENTS]).toContain(key);
    expect(resource.meta.security).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'SUBSETTED' })]));
    expect(eventNumbers(notification.body)).toEqual(['1']);
    // The disclosure was audited (before it was sent) as made to the CBO, under its disclosure profile.
    const audits = await notificationAudits();
    const disclosed = audits.find((audit) => audit.entity?.some((entity: Json) => entity.what?.reference === 'Task/t-a-p1/_history/2'));
    expect(disclosed).toBeDefined();
    expect(disclosed.outcome).toBe('0');
    expect(disclosed.agent[1].who.reference).toBe('Organization/cbo-a');
    expect(disclosed.agent[0].policy).toEqual(expect.arrayContaining([expect.stringContaining('cbo-coc')]));
  });

  it('gets nothing, and no event count, for a Task it may not see', async () => {
    // t-a-p3: its own Task, but no consent names cbo-a for p3. t-b-p2: another CBO's Task.
    await touch('t-a-p3', 'p3', 'Organization/cbo-a', 'accepted');
    await touch('t-b-p2', 'p2', 'Organization/cbo-b', 'accepted');
    await touch('t-a-p1', 'p1', 'Organization/cbo-a', 'in-progress');
    const full2 = await waitFor('second full notification', () => (eventsOf('/cbo-full').length >= 2 ? eventsOf('/cbo-full') : undefined));
    await waitFor('code subscription settled', async () => ((await pendingEvents(byCode)) === 0 && eventsOf('/cbo-code').length >= 2 ? true : undefined));
    await sleep(300);
    // /cbo-full: t-a-p1 twice (events 1 and 2); t-a-p3 was withheld in between without a number.
    expect(eventsOf('/cbo-full').map((r) => r.body.entry[1].resource.id)).toEqual(['t-a-p1', 't-a-p1']);
    expect(full2.flatMap((r) => eventNumbers(r.body))).toEqual(['1', '2']);
    // /cbo-code matches every fulfill Task; only t-a-p1's reach the CBO, numbered without gaps.
    const code = eventsOf('/cbo-code');
    expect(code.map((r) => r.body.entry[1].fullUrl.split('/').pop())).toEqual(['t-a-p1', 't-a-p1']);
    expect(code.flatMap((r) => eventNumbers(r.body))).toEqual(['1', '2']);
    const withheld = await server.db.query(`SELECT resource_id FROM subscription_event WHERE subscription_id = $1 AND state = 'withheld' ORDER BY seq`, [byCode]);
    expect(withheld.map((row) => row.resource_id)).toEqual(['t-a-p3', 't-b-p2']);
    const status = await server.request('GET', `/fhir/Subscription/${byCode}/$status`, { token: cboA });
    expect(param(status.body.entry[0].resource, 'events-since-subscription-start').valueString).toBe('2');
    // Each withheld notification is audited as a denial.
    expect((await notificationAudits()).filter((audit) => audit.outcome === '4').length).toBeGreaterThanOrEqual(3);
  });

  it('gets nothing more after the patient revokes the consent', async () => {
    const before = eventsOf('/cbo-full').length;
    await put({ ...consent('c-p1', 'p1', permitFor('Organization/cbo-a')), status: 'inactive' });
    await touch('t-a-p1', 'p1', 'Organization/cbo-a', 'on-hold');
    await waitFor('events settled', async () => ((await pendingEvents(full)) === 0 && (await pendingEvents(byCode)) === 0 ? true : undefined));
    await sleep(300);
    expect(eventsOf('/cbo-full')).toHaveLength(before);
    const status = await server.request('GET', `/fhir/Subscription/${full}/$status`, { token: cboA });
    expect(param(status.body.entry[0].resource, 'events-since-subscription-start').valueString).toBe('2');
    expect(param(statusOf(eventsOf('/cbo-full').at(-1)!.body), 'events-since-subscription-start').valueString).toBe('2');
  });
});
