// A referral whose Task.focus is an absolute URL on the referral source's server (IG §3.3: the RS POSTs
// its Task to the hub, the hub GETs the ServiceRequest and what it references from the RS). The hub keeps
// copies, as a Coordination Platform must (refer-1), and routes on them like on a local referral.
//
// routeReferral finds no copy of an absolute focus → it writes a 'referral-fetch' message in its
// transaction and leaves the source Task `requested`. The 'referral-fetch' job then, outside any
// transaction, GETs with the partner client (credentials per PARTNERS_FILE; only servers listed there are
// called, since the URL comes from data) the ServiceRequest, its subject Patient and the Consents in its
// supportingInfo; in one transaction it stores the copies and routes the referral.
//
// Copies: id `rm-` + a hash of the original URL (fetching again replaces the same copy), `meta.source` =
// the original URL (search `_source`), the source's profiles and security labels kept. References between
// the fetched resources point at the copies; other relative references become absolute URLs on the source's
// server (what they meant there).
//
// The source Task's `for`, when it names the patient by an absolute URL, is pointed at the hub's copy
// (the URL kept as the reference's identifier), so the Task is about a patient known on the hub.
//
// Failures: a network error or 5xx is retried with backoff (PARTNER_ATTEMPTS, PARTNER_BACKOFF_MS); a 4xx
// (not found, refused), an unlisted server or a focus that is not a ServiceRequest is dead-lettered at once.
// Either way the source Task stays `requested` (it is not failed automatically): hub staff see the dead
// letter at /admin/queues and retry it, or end the referral themselves.
import { UnrecoverableError } from 'bullmq';
import type { Consent, Patient, Resource, ServiceRequest, Task } from 'fhir/r4';
import type { FhirEngine } from '../fhir/engine.ts';
import { update } from '../fhir/interactions/update.ts';
import type { Scope } from '../fhir/scope.ts';
import { enqueue } from '../queue/outbox.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Database, Queryable } from '../store/database.ts';
import { readCurrent } from '../store/resource-store.ts';
import { localCopy, remoteCopyId, storeCopies } from './cbo-push.ts';
import { OutboundUrlError, parseAbsoluteReference, PartnerHttpError, type PartnerClients } from './partner-client.ts';
import { routeReferral } from './referral-workflow.ts';
import type { SlaSettings } from './sla-timers.ts';
import { claimMessage } from '../queue/processed-once.ts';

export const REFERRAL_FETCH_QUEUE = 'referral-fetch';

export interface ReferralFetchJob {
  sourceId: string;
  /** The absolute focus URL, as on the source Task. */
  focus: string;
}

export const isAbsoluteUrl = (reference: string | undefined): reference is string => reference !== undefined && /^https?:\/\//i.test(reference);

/** The local id of the copy of the resource at an absolute URL (versions of one resource share it). */
export function copyIdFor(url: string): string | undefined {
  const parsed = parseAbsoluteReference(url);
  return parsed ? remoteCopyId(parsed.url) : undefined;
}

/** Asks for the remote focus of a source Task to be fetched (once per source and focus). */
export async function requestRemoteFetch(q: Queryable, sourceId: string, focus: string): Promise<void> {
  await enqueue(q, { queue: REFERRAL_FETCH_QUEUE, payload: { sourceId, focus } satisfies ReferralFetchJob, dedupeKey: `referral-fetch:Task/${sourceId}:${focus}` });
}

const permanent = (message: string) => new PartnerHttpError(message, undefined, true);

