// SLA timers of a referral at a CBO, as delayed queue jobs ('sla-timers') written to the outbox in the
// transaction that starts them, so they exist exactly when that change commits and live in Redis (AOF)
// across restarts. Each job re-reads the hub's Task when it fires and does nothing once the referral has
// moved on: a timer never acts on a finished referral.
//
//   the hub's Task is created `requested` (routeReferral)
//     remind   at +acceptHours business hours, still requested: a note on the hub's Task (which the CBO
//              sees on its work list; for a full CBO the note is also pushed to the Task on its server),
//              and the job's AuditEvent ($sla-remind) records it for hub staff.
//     reroute  at +rerouteHours business hours, still requested: the hub's Task is cancelled with reason
//              "Not accepted in time" and the referral is routed again; routing excludes every CBO already
//              tried (this one included). No CBO left: the source Task fails with the reason, as after rejections.
//   the hub's Task becomes accepted or in-progress (onHubTaskChanged)
//     update   at last update + updateDays days (calendar days), still accepted/in-progress and not updated
//              since: an active Flag for hub staff (category admin, tag urn:cch:referral-sla|no-update,
//              subject the patient, the Task in the flag-detail extension); checked again every updateDays
//              while the Task stays open. The Flag becomes inactive when the Task changes again.
//
// Rules come per program: the first SDOHCC category code of the referral with an entry in SLA_PROGRAMS,
// else the defaults (SLA_ACCEPT_HOURS, SLA_REROUTE_HOURS, SLA_UPDATE_DAYS). Business hours are Monday to
// Friday, 9:00 to 17:00 in SLA_TIME_ZONE (public holidays are not known).
//
// The clock: every "now" here comes from referralNow(), which tests shift with setReferralClock. Timestamps
// the store writes (meta.lastUpdated) are real time and are put on the same clock by toReferralClock.
// The BullMQ delay is computed from that clock when the outbox row is dispatched (src/queue/delayed-jobs.ts); a job
// that still arrives early (a clock moved back, a hand retry) fails with NotDueError and is retried later.
import type { Flag, ServiceRequest, Task } from 'fhir/r4';
import { UnrecoverableError } from 'bullmq';
import type { Config, SlaRules } from '../config.ts';
import type { FhirEngine } from '../fhir/engine.ts';
import { create } from '../fhir/interactions/create.ts';
import { update } from '../fhir/interactions/update.ts';
import type { Scope } from '../fhir/scope.ts';
import { enqueue } from '../queue/outbox.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Queryable } from '../store/database.ts';
import { readCurrent } from '../store/resource-store.ts';
import { SDOHCC_CODES } from '../sdoh/sdoh-codes.ts';
import { remoteTaskUrl, requestCboPush } from './cbo-push.ts';
import { routeReferral } from './referral-workflow.ts';
import { claimMessage } from '../queue/processed-once.ts';
import { assertDue } from '../queue/delayed-jobs.ts';

export const SLA_QUEUE = 'sla-timers';
export const SLA_CODES = 'urn:cch:referral-sla';
export const FLAG_DETAIL = 'http://hl7.org/fhir/StructureDefinition/flag-detail';

export type SlaSettings = Config['referrals']['sla'];

export interface SlaTimerJob {
  kind: 'remind' | 'reroute' | 'update';
  taskId: string;
  /** When it is due, in ms on the referral clock. */
  notBefore: number;
  /** The rule that set it (business hours or days), for the texts. */
  rule: number;
}

// ---- the clock ----

let clock: () => number = () => Date.now();

/** Now, in ms, on the referral clock. */
export const referralNow = (): number => clock();

/** Replaces the referral clock (tests: a shifted clock, e.g. `() => Date.now() + offset`); no argument restores real time. */
export function setReferralClock(now?: () => number): void {
  clock = now ?? (() => Date.now());
}

/** A real-time instant (e.g. meta.lastUpdated) on the referral clock. */
export const toReferralClock = (realMs: number): number => realMs + (clock() - Date.now());

// ---- business hours ----

const OPEN_HOUR = 9;
const CLOSE_HOUR = 17;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 Sunday … 6 Saturday. */
  weekday: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function wallTime(instant: number, timeZone: string): WallTime {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((part) => [part.type, part.value]));
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday] ?? 0,
  };
}

/** The instant of wall time `hour`:00 on year-month-day in `timeZone` (days past the month's end roll over). */
function instantOf(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const wanted = Date.UTC(year, month - 1, day, hour);
  let guess = wanted;
  // Two rounds settle the zone offset, also across a DST change (9:00 and 17:00 are never skipped or repeated).
  for (let i = 0; i < 2; i++) {
    const w = wallTime(guess, timeZone);
    const seen = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
    guess += wanted - seen;
  }
  return guess;
}

