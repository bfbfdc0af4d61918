// Full CBOs (a FHIR server in the directory, cbo-directory.ts): the hub's Task goes to the CBO's server,
// as the IG's indirect referral has it, and the hub follows it there.
//
// 'cbo-push' (outbox message from the routing transaction; retried with backoff, then dead-lettered):
//   create  the Patient, the Consent(s), the hub's ServiceRequest and Task, each as the CBO may see it: the
//           DisclosureGuard of a `cbo` actor of that organization with purpose COC decides and redacts (the
//           profile cbo-coc; withheld resources are not sent, a withheld Task stops the push for good). Each is
//           POSTed with `If-None-Exist: identifier=urn:ietf:rfc:3986|{hub URL of it}`, so a retry finds what an
//           earlier try created. References between them point at the CBO's copies; any other relative
//           reference becomes an absolute URL on the hub. The hub's Task then records the remote Task
//           (identifier urn:cch:cbo-task = its URL), an AuditEvent records the disclosure to the CBO, and
//           polling starts.
//   cancel  the hub cancelled its Task (source cancelled, SLA re-route): the remote Task is cancelled too.
//   note    an SLA reminder: appended to the remote Task's notes while it is still requested.
//
// 'cbo-poll' (a chain of delayed jobs, one every CBO_POLL_SECONDS per pushed Task): GET the remote Task;
// when its status, reason, business status, outputs or notes changed, mirror them into the hub's Task as
// the system (so the referral events fire and reach the source: accepted → source in-progress, completed →
// outputs into the source's output…). Outputs that reference resources on the CBO's server (Procedures) are
// fetched and stored as copies (id rm-…, meta.source = their URL, patient references → the hub's patient).
// The chain stops once the hub's Task is terminal; if the hub cancelled it while the CBO had not, the
// last poll cancels it there. A failed GET (CBO down) is logged and the next poll tries again: polling
// itself is the retry, so a long outage does not end the tracking.
import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { Consent, Patient, Reference, Resource, ServiceRequest, Task, TaskOutput } from 'fhir/r4';
import type { Logger } from 'pino';
import type { FhirEngine } from '../fhir/engine.ts';
import { DisclosureGuard } from '../fhir/disclosure-guard.ts';
import { update } from '../fhir/interactions/update.ts';
import type { Scope } from '../fhir/scope.ts';
import type { SearchParameterRegistry } from '../fhir/search/search-parameter-registry.ts';
import type { RequestContext } from '../fhir/types.ts';
import type { Actor } from '../policy/actor.ts';
import { AuditTrail } from '../policy/audit-trail.ts';
import type { DisclosureProfiles } from '../policy/disclosure-profile.ts';
import { PolicyFactsCache } from '../policy/policy-facts-cache.ts';
import { enqueue } from '../queue/outbox.ts';
import { processOnce } from '../queue/processed-once.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Database, Queryable } from '../store/database.ts';
import { readCurrent } from '../store/resource-store.ts';
import { parseAbsoluteReference, PartnerHttpError, OutboundUrlError, type PartnerClient, type PartnerClients } from './partner-client.ts';
import { referralNow } from './sla-timers.ts';
import { assertDue } from '../queue/delayed-jobs.ts';
import { claimMessage } from '../queue/processed-once.ts';

export const CBO_PUSH_QUEUE = 'cbo-push';
export const CBO_POLL_QUEUE = 'cbo-poll';
/** Identifier system of the hub Task's record of its copy on a full CBO's server (value: that Task's URL). */
export const CBO_TASK_SYSTEM = 'urn:cch:cbo-task';
/** Identifiers that are URLs (RFC 3986): what the hub puts on the resources it pushes, with their hub URL. */
export const URI_SYSTEM = 'urn:ietf:rfc:3986';
const CBO_PURPOSE = 'COC';

export type CboPushJob =
  | { action: 'create'; taskId: string; endpoint: string; organization: string }
  | { action: 'cancel'; taskId: string }
  | { action: 'note'; taskId: string; note: string };

