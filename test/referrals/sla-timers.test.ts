// SLA timers of a referral at a CBO, over HTTP with real queues: delayed jobs through the outbox, on a
// controlled clock (shifted to a Monday morning in the configured time zone, so business hours are open)
// with the food-insecurity program's rules set to seconds. Not accepted in time → a reminder on the hub's
// Task, then a re-route to the next CBO; finished before the deadline → the timers fire and do nothing;
// accepted and then silent → a Flag for hub staff, ended when the CBO moves on. Business-hour arithmetic
// is tested on its own first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBusinessHours, setReferralClock } from '../../src/referrals/sla-timers.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { consent, permitFor } from '../policy/fixture.ts';

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SD = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const hour = 3_600_000;
const at = (iso: string) => Date.parse(iso);

describe('business hours (Mon-Fri 9-17)', () => {
  const tz = 'America/Chicago';
  it('counts only open hours', () => {
    expect(addBusinessHours(at('2026-11-23T16:00:00Z'), 2, tz)).toBe(at('2026-11-23T18:00:00Z')); // Monday 10:00 → 12:00 CST
    expect(addBusinessHours(at('2026-11-23T15:00:00Z'), 8, tz)).toBe(at('2026-11-23T23:00:00Z')); // Monday 9:00 → 17:00
    expect(addBusinessHours(at('2026-11-23T13:00:00Z'), 1, tz)).toBe(at('2026-11-23T16:00:00Z')); // 7:00 waits for 9:00
  });
  it('carries over nights and weekends', () => {
    expect(addBusinessHours(at('2026-11-27T22:00:00Z'), 2, tz)).toBe(at('2026-11-30T16:00:00Z')); // Friday 16:00 → Monday 10:00
    expect(addBusinessHours(at('2026-11-28T18:00:00Z'), 1, tz)).toBe(at('2026-11-30T16:00:00Z')); // Saturday → Monday 10:00
    expect(addBusinessHours(at('2026-11-24T23:30:00Z'), 0.5, tz)).toBe(at('2026-11-25T15:30:00Z')); // Tuesday 17:30 → Wednesday 9:30
    expect(addBusinessHours(at('2026-11-23T16:00:00Z'), 40, tz)).toBe(at('2026-11-30T16:00:00Z')); // a working week
  });
  it('follows the zone across a DST change', () => {
    // New York: Friday 6 March 2026 16:00 EST + 2 h → Monday 9 March 10:00 EDT.
    expect(addBusinessHours(at('2026-03-06T21:00:00Z'), 2, 'America/New_York')).toBe(at('2026-03-09T14:00:00Z'));
    expect(addBusinessHours(at('2026-03-06T21:00:00Z'), 2, 'America/New_York') - at('2026-03-06T21:00:00Z')).toBeGreaterThan(60 * hour);
  });
});

// ---- end to end ----

let server: TestServer;
const cbo: Record<string, string> = {};

const area = { resourceType: 'Location', id: 'area-97201', meta: { profile: [`${SD}/SDOHCC-Location`] }, status: 'active', name: 'Portland 97201', address: { postalCode: '97201', state: 'OR' } };
const foodService = (org: string): Json => ({
  resourceType: 'HealthcareService', id: `hs-${org}`, active: true, providedBy: { reference: `Organization/${org}` }, name: `Meals by ${org}`,
  category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }], coverageArea: [{ reference: 'Location/area-97201' }],
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const task = async (id: string): Promise<Json> => (await server.request('GET', `/fhir/Task/${id}`)).body;
const hubTasks = async (sourceId: string): Promise<Json[]> => ((await server.request('GET', `/fhir/Task?part-of=Task/${sourceId}&_sort=_lastUpdated`)).body.entry ?? []).map((e: Json) => e.resource);
const tokenOf = (owner: string) => (owner === 'Organization/cbo-a' ? cbo.a : cbo.b);

