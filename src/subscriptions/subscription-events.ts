// The write hook of subscriptions, called by persistVersion (src/fhir/persist.ts) for every version
// it appends, inside the writing transaction:
//   Subscription        checked (backport profile, supported topic, filters, channel, payload; the
//                       subscriber's policy for the filters), its state and subscriber recorded, and
//                       on activation a handshake queued;
//   Task, ServiceRequest each active subscription whose topic the write triggers and whose filters the
//                       version meets gets an event (numbered in commit order) and an outbox message.
// Matching runs as the system, on the version written; what is sent, if anything, is decided under
// the subscriber's actor when it is sent (subscription-queue.ts).
import type { Resource, Subscription } from 'fhir/r4';
import { FhirError, notFound } from '../fhir/errors.ts';
import { subscriptionSettings } from '../fhir/operations/subscription-status-operation.ts';
import type { Scope } from '../fhir/scope.ts';
import type { RequestContext } from '../fhir/types.ts';
import { isPartner } from '../policy/actor.ts';
import { enqueue } from '../queue/outbox.ts';
import type { Queryable } from '../store/database.ts';
import type { StoredVersion } from '../store/resource-store.ts';
import { readSubscription } from './subscription-config.ts';
import { activeOn, readState, recordEvent, setStatus, writeState, type SubscriptionStatus } from './subscription-store.ts';
import { filterMatcher, topicByUrl, triggers, type TopicInteraction } from './topics.ts';

export const SUBSCRIPTION_QUEUE = 'subscription-notify';

export type NotifyJob =
  /** Send the handshake of activation `generation`; active on 2xx, error otherwise. */
  | { kind: 'handshake'; subscriptionId: string; generation: number }
  /** Deliver pending events in order; done once event `seq` (when given) is settled. */
  | { kind: 'events'; subscriptionId: string; seq?: number }
  /** A heartbeat of activation `generation` (a delayed job, scheduled again each time). */
  | { kind: 'heartbeat'; subscriptionId: string; generation: number };

/** Request contexts of the server's own Subscription writes (status changes): not checked again. */
const serverWrites = new WeakSet<RequestContext>();
export const markServerWrite = (ctx: RequestContext) => void serverWrites.add(ctx);

export async function queueNotifyJob(q: Queryable, job: NotifyJob, dedupeKey?: string): Promise<string | undefined> {
  return enqueue(q, { queue: SUBSCRIPTION_QUEUE, payload: job, dedupeKey });
}

/**
 * After a version of `type` was written (stored undefined: a delete; previous: the version before).
 * Throws a FhirError (the write then rolls back) for a Subscription the server cannot serve.
 */
export async function recordSubscriptionEvents(
  scope: Scope,
  type: string,
  previous: StoredVersion | undefined,
  stored: Resource | undefined,
  versionId: number,
): Promise<void> {
  if (type === 'Subscription') return subscriptionWritten(scope, previous, stored as Subscription | undefined);
  if (type !== 'Task' && type !== 'ServiceRequest') return;
  const before = previous && !previous.deleted ? previous.resource : undefined;
  const interaction: TopicInteraction = !stored ? 'delete' : before ? 'update' : 'create';
  // A delete is matched (and later decided) on the last version before it.
  const subject = stored ?? before;
  if (!subject?.id) return;
  const subscriptions = await activeOn(scope.q, type);
  if (subscriptions.length === 0) return;
  const matches = filterMatcher(scope.services.searchParameters, subject);
  let queued = false;
  for (const subscription of subscriptions) {
    const topic = topicByUrl(subscription.topic);
    if (!topic || !triggers(topic, interaction, subject) || !matches(subscription.filters)) continue;
    const seq = await recordEvent(scope.q, subscription.id, {
      resourceType: type,
      id: subject.id,
      versionId: stored ? versionId : previous!.versionId,
      interaction,
      occurredAt: stored?.meta?.lastUpdated ?? new Date().toISOString(),
    });
    await queueNotifyJob(scope.q, { kind: 'events', subscriptionId: subscription.id, seq }, `subscription-event:${subscription.id}:${seq}`);
    queued = true;
  }
  if (queued) scope.afterCommit(() => scope.services.nudgeOutbox());
}

/** What decides delivery: criteria and channel (a change re-runs the handshake). */
const deliveryTerms = (subscription: Subscription | undefined) =>
  JSON.stringify([subscription?.criteria, subscription?._criteria, subscription?.channel]);

async function subscriptionWritten(scope: Scope, previous: StoredVersion | undefined, stored: Subscription | undefined): Promise<void> {
  if (serverWrites.has(scope.ctx)) return;
  const id = stored?.id ?? previous?.id;
  if (!id) return;
  const actor = scope.ctx.actor;
  const existing = await readState(scope.q, id, true);
  // A partner manages its own organization's subscriptions only; others look like unknown ids.
  if (existing && isPartner(actor) && existing.subscriber.organization !== actor.organization) throw notFound(`Subscription/${id} is not known`);
  if (!stored) {
    if (existing) {
      await setStatus(scope.q, id, 'off');
      // Nothing more goes out for a deleted subscription.
      await scope.q.query(`DELETE FROM subscription_event WHERE subscription_id = $1 AND state = 'pending'`, [id]);
    }
    return;
  }

  const { allowHttpEndpoints } = subscriptionSettings(scope.services.operations);
  const parsed = readSubscription(stored, { registry: scope.services.searchParameters, fhirBase: scope.ctx.fhirBase, allowHttpEndpoints });
  if (parsed.issues.length || !parsed.criteria || !parsed.channel) throw new FhirError(422, parsed.issues);
  const { topic, query, parsed: search } = parsed.criteria;
  // The subscriber must be allowed this search: a subscription is a standing one (no probes, only
  // the parameters its disclosure profile allows). What each notification carries is decided at send time.
  if (scope.guard.restricted) {
    scope.guard.gate('search-type', topic.resourceType);
    try {
      scope.guard.checkSearch(topic.resourceType, query, search);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      throw new FhirError(
        422,
        error.outcome.issue.map((issue) => ({
          code: 'not-supported' as const,
          diagnostics: `Filter criteria not allowed: ${issue.diagnostics ?? ''}`,
          expression: 'Subscription.criteria.extension',
        })),
      );
    }
  }

  const before = previous && !previous.deleted ? (previous.resource as Subscription) : undefined;
  const material = !existing || !before || deliveryTerms(before) !== deliveryTerms(stored);
  let status: SubscriptionStatus;
  let reactivate = false;
  if (stored.status === 'off') {
    status = 'off';
  } else if (material || stored.status === 'requested' || !existing || existing.status === 'off' || existing.status === 'error') {
    status = 'requested';
    reactivate = true;
  } else {
    status = existing.status;
  }
  // The client that creates a subscription is its subscriber; another client of the same partner
  // organization that updates it takes it over; hub roles administer it without taking it over.
  const subscriber = !existing || isPartner(actor) ? actor : existing.subscriber;
  const generation = await writeState(scope.q, {
    id,
    topic: topic.url,
    resourceType: topic.resourceType,
    filters: parsed.criteria.filters,
    status,
    subscriber: { clientId: subscriber.clientId, role: subscriber.role, organization: subscriber.organization, purposeOfUse: subscriber.purposeOfUse, scopes: subscriber.scopes },
    endAt: stored.end ?? null,
    reactivate: reactivate && existing !== undefined,
  });
  if (reactivate) {
    await queueNotifyJob(scope.q, { kind: 'handshake', subscriptionId: id, generation });
    scope.afterCommit(() => scope.services.nudgeOutbox());
  }
}