/** `start` plus `hours` business hours (Monday to Friday, 9:00-17:00 in `timeZone`). */
export function addBusinessHours(start: number, hours: number, timeZone: string): number {
  let remaining = Math.max(0, hours) * HOUR;
  let t = start;
  for (let guard = 0; guard < 100_000; guard++) {
    const w = wallTime(t, timeZone);
    const open = instantOf(w.year, w.month, w.day, OPEN_HOUR, timeZone);
    const close = instantOf(w.year, w.month, w.day, CLOSE_HOUR, timeZone);
    if (w.weekday === 0 || w.weekday === 6 || t >= close) {
      t = instantOf(w.year, w.month, w.day + 1, OPEN_HOUR, timeZone);
      continue;
    }
    if (t < open) t = open;
    if (remaining <= close - t) return t + remaining;
    remaining -= close - t;
    t = close;
  }
  throw new Error('addBusinessHours did not converge');
}

// ---- rules ----

/** The SDOHCC category codes of a referral, in order. */
export function programsOf(serviceRequest: ServiceRequest | undefined): string[] {
  return (serviceRequest?.category ?? []).flatMap((concept) => concept.coding ?? []).filter((c) => c.system === SDOHCC_CODES && c.code).map((c) => c.code as string);
}

export function rulesFor(settings: SlaSettings, programs: string[]): SlaRules {
  const program = programs.find((code) => settings.programs[code]);
  return { ...settings.defaults, ...(program ? settings.programs[program] : {}) };
}

// ---- scheduling (inside the transaction of the change) ----

function schedule(q: Queryable, job: SlaTimerJob, dedupeKey: string): Promise<string | undefined> {
  return enqueue(q, { queue: SLA_QUEUE, payload: job, dedupeKey });
}

/** Starts the accept timers of a hub Task just created `requested`. */
export async function scheduleAcceptTimers(q: Queryable, settings: SlaSettings, taskId: string, serviceRequest: ServiceRequest | undefined): Promise<void> {
  const rules = rulesFor(settings, programsOf(serviceRequest));
  const now = referralNow();
  const remindAt = addBusinessHours(now, rules.acceptHours, settings.timeZone);
  const rerouteAt = addBusinessHours(now, rules.rerouteHours, settings.timeZone);
  // A re-route as late as the reminder would act before anyone could react to it.
  if (rerouteAt > remindAt) await schedule(q, { kind: 'remind', taskId, notBefore: remindAt, rule: rules.acceptHours }, `sla:remind:Task/${taskId}`);
  await schedule(q, { kind: 'reroute', taskId, notBefore: rerouteAt, rule: rules.rerouteHours }, `sla:reroute:Task/${taskId}`);
}

/** The no-update check of an accepted or in-progress hub Task, due `updateDays` after `lastActivity` (referral clock). */
export async function scheduleUpdateCheck(q: Queryable, settings: SlaSettings, taskId: string, serviceRequest: ServiceRequest | undefined, lastActivity: number, at?: number): Promise<void> {
  const rules = rulesFor(settings, programsOf(serviceRequest));
  const notBefore = at ?? lastActivity + rules.updateDays * DAY;
  // Keyed by due time: the checks scheduled by several status changes that agree on it are one job.
  await schedule(q, { kind: 'update', taskId, notBefore, rule: rules.updateDays }, `sla:update:Task/${taskId}:${notBefore}`);
}

// ---- flags ----

async function activeFlags(q: Queryable, taskId: string): Promise<Flag[]> {
  const rows = await q.query<{ content: Flag }>(
    `SELECT content FROM resource WHERE resource_type = 'Flag' AND NOT deleted AND content->>'status' = 'active' AND content->'extension' @> $1::jsonb`,
    [JSON.stringify([{ url: FLAG_DETAIL, valueReference: { reference: `Task/${taskId}` } }])],
  );
  return rows.map((row) => row.content).filter((flag) => flag.meta?.tag?.some((tag) => tag.system === SLA_CODES));
}

/** Ends the SLA flags of a Task (it changed, so it was updated). */
export async function resolveSlaFlags(scope: Scope, taskId: string): Promise<void> {
  for (const flag of await activeFlags(scope.q, taskId)) {
    await update(scope, 'Flag', flag.id!, { ...flag, status: 'inactive', period: { ...flag.period, end: new Date(referralNow()).toISOString() } });
  }
}

