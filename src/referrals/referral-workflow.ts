// The hub as Coordination Platform in the SDOHCC indirect referral (IG §3): a referral source's Task
// owned by the hub is routed to a CBO of the network through the hub's own ServiceRequest and Task
// (`basedOn` / `partOf` the source's), and what the CBO does flows back to the source Task.
//
// Each step runs as the system in one database transaction (a queue job, src/referrals/referral-queue.ts)
// and is idempotent: running it again finds the work done and does nothing. Each step first locks the
// source Task (FOR UPDATE), so steps of one referral run one after the other even when jobs of several
// queues (referrals, referral-fetch, sla-timers) or several workers run at once.
//   routeReferral       source Task requested → hub SR + Task to the chosen CBO; source accepted.
//                       None eligible → source rejected (or failed, when it had been accepted) with the reason.
//   onHubTaskChanged    CBO accepted/started → source in-progress; rejected → route to the next CBO;
//                       completed → its outputs (Procedures) into the source's output, source completed;
//                       failed → source failed.
//   onSourceChanged     source cancelled (or entered in error) → the hub's open Tasks cancelled.
//
// With the queues of referral-queue.ts (referralQueues), routing also: fetches a focus that is an
// absolute URL on the source's server first (remote-referral.ts); pushes the hub's Task to a full CBO's
// FHIR server and polls it there (cbo-push.ts); starts the SLA timers of the hub's Task (sla-timers.ts).
import type { Consent, Patient, Reference, ServiceRequest, Task, TaskOutput } from 'fhir/r4';
import { evaluateConsents } from '../policy/consent-evaluation.ts';
import { readCurrent } from '../store/resource-store.ts';
import type { Queryable } from '../store/database.ts';
import { create } from '../fhir/interactions/create.ts';
import { update } from '../fhir/interactions/update.ts';
import type { Scope } from '../fhir/scope.ts';
import { loadDirectory, openLoad, type CboListing } from './cbo-directory.ts';
import { route, routingRequestFor } from './routing.ts';
import { loadCursor, saveCursor } from './routing-cursor.ts';
import { remoteTaskUrl, requestCboPush } from './cbo-push.ts';
import { copyIdFor, isAbsoluteUrl, requestRemoteFetch } from './remote-referral.ts';
import { requestChargeCapture } from '../billing/charge-capture.ts';
import { resolveSlaFlags, scheduleAcceptTimers, scheduleUpdateCheck, toReferralClock, type SlaSettings } from './sla-timers.ts';

const TASK_PROFILE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement';
const SR_PROFILE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest';
const OPEN: ReadonlySet<string> = new Set(['requested', 'accepted', 'in-progress', 'on-hold']);
/** The purpose a CBO receives a referral under: its disclosure profile (cbo-coc) and the consent it needs. */
const CBO_PURPOSE = 'COC';

export interface ReferralStep {
  scope: Scope;
  hubOrganization: string;
  /** SLA rules of the timers; without them no timers are started. */
  sla?: SlaSettings;
}

/** Outbox messages written by a step go out as soon as it commits. */
const nudgeAfterCommit = (step: ReferralStep) => step.scope.afterCommit(() => step.scope.services.nudgeOutbox());

const relativeId = (reference: string | undefined, type: string): string | undefined => {
  const match = reference ? new RegExp(`^${type}/([A-Za-z0-9\\-.]{1,64})$`).exec(reference) : null;
  return match?.[1];
};

async function current<T>(q: Queryable, type: string, id: string | undefined, lock = false): Promise<T | undefined> {
  if (!id) return undefined;
  const stored = await readCurrent(q, type, id, lock);
  return stored && !stored.deleted ? (stored.resource as T) : undefined;
}

/** The hub's Tasks that are part of a source referral. */
async function hubTasksOf(q: Queryable, hubOrganization: string, sourceId: string): Promise<Task[]> {
  const rows = await q.query<{ content: Task }>(
    `SELECT r.content FROM resource r
      WHERE r.resource_type = 'Task' AND NOT r.deleted
        AND r.id IN (SELECT s.id FROM search_reference s WHERE s.resource_type = 'Task' AND s.code = 'part-of' AND s.target_type = 'Task' AND s.target_id = $1)`,
    [sourceId],
  );
  return rows.map((row) => row.content).filter((task) => task.requester?.reference === hubOrganization);
}

async function save(step: ReferralStep, task: Task, changes: Partial<Task>): Promise<void> {
  await update(step.scope, 'Task', task.id!, { ...task, ...changes, lastModified: new Date().toISOString() });
}