export interface CboPollJob {
  taskId: string;
  seq: number;
  /** When it is due, in ms on the referral clock (src/queue/delayed-jobs.ts). */
  notBefore: number;
}

const TERMINAL: ReadonlySet<string> = new Set(['rejected', 'cancelled', 'completed', 'failed', 'entered-in-error']);
/** Remote statuses mirrored into the hub's Task (draft, received and ready are not referral Task statuses). */
const MIRRORED: ReadonlySet<string> = new Set(['accepted', 'rejected', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed']);

/** Writes a cbo-push message in the current transaction. */
export async function requestCboPush(q: Queryable, job: CboPushJob, dedupeKey: string): Promise<void> {
  await enqueue(q, { queue: CBO_PUSH_QUEUE, payload: job, dedupeKey });
}

/** The URL of the hub Task's copy on a full CBO's server, once pushed. */
export function remoteTaskUrl(task: Task): string | undefined {
  return task.identifier?.find((identifier) => identifier.system === CBO_TASK_SYSTEM)?.value;
}

/** Local id of the copy of a remote resource: stable per URL, so storing it again replaces it. */
export const remoteCopyId = (url: string): string => `rm-${createHash('sha256').update(url).digest('hex').slice(0, 40)}`;

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** A deep copy of `value` with every `reference` string replaced by `map(reference)`. */
export function mapReferences<T>(value: T, map: (reference: string) => string): T {
  if (Array.isArray(value)) return value.map((item) => mapReferences(item, map)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = key === 'reference' && typeof child === 'string' ? map(child) : mapReferences(child, map);
    return out as T;
  }
  return value;
}

/** JSON with sorted keys, to compare resources whatever order the store returned them in. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface CboDeps {
  engine: FhirEngine;
  db: Database;
  hubOrganization: string;
  /** The hub's FHIR base URL, for references the CBO follows back to the hub. */
  fhirBase: string;
  partners: PartnerClients;
  disclosureProfiles: DisclosureProfiles;
  searchParameters: SearchParameterRegistry;
  pollSeconds: number;
  attempts: number;
  backoffMs: number;
  logger: Logger;
}

async function current<T extends Resource>(q: Queryable, type: string, id: string | undefined, lock = false): Promise<T | undefined> {
  if (!id) return undefined;
  const stored = await readCurrent(q, type, id, lock);
  return stored && !stored.deleted ? (stored.resource as T) : undefined;
}

const idOf = (reference: string | undefined, type: string): string | undefined => {
  const match = reference ? RELATIVE.exec(reference) : null;
  return match && match[1] === type ? match[2] : undefined;
};

const claim = (q: Queryable, queue: string, outboxId: string) => claimMessage(q, { queue, outboxId });

/** A PartnerHttpError that retrying cannot fix becomes a dead letter at once. */
function rethrow(error: unknown): never {
  if ((error instanceof PartnerHttpError && error.permanent) || error instanceof OutboundUrlError) throw new UnrecoverableError(`${error.name}: ${error.message}`);
  throw error;
}

// ---- create ----

interface Disclosure {
  resources: Resource[];
  trail: AuditTrail;
  actor: Actor;
}

/** The Patient, Consents, ServiceRequest and Task of a hub Task as the CBO may receive them, in push order. */
async function disclosureFor(deps: CboDeps, task: Task, organization: string): Promise<Disclosure> {
  const q = deps.db;
  const serviceRequest = await current<ServiceRequest>(q, 'ServiceRequest', idOf(task.focus?.reference, 'ServiceRequest'));
  const patient = await current<Patient>(q, 'Patient', idOf(task.for?.reference, 'Patient'));
  const consentIds = (serviceRequest?.supportingInfo ?? []).map((ref) => idOf(ref.reference, 'Consent')).filter((id): id is string => id !== undefined);
  let consents: Consent[] = [];
  for (const id of consentIds) {
    const consent = await current<Consent>(q, 'Consent', id);
    if (consent) consents.push(consent);
  }
  if (consents.length === 0 && patient) {
    // No Consent named by the referral: the patient's active ones, as far as the CBO may read them.
    const rows = await q.query<{ content: Consent }>(
      `SELECT r.content FROM resource r WHERE r.resource_type = 'Consent' AND NOT r.deleted AND r.content->>'status' = 'active'
          AND r.id IN (SELECT s.id FROM search_reference s WHERE s.resource_type = 'Consent' AND s.code = 'patient' AND s.target_type = 'Patient' AND s.target_id = $1)`,
      [patient.id!],
    );
    consents = rows.map((row) => row.content);
  }
  // What the CBO's own client could read of the hub: the cbo-coc profile, narrowed by nothing more.
  const actor: Actor = { clientId: `cbo-push:${organization}`, role: 'cbo', organization, purposeOfUse: CBO_PURPOSE, scopes: ['system/*.rs'] };
  const trail = new AuditTrail();
  trail.interaction('create');
  const guard = new DisclosureGuard(actor, { profiles: deps.disclosureProfiles, registry: deps.searchParameters, cache: new PolicyFactsCache() }, trail, false);
  const candidates: Resource[] = [...(patient ? [patient] : []), ...consents, ...(serviceRequest ? [serviceRequest] : []), task];
  const permitted: Resource[] = [];
  for (const resource of candidates) if (await guard.permits(q, 'read', resource)) permitted.push(guard.redact(resource));
  if (!permitted.some((resource) => resource.resourceType === 'Task')) {
    // The decision's reason codes (NO_RELATIONSHIP, CONSENT_REQUIRED…) say why, without PHI.
    const why = trail.toAuditEvent(actor, { method: 'POST', path: '', query: '', status: 403, requestId: '' }).outcomeDesc;
    throw new UnrecoverableError(`The policy does not let ${organization} receive Task/${task.id} (${why})`);
  }
  return { resources: permitted, trail, actor };
}

/** The resource as sent to the CBO: no hub id or versions, its hub URL as identifier, references mapped. */
function outbound(resource: Resource, pushed: Map<string, string>, fhirBase: string): Resource {
  const hubUrl = `${fhirBase}/${resource.resourceType}/${resource.id}`;
  const { id: _id, meta, ...content } = resource as Resource & { identifier?: { system?: string; value?: string }[] };
  const body = mapReferences(content, (reference) => {
    const match = RELATIVE.exec(reference);
    if (!match) return reference; // absolute, contained or urn: as is
    return pushed.get(`${match[1]}/${match[2]}`) ?? `${fhirBase}/${reference}`;
  }) as Resource & { identifier?: { system?: string; value?: string }[] };
  const keptMeta = { ...(meta?.profile ? { profile: meta.profile } : {}), ...(meta?.security ? { security: meta.security } : {}) };
  const identifier = [...(body.identifier ?? []).filter((i) => i.system !== CBO_TASK_SYSTEM), { system: URI_SYSTEM, value: hubUrl }];
  return { ...body, ...(Object.keys(keptMeta).length ? { meta: keptMeta } : {}), identifier } as Resource;
}

async function pushCreate(deps: CboDeps, outboxId: string, job: Extract<CboPushJob, { action: 'create' }>): Promise<void> {
  const task = await current<Task>(deps.db, 'Task', job.taskId);
  if (!task || task.requester?.reference !== deps.hubOrganization) return;
  let remoteUrl = remoteTaskUrl(task);
  let disclosure: Disclosure | undefined;
  if (!remoteUrl) {
    if (TERMINAL.has(task.status)) return; // ended before it was sent: nothing to tell the CBO
    disclosure = await disclosureFor(deps, task, job.organization);
    const client = clientFor(deps, job.endpoint);
    const pushed = new Map<string, string>();
    try {
      for (const resource of disclosure.resources) {
        const body = outbound(resource, pushed, deps.fhirBase);
        const hubUrl = `${deps.fhirBase}/${resource.resourceType}/${resource.id}`;
        const created = await client.create(body, `identifier=${encodeURIComponent(`${URI_SYSTEM}|${hubUrl}`)}`);
        pushed.set(`${resource.resourceType}/${resource.id}`, `${resource.resourceType}/${created.id}`);
        if (resource.resourceType === 'Task') remoteUrl = created.url;
      }
    } catch (error) {
      rethrow(error);
    }
  }
  const ran = await deps.engine.runAsSystem('$cbo-push', deps.hubOrganization, async (scope) => {
    if (!(await claim(scope.q, CBO_PUSH_QUEUE, outboxId))) return false;
    const locked = await current<Task>(scope.q, 'Task', job.taskId, true);
    if (!locked) return true;
    if (!remoteTaskUrl(locked)) {
      await update(scope, 'Task', locked.id!, { ...locked, identifier: [...(locked.identifier ?? []), { use: 'secondary', system: CBO_TASK_SYSTEM, value: remoteUrl! }] });
    }
    await schedulePoll(scope, locked.id!, 1, deps.pollSeconds);
    scope.afterCommit(() => scope.services.nudgeOutbox());
    return true;
  });
  if (ran && disclosure) {
    const ctx: RequestContext = { requestId: `cbo-push-${outboxId}`, actor: disclosure.actor, fhirBase: deps.fhirBase, audit: disclosure.trail };
    await deps.engine.recordAudit(ctx, { method: 'POST', path: `${job.endpoint}/Task`, query: '', status: 201 });
  }
}

function clientFor(deps: CboDeps, base: string): PartnerClient {
  try {
    return deps.partners.client(base, { listedOnly: false });
  } catch (error) {
    rethrow(error);
  }
}

function remoteClient(deps: CboDeps, url: string): PartnerClient {
  const parsed = parseAbsoluteReference(url);
  if (!parsed) throw new UnrecoverableError(`Not a FHIR resource URL: ${url}`);
  return clientFor(deps, parsed.base);
}

/** Cancels the remote Task unless it already ended. */
async function cancelRemote(deps: CboDeps, task: Task, remoteUrl: string): Promise<void> {
  const client = remoteClient(deps, remoteUrl);
  const remote = (await client.read<Task>(remoteUrl)).resource;
  if (TERMINAL.has(remote.status)) return;
  await client.update({
    ...remote,
    id: remote.id ?? parseAbsoluteReference(remoteUrl)!.id,
    status: 'cancelled',
    statusReason: { text: task.statusReason?.text ?? 'Cancelled by the hub' },
    lastModified: new Date(referralNow()).toISOString(),
  });
}

async function pushUpdate(deps: CboDeps, job: Exclude<CboPushJob, { action: 'create' }>): Promise<void> {
  const task = await current<Task>(deps.db, 'Task', job.taskId);
  const remoteUrl = task && remoteTaskUrl(task);
  // Not pushed (yet): a cancel is left to the create or the last poll, which cancel what they find.
  if (!task || !remoteUrl) return;
  try {
    if (job.action === 'cancel') {
      await cancelRemote(deps, task, remoteUrl);
    } else {
      const client = remoteClient(deps, remoteUrl);
      const remote = (await client.read<Task>(remoteUrl)).resource;
      if (remote.status === 'requested' && !(remote.note ?? []).some((note) => note.text === job.note)) {
        await client.update({ ...remote, id: remote.id ?? parseAbsoluteReference(remoteUrl)!.id, note: [...(remote.note ?? []), { text: job.note, time: new Date(referralNow()).toISOString() }] });
      }
    }
  } catch (error) {
    rethrow(error);
  }
}

/** The 'cbo-push' queue module. */
export function cboPushQueue(deps: CboDeps): QueueModule<CboPushJob> {
  return {
    name: CBO_PUSH_QUEUE,
    attempts: deps.attempts,
    backoffMs: deps.backoffMs,
    // One at a time: a Task's create, cancel and note reach the CBO in the order they were written.
    concurrency: 1,
    async process({ outboxId, payload }) {
      if (payload.action === 'create') await pushCreate(deps, outboxId, payload);
      else if (payload.action === 'cancel' || payload.action === 'note') await pushUpdate(deps, payload);
      else throw new UnrecoverableError('Unknown cbo-push action');
    },
  };
}

// ---- polling ----

async function schedulePoll(scope: Scope | { q: Queryable }, taskId: string, seq: number, pollSeconds: number): Promise<void> {
  const job: CboPollJob = { taskId, seq, notBefore: referralNow() + Math.round(pollSeconds * 1000) };
  await enqueue(scope.q, { queue: CBO_POLL_QUEUE, payload: job, dedupeKey: `cbo-poll:Task/${taskId}:${seq}` });
}

interface RemoteState {
  remote: Task;
  /** Copies of the resources its outputs reference on the CBO's server. */
  copies: Resource[];
  outputs: TaskOutput[] | undefined;
}

/** Fetches what the remote Task's outputs reference on the CBO's server and maps the outputs to the copies. */
async function readOutputs(client: PartnerClient, remote: Task, hubTask: Task): Promise<{ copies: Resource[]; outputs: TaskOutput[] | undefined }> {
  if (!remote.output?.length) return { copies: [], outputs: undefined };
  const copies: Resource[] = [];
  const outputs: TaskOutput[] = [];
  for (const output of remote.output) {
    const reference = output.valueReference?.reference;
    const url = reference && (RELATIVE.test(reference) ? `${client.baseUrl}/${reference}` : reference);
    const parsed = url ? parseAbsoluteReference(url) : undefined;
    if (!parsed || parsed.base !== client.baseUrl) {
      outputs.push(output);
      continue;
    }
    const { resource } = await client.read<Resource>(parsed.url);
    const copyId = remoteCopyId(parsed.url);
    copies.push(localCopy(resource, parsed.url, copyId, client.baseUrl, hubTask.for));
    outputs.push({ ...output, valueReference: { ...output.valueReference, reference: `${parsed.type}/${copyId}` } as Reference });
  }
  return { copies, outputs };
}

/** A resource from a partner as the hub stores it: its id, meta.source = its URL, references absolute or to the hub's patient. */
export function localCopy(resource: Resource, url: string, id: string, base: string, patient: Reference | undefined, local = new Map<string, string>()): Resource {
  const mapped = mapReferences(resource, (reference) => {
    if (reference.startsWith('#') || reference.startsWith('urn:')) return reference;
    const absolute = RELATIVE.test(reference) ? `${base}/${reference}` : reference;
    const parsed = parseAbsoluteReference(absolute);
    if (!parsed) return reference;
    const known = local.get(parsed.url);
    if (known) return known;
    if (parsed.type === 'Patient' && patient?.reference && parsed.base === base) return patient.reference;
    return parsed.url;
  });
  const meta = resource.meta;
  return {
    ...mapped,
    id,
    meta: { source: url, ...(meta?.profile ? { profile: meta.profile } : {}), ...(meta?.security ? { security: meta.security } : {}), ...(meta?.tag ? { tag: meta.tag } : {}) },
  } as Resource;
}

/** Stores copies of partner resources, writing only those that are new or changed. */
export async function storeCopies(scope: Scope, copies: Resource[]): Promise<void> {
  for (const copy of copies) {
    const existing = await current<Resource>(scope.q, copy.resourceType, copy.id, true);
    const strip = (resource: Resource) => ({ ...resource, meta: { ...resource.meta, versionId: undefined, lastUpdated: undefined } });
    if (existing && canonical(strip(existing)) === canonical(strip(copy))) continue;
    await update(scope, copy.resourceType, copy.id!, copy);
  }
}

/** The hub Task with the remote Task's status, reasons, outputs and new notes, or undefined when nothing changed. */
function mirrored(local: Task, state: RemoteState): Task | undefined {
  const { remote } = state;
  const status = MIRRORED.has(remote.status) ? remote.status : local.status;
  const notes = [...(local.note ?? [])];
  for (const note of remote.note ?? []) if (note.text && !notes.some((existing) => existing.text === note.text)) notes.push(note);
  const next: Task = {
    ...local,
    status,
    statusReason: remote.statusReason ?? (status === local.status ? local.statusReason : undefined),
    businessStatus: remote.businessStatus ?? local.businessStatus,
    output: state.outputs ?? local.output,
    note: notes.length ? notes : undefined,
    executionPeriod: remote.executionPeriod ?? local.executionPeriod,
  };
  const fields = (task: Task) => canonical([task.status, task.statusReason, task.businessStatus, task.output, task.note, task.executionPeriod]);
  if (fields(next) === fields(local)) return undefined;
  return { ...next, lastModified: remote.lastModified ?? new Date(referralNow()).toISOString() };
}

async function poll(deps: CboDeps, outboxId: string, job: CboPollJob): Promise<void> {
  const task = await current<Task>(deps.db, 'Task', job.taskId);
  const remoteUrl = task && remoteTaskUrl(task);
  if (!task || !remoteUrl) return;
  const log = deps.logger.child({ queue: CBO_POLL_QUEUE, task: `Task/${task.id}` });
  let state: RemoteState | undefined;
  try {
    const client = remoteClient(deps, remoteUrl);
    const remote = (await client.read<Task>(remoteUrl)).resource;
    if (TERMINAL.has(task.status)) {
      // The hub ended it (cancelled: source cancelled or re-routed) and the CBO has not: tell it now.
      if ((task.status === 'cancelled' || task.status === 'entered-in-error') && !TERMINAL.has(remote.status)) await cancelRemote(deps, task, remoteUrl);
      return;
    }
    state = { remote, ...(await readOutputs(client, remote, task)) };
  } catch (error) {
    if (error instanceof UnrecoverableError) throw error;
    // The CBO's server is away or refused: keep polling; the next poll is the retry.
    log.warn({ error: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'polling the CBO Task failed; will poll again');
  }
  if (TERMINAL.has(task.status)) return;
  const next = state && mirrored(task, state);
  if (next && state) {
    try {
      await deps.engine.runAsSystem('$cbo-poll', deps.hubOrganization, async (scope) => {
        if (!(await claim(scope.q, CBO_POLL_QUEUE, outboxId))) return;
        const locked = await current<Task>(scope.q, 'Task', task.id, true);
        if (!locked || TERMINAL.has(locked.status)) return;
        await storeCopies(scope, state.copies);
        const changed = mirrored(locked, state);
        if (changed) await update(scope, 'Task', locked.id!, changed);
        if (!changed || !TERMINAL.has(changed.status)) await schedulePoll(scope, locked.id!, job.seq + 1, deps.pollSeconds);
        scope.afterCommit(() => scope.services.nudgeOutbox());
      });
      return;
    } catch (error) {
      log.warn({ error: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'mirroring the CBO Task failed; will poll again');
    }
  }
  await processOnce(deps.db, { queue: CBO_POLL_QUEUE, outboxId }, (tx) => schedulePoll({ q: tx }, task.id!, job.seq + 1, deps.pollSeconds));
}

/** The 'cbo-poll' queue module. */
export function cboPollQueue(deps: CboDeps): QueueModule<CboPollJob> {
  return {
    name: CBO_POLL_QUEUE,
    attempts: 20,
    backoffMs: 1_000,
    concurrency: 4,
    async process({ outboxId, payload }) {
      if (!payload?.taskId) throw new UnrecoverableError('Not a cbo-poll job');
      assertDue(payload.notBefore, referralNow());
      await poll(deps, outboxId, payload);
    },
  };
}