async function raiseFlag(scope: Scope, hubOrganization: string, task: Task, days: number, lastActivity: number): Promise<void> {
  if ((await activeFlags(scope.q, task.id!)).length) return;
  const owner = task.owner?.reference ?? 'the CBO';
  await create(scope, 'Flag', {
    resourceType: 'Flag',
    meta: { tag: [{ system: SLA_CODES, code: 'no-update', display: 'Referral not updated in time' }] },
    extension: [{ url: FLAG_DETAIL, valueReference: { reference: `Task/${task.id}` } }],
    status: 'active',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'admin', display: 'Administrative' }] }],
    code: {
      coding: [{ system: SLA_CODES, code: 'no-update', display: 'Referral not updated in time' }],
      text: `Referral Task/${task.id} (${task.status}) at ${owner}: no update for ${days} day(s), since ${new Date(lastActivity).toISOString()}`,
    },
    subject: task.for?.reference?.startsWith('Patient/') ? task.for : { reference: hubOrganization },
    period: { start: new Date(referralNow()).toISOString() },
    author: { reference: hubOrganization },
  });
}

// ---- firing ----



const lastUpdatedOf = (task: Task): number => toReferralClock(Date.parse(task.meta?.lastUpdated ?? '') || Date.now());

async function hubServiceRequest(q: Queryable, task: Task): Promise<ServiceRequest | undefined> {
  const match = /^ServiceRequest\/([A-Za-z0-9\-.]{1,64})$/.exec(task.focus?.reference ?? '');
  const stored = match ? await readCurrent(q, 'ServiceRequest', match[1]) : undefined;
  return stored && !stored.deleted ? (stored.resource as ServiceRequest) : undefined;
}

const hours = (n: number) => `${Number(n.toFixed(4))} business hour${n === 1 ? '' : 's'}`;

/** Runs one timer in the job's transaction; does nothing when the Task has moved on. */
export async function fireSlaTimer(scope: Scope, hubOrganization: string, settings: SlaSettings, job: SlaTimerJob): Promise<void> {
  const stored = await readCurrent(scope.q, 'Task', job.taskId, true); // locked: no status change slips in between
  const task = stored && !stored.deleted ? (stored.resource as Task) : undefined;
  if (!task || task.requester?.reference !== hubOrganization) return;
  const now = referralNow();
  const stamp = new Date(now).toISOString();
  switch (job.kind) {
    case 'remind': {
      if (task.status !== 'requested') return;
      const text = `Reminder from the hub: this referral has not been accepted within ${hours(job.rule)}; it will be re-routed to another organization unless it is accepted or rejected soon.`;
      await update(scope, 'Task', task.id!, { ...task, note: [...(task.note ?? []), { text, time: stamp, authorReference: { reference: hubOrganization } }] });
      const remote = remoteTaskUrl(task);
      if (remote) await requestCboPush(scope.q, { action: 'note', taskId: task.id!, note: text }, `cbo-push:note:Task/${task.id}:remind`);
      return;
    }
    case 'reroute': {
      if (task.status !== 'requested') return;
      await update(scope, 'Task', task.id!, {
        ...task,
        status: 'cancelled',
        statusReason: { text: `Not accepted in time (${hours(job.rule)}): the hub re-routed the referral` },
        lastModified: stamp,
      });
      const source = (task.partOf ?? []).map((ref) => /^Task\/([A-Za-z0-9\-.]{1,64})$/.exec(ref.reference ?? '')?.[1]).find((id) => id);
      if (source) await routeReferral({ scope, hubOrganization, sla: settings }, source);
      return;
    }
    case 'update': {
      if (task.status !== 'accepted' && task.status !== 'in-progress') return;
      const lastActivity = lastUpdatedOf(task);
      const period = job.rule * DAY;
      const due = lastActivity + period;
      const serviceRequest = await hubServiceRequest(scope.q, task);
      if (now < due) {
        // Updated since this check was set: the clock starts again from that update.
        await scheduleUpdateCheck(scope.q, settings, task.id!, serviceRequest, lastActivity, due);
        return;
      }
      await raiseFlag(scope, hubOrganization, task, job.rule, lastActivity);
      // Look again one period later (on the grid of the last update, so parallel checks meet in one job).
      await scheduleUpdateCheck(scope.q, settings, task.id!, serviceRequest, lastActivity, due + period * Math.ceil((now - due + 1) / period));
      return;
    }
  }
}

export interface SlaQueueDeps {
  engine: FhirEngine;
  hubOrganization: string;
  settings: SlaSettings;
}

/** The 'sla-timers' queue module. */
export function slaTimersQueue(deps: SlaQueueDeps): QueueModule<SlaTimerJob> {
  return {
    name: SLA_QUEUE,
    // An early job waits with backoff (1 s, 2 s, 4 s…): 20 tries cover days of clock difference.
    attempts: 20,
    backoffMs: 1_000,
    async process({ outboxId, payload }) {
      if (!payload || !payload.taskId || !['remind', 'reroute', 'update'].includes(payload.kind)) throw new UnrecoverableError('Not an SLA timer');
      assertDue(payload.notBefore, referralNow());
      await deps.engine.runAsSystem(`$sla-${payload.kind}`, deps.hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: SLA_QUEUE, outboxId }))) return;
        await fireSlaTimer(scope, deps.hubOrganization, deps.settings, payload);
      });
    },
  };
}