/** Fetches the ServiceRequest at `focusUrl`, its subject Patient and its Consents; returns the copies to store. */
export async function fetchRemoteReferral(partners: PartnerClients, focusUrl: string): Promise<Resource[]> {
  const focus = parseAbsoluteReference(focusUrl);
  if (!focus || focus.type !== 'ServiceRequest') throw permanent(`Task.focus ${focusUrl.slice(0, 200)} is not a ServiceRequest URL`);
  const fetched = new Map<string, Resource>();
  const read = async <T extends Resource>(url: string, type: string): Promise<T> => {
    const parsed = parseAbsoluteReference(url);
    if (!parsed || parsed.type !== type) throw permanent(`${url.slice(0, 200)} is not a ${type} URL`);
    const known = fetched.get(parsed.url);
    if (known) return known as T;
    const { resource } = await partners.client(parsed.base, { listedOnly: true }).read<T>(parsed.url);
    fetched.set(parsed.url, resource);
    return resource;
  };
  const absolute = (reference: string | undefined, base: string) => (reference && !reference.startsWith('#') ? (isAbsoluteUrl(reference) ? reference : `${base}/${reference}`) : undefined);

  const serviceRequest = await read<ServiceRequest>(focus.url, 'ServiceRequest');
  const subject = absolute(serviceRequest.subject?.reference, focus.base);
  if (!subject || parseAbsoluteReference(subject)?.type !== 'Patient') throw permanent(`${focus.url} has no Patient subject`);
  await read<Patient>(subject, 'Patient');
  for (const info of serviceRequest.supportingInfo ?? []) {
    const url = absolute(info.reference, focus.base);
    if (url && parseAbsoluteReference(url)?.type === 'Consent') await read<Consent>(url, 'Consent');
  }

  const local = new Map([...fetched.keys()].map((url) => [url, `${parseAbsoluteReference(url)!.type}/${remoteCopyId(url)}`]));
  return [...fetched].map(([url, resource]) => localCopy(resource, url, remoteCopyId(url), parseAbsoluteReference(url)!.base, undefined, local));
}

/**
 * Points the source Task's `for` at the hub's copy of the patient when it named the patient on the
 * source's server (or not at all): on the hub the Task is then about a patient the hub knows, which is
 * what lets the referral source read its Task and the outcomes, and the policy link it to the patient.
 * The original URL stays as the reference's identifier.
 */
async function linkSourcePatient(scope: Scope, sourceId: string, copies: Resource[]): Promise<void> {
  const stored = await readCurrent(scope.q, 'Task', sourceId, true);
  const source = stored && !stored.deleted ? (stored.resource as Task) : undefined;
  const serviceRequest = copies.find((copy): copy is ServiceRequest => copy.resourceType === 'ServiceRequest');
  const patient = serviceRequest?.subject?.reference;
  if (!source || !patient || (source.for?.reference && !isAbsoluteUrl(source.for.reference))) return;
  const original = copies.find((copy) => `Patient/${copy.id}` === patient)?.meta?.source;
  await update(scope, 'Task', source.id!, {
    ...source,
    for: { reference: patient, ...(original ? { identifier: { system: 'urn:ietf:rfc:3986', value: original } } : {}) },
  });
}

export interface ReferralFetchDeps {
  engine: FhirEngine;
  db: Database;
  hubOrganization: string;
  partners: PartnerClients;
  sla: SlaSettings | undefined;
  attempts: number;
  backoffMs: number;
}

/** The 'referral-fetch' queue module. */
export function referralFetchQueue(deps: ReferralFetchDeps): QueueModule<ReferralFetchJob> {
  return {
    name: REFERRAL_FETCH_QUEUE,
    attempts: deps.attempts,
    backoffMs: deps.backoffMs,
    concurrency: 4,
    async process({ outboxId, payload }) {
      const stored = await readCurrent(deps.db, 'Task', payload.sourceId);
      const source = stored && !stored.deleted ? (stored.resource as Task) : undefined;
      // Moved on meanwhile (cancelled, or routed by an earlier delivery): nothing to fetch.
      if (!source || source.status !== 'requested' || source.focus?.reference !== payload.focus) return;
      let copies: Resource[];
      try {
        copies = await fetchRemoteReferral(deps.partners, payload.focus);
      } catch (error) {
        if ((error instanceof PartnerHttpError && error.permanent) || error instanceof OutboundUrlError) {
          throw new UnrecoverableError(`${error.name}: ${error.message}`);
        }
        throw error;
      }
      await deps.engine.runAsSystem('$referral-fetch', deps.hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: REFERRAL_FETCH_QUEUE, outboxId }))) return;
        await storeCopies(scope, copies);
        await linkSourcePatient(scope, payload.sourceId, copies);
        await routeReferral({ scope, hubOrganization: deps.hubOrganization, sla: deps.sla }, payload.sourceId);
        scope.afterCommit(() => scope.services.nudgeOutbox());
      });
    },
  };
}