/** The CBOs whose receipt of this patient's referral a consent permits (the SDOHCC Consent naming them). */
async function consentedCbos(q: Queryable, patientId: string, directory: CboListing[]): Promise<Set<string>> {
  const rows = await q.query<{ content: Consent }>(
    `SELECT r.content FROM resource r WHERE r.resource_type = 'Consent' AND NOT r.deleted
        AND r.id IN (SELECT s.id FROM search_reference s WHERE s.resource_type = 'Consent' AND s.code = 'patient' AND s.target_type = 'Patient' AND s.target_id = $1)`,
    [patientId],
  );
  const consents = rows.map((row) => row.content);
  const now = new Date();
  const permitted = directory
    .map((listing) => listing.organization)
    .filter((organization) => evaluateConsents(consents, { organization, purposeOfUse: CBO_PURPOSE, actions: ['access', 'disclose'], consentRequired: true, now }).effect === 'permit');
  return new Set(permitted);
}

export async function routeReferral(step: ReferralStep, sourceId: string): Promise<void> {
  const q = step.scope.q;
  const source = await current<Task>(q, 'Task', sourceId, true);
  if (!source || source.owner?.reference !== step.hubOrganization || (source.status !== 'requested' && source.status !== 'accepted')) return;
  const existing = await hubTasksOf(q, step.hubOrganization, sourceId);
  if (existing.some((task) => OPEN.has(task.status) || task.status === 'completed')) return; // already routed
  const tried = existing.flatMap((task) => (task.owner?.reference ? [task.owner.reference] : []));

  let serviceRequest: ServiceRequest | undefined;
  let patientId: string | undefined;
  let patientRef = source.for;
  const focus = source.focus?.reference;
  if (isAbsoluteUrl(focus)) {
    // On the source's server: route on the hub's copies, fetching them first (the fetch job routes again).
    serviceRequest = await current<ServiceRequest>(q, 'ServiceRequest', copyIdFor(focus));
    if (!serviceRequest) {
      await requestRemoteFetch(q, sourceId, focus);
      nudgeAfterCommit(step);
      return;
    }
    patientId = relativeId(serviceRequest.subject?.reference, 'Patient');
    patientRef = patientId ? { reference: `Patient/${patientId}` } : undefined;
  } else {
    serviceRequest = await current<ServiceRequest>(q, 'ServiceRequest', relativeId(focus, 'ServiceRequest'));
    patientId = relativeId(source.for?.reference, 'Patient');
  }
  const patient = await current<Patient>(q, 'Patient', patientId);
  const end = (reason: string) =>
    save(step, source, { status: source.status === 'requested' ? 'rejected' : 'failed', statusReason: { text: reason } });
  if (!serviceRequest || !patientId) return end('The referral names no ServiceRequest and Patient stored on the hub');

  const directory = await loadDirectory(q);
  const consented = await consentedCbos(q, patientId, directory);
  const request = { ...routingRequestFor(serviceRequest, patient), exclude: [...tried, step.hubOrganization] };
  const cursor = await loadCursor(q);
  const decision = route(request, directory.filter((listing) => consented.has(listing.organization)), await openLoad(q), cursor);
  const withoutConsent = directory.filter((listing) => !consented.has(listing.organization)).length;
  const consentNote = withoutConsent ? `; ${withoutConsent} listing(s) left out: no consent of the patient names them` : '';
  if (!decision.chosen) return end(`No CBO can take this referral${tried.length ? ' after ' + tried.length + ' tried' : ''}: ${decision.reason}${consentNote}`);
  await saveCursor(q, decision.key, decision.chosen.organization);

  const hub: Reference = { reference: step.hubOrganization };
  const cbo: Reference = { reference: decision.chosen.organization };
  const hubRequest = await create(step.scope, 'ServiceRequest', {
    resourceType: 'ServiceRequest',
    meta: { profile: [SR_PROFILE] },
    status: 'active',
    intent: 'order',
    category: serviceRequest.category,
    code: serviceRequest.code,
    priority: serviceRequest.priority,
    subject: serviceRequest.subject,
    reasonCode: serviceRequest.reasonCode,
    reasonReference: serviceRequest.reasonReference,
    supportingInfo: serviceRequest.supportingInfo,
    basedOn: [{ reference: `ServiceRequest/${serviceRequest.id}` }],
    authoredOn: new Date().toISOString(),
    requester: hub,
    performer: [cbo],
  });
  const hubTask = await create(step.scope, 'Task', {
    resourceType: 'Task',
    meta: { profile: [TASK_PROFILE] },
    status: 'requested',
    intent: 'order',
    priority: source.priority,
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: `ServiceRequest/${hubRequest.resource!.id}` },
    for: patientRef,
    partOf: [{ reference: `Task/${sourceId}` }],
    authoredOn: new Date().toISOString(),
    requester: hub,
    owner: cbo,
    // Why this CBO: the routing decision, without PHI (codes, CBO ids, loads, postal code).
    note: [{ text: `Routed by the hub: ${decision.reason}${consentNote}`, time: new Date().toISOString() }],
  });
  const hubTaskId = hubTask.resource!.id!;
  if (step.sla) await scheduleAcceptTimers(q, step.sla, hubTaskId, serviceRequest);
  if (decision.chosen.endpoint === 'full' && decision.chosen.endpointAddress) {
    const job = { action: 'create' as const, taskId: hubTaskId, endpoint: decision.chosen.endpointAddress, organization: decision.chosen.organization };
    await requestCboPush(q, job, `cbo-push:create:Task/${hubTaskId}`);
  }
  nudgeAfterCommit(step);
  if (source.status === 'requested') await save(step, source, { status: 'accepted', statusReason: { text: `Routed to ${decision.chosen.organization}` } });
}