async function refer(patientId: string): Promise<string> {
  await server.request('PUT', `/fhir/Patient/${patientId}`, { body: { resourceType: 'Patient', id: patientId, name: [{ family: 'Sla' }], address: [{ use: 'home', postalCode: '97201', state: 'OR' }] } });
  await server.request('PUT', `/fhir/Consent/c-${patientId}`, { body: consent(`c-${patientId}`, patientId, permitFor('Organization/cbo-a', 'Organization/cbo-b')) });
  const srId = `sr-${patientId}`;
  const res = await server.request('POST', '/fhir', {
    body: {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        {
          request: { method: 'PUT', url: `ServiceRequest/${srId}` },
          resource: {
            resourceType: 'ServiceRequest', id: srId, status: 'active', intent: 'order', subject: { reference: `Patient/${patientId}` },
            category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }], requester: { reference: 'Organization/ehr' }, authoredOn: '2026-11-01',
            code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
          },
        },
        {
          request: { method: 'POST', url: 'Task' },
          resource: {
            resourceType: 'Task', status: 'requested', intent: 'order', code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
            focus: { reference: `ServiceRequest/${srId}` }, for: { reference: `Patient/${patientId}` }, authoredOn: '2026-11-01T10:00:00Z',
            requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
          },
        },
      ],
    },
  });
  expect(res.status, res.text).toBe(200);
  return res.body.entry[1].response.location.split('/')[5];
}

/** Rows of the sla-timers queue for a Task: written, and processed (fired) by the queue. */
async function timers(taskId: string): Promise<{ kind: string; fired: boolean }[]> {
  const rows = await server.db.query<{ kind: string; fired: boolean }>(
    `SELECT o.payload->>'kind' AS kind, EXISTS (SELECT 1 FROM outbox_processed p WHERE p.queue = o.queue AND p.outbox_id = o.id) AS fired
       FROM outbox o WHERE o.queue = 'sla-timers' AND o.payload->>'taskId' = $1 ORDER BY o.id`,
    [taskId],
  );
  return rows;
}

// Accept within 3.6 s, re-route at 7.2 s, flag after 4.3 s without update; other programs keep the (long) defaults.
const PROGRAMS = { 'food-insecurity': { acceptHours: 0.001, rerouteHours: 0.002, updateDays: 0.00005 } };

beforeAll(async () => {
  // Monday 23 November 2026, 10:00 in Chicago, ticking in real time.
  const offset = at('2026-11-23T16:00:00Z') - Date.now();
  setReferralClock(() => Date.now() + offset);
  server = await startTestServer({ SLA_TIME_ZONE: 'America/Chicago', SLA_PROGRAMS: JSON.stringify(PROGRAMS) }, { queues: { dispatchIntervalMs: 50 } });
  for (const resource of [...['hub', 'ehr', 'cbo-a', 'cbo-b'].map((id) => ({ resourceType: 'Organization', id, active: true, name: id })), area, foodService('cbo-a'), foodService('cbo-b')] as Json[]) {
    const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
    expect(res.status, res.text).toBeLessThan(300);
  }
  cbo.a = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
  cbo.b = await server.tokenFor('cbo', 'Organization/cbo-b', ['COC']);
}, 60_000);

afterAll(async () => {
  await server?.close();
  setReferralClock();
});