/** The source referral a hub Task is part of, when the hub owns it. */
async function sourceOf(step: ReferralStep, task: Task): Promise<Task | undefined> {
  for (const partOf of task.partOf ?? []) {
    const source = await current<Task>(step.scope.q, 'Task', relativeId(partOf.reference, 'Task'), true);
    if (source?.owner?.reference === step.hubOrganization) return source;
  }
  return undefined;
}

const sameOutput = (a: TaskOutput, b: TaskOutput) => JSON.stringify(a.valueReference ?? a) === JSON.stringify(b.valueReference ?? b);

export async function onHubTaskChanged(step: ReferralStep, hubTaskId: string): Promise<void> {
  const task = await current<Task>(step.scope.q, 'Task', hubTaskId);
  if (!task || task.requester?.reference !== step.hubOrganization) return;
  // A status change is an update: an SLA flag for the lack of one has served its purpose.
  await resolveSlaFlags(step.scope, task.id!);
  if ((task.status === 'cancelled' || task.status === 'entered-in-error') && remoteTaskUrl(task)) {
    // Cancelled on the hub (the source cancelled, or an SLA re-route): the full CBO is told on its server.
    await requestCboPush(step.scope.q, { action: 'cancel', taskId: task.id! }, `cbo-push:cancel:Task/${task.id}/_history/${task.meta?.versionId}`);
    nudgeAfterCommit(step);
  }
  if (step.sla && (task.status === 'accepted' || task.status === 'in-progress')) {
    const serviceRequest = await current<ServiceRequest>(step.scope.q, 'ServiceRequest', relativeId(task.focus?.reference, 'ServiceRequest'));
    await scheduleUpdateCheck(step.scope.q, step.sla, task.id!, serviceRequest, toReferralClock(Date.parse(task.meta?.lastUpdated ?? '') || Date.now()));
  }
  const source = await sourceOf(step, task);
  if (!source || !OPEN.has(source.status)) return;
  switch (task.status) {
    case 'accepted':
    case 'in-progress':
      if (source.status === 'accepted' || source.status === 'requested') await save(step, source, { status: 'in-progress', statusReason: undefined });
      return;
    case 'rejected':
      return routeReferral(step, source.id!);
    case 'failed':
      return save(step, source, { status: 'failed', statusReason: { text: `${task.owner?.reference ?? 'The CBO'} could not complete the service: ${task.statusReason?.text ?? 'no reason given'}` } });
    case 'completed': {
      const outputs = [...(source.output ?? [])];
      for (const output of task.output ?? []) if (!outputs.some((existing) => sameOutput(existing, output))) outputs.push(output);
      // The delivered services become charges (src/billing/charge-capture.ts), by an outbox row of this transaction.
      await requestChargeCapture(step.scope.q, { hubTaskId: task.id!, sourceTaskId: source.id! });
      nudgeAfterCommit(step);
      return save(step, source, { status: 'completed', statusReason: undefined, output: outputs.length ? outputs : undefined });
    }
    default:
      return;
  }
}

export async function onSourceChanged(step: ReferralStep, sourceId: string): Promise<void> {
  const source = await current<Task>(step.scope.q, 'Task', sourceId, true);
  if (!source || source.owner?.reference !== step.hubOrganization) return;
  if (source.status === 'requested') return routeReferral(step, sourceId);
  if (source.status !== 'cancelled' && source.status !== 'entered-in-error') return;
  for (const task of await hubTasksOf(step.scope.q, step.hubOrganization, sourceId)) {
    if (OPEN.has(task.status)) await save(step, task, { status: 'cancelled', statusReason: { text: 'The referral source cancelled the referral' } });
  }
}