describe('SLA timers', () => {
  it('not accepted in time: a reminder, then the referral is re-routed to the next CBO', async () => {
    const sourceId = await refer('sla-1');
    const [first] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    const routedAt = Date.now();
    expect(first.status).toBe('requested');

    const reminded = await waitFor('reminder', async () => {
      const current = await task(first.id);
      return current.note?.length === 2 ? current : undefined;
    });
    expect(Date.now() - routedAt).toBeGreaterThan(2_500); // not before the 3.6 s deadline (less the polling slack)
    expect(reminded.status).toBe('requested');
    expect(reminded.note[1].text).toMatch(/^Reminder from the hub: this referral has not been accepted within 0\.001 business hours/);
    expect(reminded.note[1].authorReference).toEqual({ reference: 'Organization/hub' });
    // The CBO sees the reminder on its work list.
    const seen = await server.request('GET', `/fhir/Task/${first.id}`, { token: tokenOf(first.owner.reference) });
    expect(seen.body.note.map((n: Json) => n.text)).toContain(reminded.note[1].text);

    const second = await waitFor('re-route', async () => (await hubTasks(sourceId)).find((t) => t.id !== first.id));
    expect(Date.now() - routedAt).toBeGreaterThan(6_000);
    expect(second.owner.reference).not.toBe(first.owner.reference);
    expect(second.status).toBe('requested');
    const cancelled = await task(first.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.statusReason.text).toMatch(/^Not accepted in time \(0\.002 business hours\)/);
    expect((await task(sourceId)).status).toBe('accepted'); // still with the hub, now at the next CBO
    expect(await timers(first.id)).toEqual([{ kind: 'remind', fired: true }, { kind: 'reroute', fired: true }]);

    // The second CBO accepts in time: its reminder and re-route fire later and leave it alone.
    const accepted = await server.request('PUT', `/fhir/Task/${second.id}`, { token: tokenOf(second.owner.reference), body: { ...second, status: 'accepted' } });
    expect(accepted.status, accepted.text).toBe(200);
    await waitFor('second timers fired', async () => ((await timers(second.id)).filter((t) => t.kind !== 'update' && t.fired).length === 2 ? true : undefined));
    expect((await task(second.id)).status).not.toBe('cancelled');
    expect((await hubTasks(sourceId)).length).toBe(2);
  });

  it('completed before the deadline: the timers fire and do nothing', async () => {
    const sourceId = await refer('sla-2');
    const [hubTask] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    const token = tokenOf(hubTask.owner.reference);
    expect((await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token, body: { ...hubTask, status: 'accepted' } })).status).toBe(200);
    const procedure = await server.request('POST', '/fhir/Procedure', {
      token,
      body: { resourceType: 'Procedure', status: 'completed', subject: { reference: 'Patient/sla-2' }, performedDateTime: '2026-11-20', code: { text: 'Meals delivered' } },
    });
    expect(procedure.status, procedure.text).toBe(201);
    const completed = await server.request('PUT', `/fhir/Task/${hubTask.id}`, {
      token,
      body: { ...(await task(hubTask.id)), status: 'completed', output: [{ type: { text: 'Meals delivered' }, valueReference: { reference: `Procedure/${procedure.body.id}` } }] },
    });
    expect(completed.status, completed.text).toBe(200);
    await waitFor('source completed', async () => ((await task(sourceId)).status === 'completed' ? true : undefined));

    // Past both deadlines: the jobs ran (recorded as processed) and changed nothing.
    await waitFor('timers fired', async () => {
      const fired = (await timers(hubTask.id)).filter((t) => (t.kind === 'remind' || t.kind === 'reroute') && t.fired);
      return fired.length === 2 ? true : undefined;
    });
    const after = await task(hubTask.id);
    expect(after.status).toBe('completed');
    expect(after.note).toHaveLength(1); // the routing note only, no reminder
    expect(await hubTasks(sourceId)).toHaveLength(1);
    expect((await task(sourceId)).status).toBe('completed');
    const flags = await server.request('GET', `/fhir/Flag?_tag=urn:cch:referral-sla|no-update&patient=Patient/sla-2`);
    expect(flags.body.entry ?? []).toEqual([]);
  });

  it('accepted and then no update: a Flag for hub staff, inactive once the CBO moves on', async () => {
    const sourceId = await refer('sla-3');
    const [hubTask] = await waitFor('routing', async () => ((await hubTasks(sourceId)).length ? hubTasks(sourceId) : undefined));
    const token = tokenOf(hubTask.owner.reference);
    expect((await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token, body: { ...hubTask, status: 'accepted' } })).status).toBe(200);
    const acceptedAt = Date.now();
    const flag = await waitFor('flag', async () => {
      const res = await server.request('GET', `/fhir/Flag?_tag=urn:cch:referral-sla|no-update&patient=Patient/sla-3`);
      return res.body.entry?.[0]?.resource as Json | undefined;
    });
    expect(Date.now() - acceptedAt).toBeGreaterThan(3_500); // 0.00005 days = 4.32 s
    expect(flag.status).toBe('active');
    expect(flag.extension).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/flag-detail', valueReference: { reference: `Task/${hubTask.id}` } }]);
    expect(flag.code.text).toMatch(new RegExp(`^Referral Task/${hubTask.id} \\(accepted\\) at Organization/cbo-.: no update for 0.00005 day`));
    expect(flag.author).toEqual({ reference: 'Organization/hub' });

    const current = await task(hubTask.id);
    expect((await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token, body: { ...current, status: 'in-progress' } })).status).toBe(200);
    await waitFor('flag ended', async () => ((await server.request('GET', `/fhir/Flag/${flag.id}`)).body.status === 'inactive' ? true : undefined));
    await sleep(200);
  });
});
