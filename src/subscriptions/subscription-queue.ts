// The 'subscription-notify' queue: handshakes, event notifications and heartbeats of rest-hook
// subscriptions (Subscriptions R5 Backport on R4).
//
// Events are delivered in order per subscription: one worker at a time holds the subscription's
// delivery lease and sends its pending events oldest first (a job whose event waits behind another
// worker's delivery waits, then retries with backoff). A failed POST blocks the later events and is
// retried with backoff kept per subscription (1 s, 2 s, 4 s… at most 5 min, whichever job tries), so
// a failing endpoint is not hammered by every pending event; after 10 failures in a row the
// subscription goes to error and its pending events wait for a new activation (then they go first).
//
// Each notification is decided by the policy when it is sent, under the subscriber's actor (the
// client that created the subscription): a resource it may not receive (no relationship, consent
// revoked, labels) is withheld, not sent and not counted, so event numbers have no gaps; a
// full-resource payload is trimmed to the subscriber's disclosure profile. The disclosure is audited
// (as the subscriber) before it is sent. No database transaction is open during a POST.
//
// Heartbeats are delayed queue jobs: each one (an outbox row, added to BullMQ with a delay under its
// outbox job id, so the dispatcher's own add is ignored) schedules the next, and they live in Redis
// across restarts. A heartbeat is sent only when nothing else was sent during the period.
import { randomUUID } from 'node:crypto';
import type { Resource, Subscription } from 'fhir/r4';
import type { Config } from '../config.ts';
import { DisclosureGuard } from '../fhir/disclosure-guard.ts';
import type { FhirEngine } from '../fhir/engine.ts';
import { lockCurrent, persistVersion } from '../fhir/persist.ts';
import type { Scope } from '../fhir/scope.ts';
import { parseSearch } from '../fhir/search/parse-search.ts';
import type { RequestContext } from '../fhir/types.ts';
import type { Actor } from '../policy/actor.ts';
import { AuditTrail } from '../policy/audit-trail.ts';
import { PolicyFactsCache } from '../policy/policy-facts-cache.ts';
import { jobIdOf } from '../queue/outbox.ts';
import { wasProcessed } from '../queue/processed-once.ts';
import type { QueueJob, QueueModule } from '../queue/queue-module.ts';
import type { QueueService } from '../queue/queue-service.ts';
import type { Database, Queryable } from '../store/database.ts';
import { readCurrent, readVersion, toInstant } from '../store/resource-store.ts';
import { describeFailure, postNotification } from './delivery.ts';
import { notificationBundle } from './notification.ts';
import { channelOf, type ChannelSettings } from './subscription-config.ts';
import { markServerWrite, queueNotifyJob, SUBSCRIPTION_QUEUE, type NotifyJob } from './subscription-events.ts';
import {
  hasPending,
  headEvent,
  isSettled,
  markDelivered,
  markSent,
  markWithheld,
  readState,
  recordFailure,
  releaseLease,
  secondsSinceLastSent,
  setStatus as setState,
  takeLease,
  type PendingEvent,
  type SubscriptionState,
  type SubscriptionStatus,
} from './subscription-store.ts';
import { claimMessage } from '../queue/processed-once.ts';

export interface SubscriptionQueueOptions {
  engine: FhirEngine;
  db: Database;
  config: Pick<Config, 'hubOrganization' | 'allowHttpEndpoints' | 'baseUrl' | 'port'>;
  /** The running queues (heartbeats are added to BullMQ with a delay); undefined until they start. */
  queues: () => QueueService | undefined;
}

/** Tries of one job (backoff 1 s doubling: about 68 minutes), more than a subscription's failures allow. */
const ATTEMPTS = 12;
/** Consecutive failed deliveries after which the subscription goes to error (about 8.5 minutes of retries). */
const MAX_FAILURES = 10;
const MAX_RETRY_SECONDS = 300;
/** How long a job whose event waits behind another worker's delivery polls before it retries. */
const WAIT_FOR_TURN_MS = 15_000;

class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
}
class NotYourTurn extends Error {
  override name = 'NotYourTurn';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const processOnce = (q: Queryable, outboxId: string) => claimMessage(q, { queue: SUBSCRIPTION_QUEUE, outboxId });

/** How a drain ended: another worker holds the lease, not active, nothing waits, or a retry is not due yet. */
type Drained = 'busy' | 'inactive' | 'idle' | 'backoff';

type Prepared =
  | { kind: 'send'; channel: ChannelSettings; bundle: object; eventNumber: number; ctx: RequestContext }
  | { kind: 'withheld'; ctx: RequestContext }
  | { kind: 'unusable' };

export function subscriptionQueue(options: SubscriptionQueueOptions): QueueModule<NotifyJob> {
  const { engine, db, config } = options;
  const hub = config.hubOrganization;
  const allowHttp = config.allowHttpEndpoints;
  const fhirBase = `${config.baseUrl ?? `http://localhost:${config.port}`}/fhir`;
  const facts = new PolicyFactsCache();

  const channelFor = async (q: Queryable, id: string): Promise<ChannelSettings | undefined> => {
    const current = await readCurrent(q, 'Subscription', id);
    return current && !current.deleted ? channelOf(current.resource as Subscription, allowHttp) : undefined;
  };

  /**
   * Runs `work` as the system on the subscription's state when it is still at `generation` with one
   * of `statuses`. Locks the Subscription resource, then the state, as a client's write of the
   * Subscription does (the same order: no deadlock). `setStatus` changes both.
   */
  async function onState(
    operation: string,
    id: string,
    generation: number,
    statuses: SubscriptionStatus[],
    work: (scope: Scope, state: SubscriptionState, setStatus: (status: SubscriptionStatus, error?: string) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    await engine.runAsSystem(operation, hub, async (scope) => {
      markServerWrite(scope.ctx);
      const current = await lockCurrent(scope, 'Subscription', id);
      const state = await readState(scope.q, id, true);
      if (!state || state.generation !== generation || !statuses.includes(state.status)) return;
      await work(scope, state, async (status, error) => {
        await setState(scope.q, id, status);
        // The Subscription resource follows the server-managed status (and says why in `error`).
        if (!current || current.deleted) return;
        const resource = current.resource as Subscription;
        if (resource.status === status && resource.error === error) return;
        const { error: _previous, ...rest } = resource;
        await persistVersion(scope, 'Subscription', id, { ...rest, status, ...(error ? { error } : {}) } as Resource, current);
      });
    });
  }

  const markError = (id: string, generation: number, error: string) =>
    onState('$subscription-error', id, generation, ['active'], (_scope, _state, setStatus) => setStatus('error', error));

  async function scheduleHeartbeat(q: Queryable, job: Extract<NotifyJob, { kind: 'heartbeat' }>, delayMs: number): Promise<void> {
    const queue = options.queues()?.queues.find((candidate) => candidate.name === SUBSCRIPTION_QUEUE)?.queue;
    if (!queue) throw new Error('The queues are not running: cannot schedule a heartbeat');
    const outboxId = await queueNotifyJob(q, job);
    // Added now with a delay, under the id the dispatcher will use: its add after the commit is ignored.
    if (outboxId) await queue.add(SUBSCRIPTION_QUEUE, job, { jobId: jobIdOf(outboxId), delay: Math.max(0, Math.round(delayMs)) });
  }

  async function handshake(job: QueueJob<NotifyJob & { kind: 'handshake' }>): Promise<void> {
    const { subscriptionId: id, generation } = job.payload;
    const state = await readState(db, id);
    if (!state || state.generation !== generation || state.status !== 'requested') return; // superseded
    if (await wasProcessed(db, { queue: SUBSCRIPTION_QUEUE, outboxId: job.outboxId })) return;
    const channel = await channelFor(db, id);
    let error: string | undefined = channel ? undefined : 'The subscription channel cannot be used';
    if (channel) {
      const bundle = notificationBundle(
        { fhirBase, subscriptionId: id, topic: state.topic, status: 'requested', type: 'handshake', eventsSinceSubscriptionStart: state.eventsDelivered },
        'empty',
      );
      const result = await postNotification(channel, bundle, allowHttp);
      if (!result.ok) error = `Handshake failed: ${describeFailure(result)}`;
    }
    await onState('$subscription-handshake', id, generation, ['requested'], async (scope, _state, setStatus) => {
      if (!(await processOnce(scope.q, job.outboxId))) return;
      await setStatus(error ? 'error' : 'active', error);
      if (error) return;
      await markSent(scope.q, id);
      if (channel?.heartbeatSeconds) await scheduleHeartbeat(scope.q, { kind: 'heartbeat', subscriptionId: id, generation }, channel.heartbeatSeconds * 1000);
      // Events that waited through an error or off period go out now, in order.
      if (await hasPending(scope.q, id)) {
        await queueNotifyJob(scope.q, { kind: 'events', subscriptionId: id });
        scope.afterCommit(() => options.queues()?.nudge());
      }
    });
  }

  async function heartbeat(job: QueueJob<NotifyJob & { kind: 'heartbeat' }>): Promise<void> {
    const { subscriptionId: id, generation } = job.payload;
    const state = await readState(db, id);
    // The chain ends with its activation: a new one starts its own.
    if (!state || state.generation !== generation || state.status !== 'active') return;
    if (await wasProcessed(db, { queue: SUBSCRIPTION_QUEUE, outboxId: job.outboxId })) return;
    const channel = await channelFor(db, id);
    if (!channel?.heartbeatSeconds || !(await clientActive(db, state.subscriber))) return;
    const period = channel.heartbeatSeconds;
    const idle = await secondsSinceLastSent(db, id);
    let sent = false;
    let nextInSeconds = period;
    if (idle === undefined || idle >= period - 0.5) {
      const bundle = notificationBundle(
        { fhirBase, subscriptionId: id, topic: state.topic, status: 'active', type: 'heartbeat', eventsSinceSubscriptionStart: state.eventsDelivered },
        'empty',
      );
      // A failed heartbeat is not retried: the next one is its retry.
      sent = (await postNotification(channel, bundle, allowHttp)).ok;
    } else {
      nextInSeconds = period - idle;
    }
    await db.transaction(async (tx) => {
      if (!(await processOnce(tx, job.outboxId))) return;
      if (sent) await markSent(tx, id);
      await scheduleHeartbeat(tx, { kind: 'heartbeat', subscriptionId: id, generation }, nextInSeconds * 1000);
    });
  }

  /** Whether the subscriber's client is still registered and active (a removed client gets nothing). */
  async function clientActive(q: Queryable, actor: Actor): Promise<boolean> {
    const rows = await q.query<{ active: boolean }>(`SELECT active FROM client WHERE client_id = $1`, [actor.clientId]);
    return rows[0]?.active === true;
  }

  /** Decides the head event under the subscriber's actor and builds its notification (as the system, in one transaction). */
  async function prepare(scope: Scope, state: SubscriptionState, event: PendingEvent): Promise<Prepared> {
    const channel = await channelFor(scope.q, state.id);
    if (!channel) return { kind: 'unusable' };
    const actor = state.subscriber;
    const trail = new AuditTrail();
    trail.interaction('$subscription-notification');
    const ctx: RequestContext = { requestId: `notify-${randomUUID()}`, actor, fhirBase, audit: trail };
    const services = { profiles: scope.services.disclosureProfiles, registry: scope.services.searchParameters, cache: facts };
    const guard = new DisclosureGuard(actor, services, trail, false);
    const version = await readVersion(scope.q, event.resourceType, event.resourceId, event.versionId);
    const resource = version?.resource;
    let permitted = resource !== undefined && (await clientActive(scope.q, actor)) && (await guard.permits(scope.q, 'read', resource));
    if (permitted && guard.restricted && event.interaction !== 'delete') {
      // SMART scope filters of the subscriber's token (`system/Task.rs?owner=…`) hold for notifications too.
      const parse = (type: string, query: URLSearchParams) =>
        parseSearch(type, query, scope.services.searchParameters, { maxPageSize: scope.services.maxPageSize, strict: false, fhirBase });
      permitted = await guard.withinScopes(scope.q, event.resourceType, event.resourceId, parse);
    }
    if (!permitted) return { kind: 'withheld', ctx };
    const eventNumber = state.eventsDelivered + 1;
    const focus = `${fhirBase}/${event.resourceType}/${event.resourceId}`;
    const payload = channel.content === 'full-resource' && event.interaction !== 'delete' ? guard.redact(resource!) : undefined;
    const bundle = notificationBundle(
      {
        fhirBase,
        subscriptionId: state.id,
        topic: state.topic,
        status: 'active',
        type: 'event-notification',
        eventsSinceSubscriptionStart: eventNumber,
        events: [{ eventNumber, timestamp: toInstant(event.occurredAt), focus: channel.content === 'empty' ? undefined : focus }],
      },
      channel.content,
      [{ resourceType: event.resourceType, id: event.resourceId, interaction: event.interaction, resource: payload }],
    );
    return { kind: 'send', channel, bundle, eventNumber, ctx };
  }

  /**
   * Sends the subscription's pending events in order while this worker holds its lease. Returns
   * 'busy' when another worker holds it, 'inactive' when the subscription is not active, 'idle'
   * when nothing waits, 'backoff' while a retry after a failure is not due; throws when a POST fails
   * (the job is retried with backoff).
   */
  async function drain(id: string): Promise<Drained> {
    const token = randomUUID();
    try {
      return await drainWith(id, token);
    } catch (error) {
      // Whatever went wrong, the next worker need not wait for the lease to expire.
      await db.transaction((tx) => releaseLease(tx, id, token)).catch(() => undefined);
      throw error;
    }
  }

  async function drainWith(id: string, token: string): Promise<Drained> {
    for (;;) {
      type Claim = { done: Drained } | { done?: undefined; state: SubscriptionState; head: PendingEvent };
      const claim = await db.transaction(async (tx): Promise<Claim> => {
        const state = await readState(tx, id, true);
        if (!state || state.status !== 'active') {
          if (state) await releaseLease(tx, id, token);
          return { done: 'inactive' };
        }
        const head = await headEvent(tx, id);
        if (!head) {
          await releaseLease(tx, id, token);
          return { done: 'idle' };
        }
        // After a failure the next try waits its turn, whichever job makes it.
        if (!state.retryDue) return { done: 'backoff' };
        if (!(await takeLease(tx, id, token, 30 + 2 * 60))) return { done: 'busy' };
        return { state, head };
      });
      if (claim.done) return claim.done;
      const { state, head } = claim;
      const prepared = await engine.runAsSystem('$subscription-notify', hub, (scope) => prepare(scope, state, head));
      if (prepared.kind === 'unusable') {
        await db.transaction((tx) => releaseLease(tx, id, token));
        await markError(id, state.generation, 'The subscription channel cannot be used');
        return 'inactive';
      }
      if (prepared.kind === 'withheld') {
        // Not sent and not counted; the denial is audited like any other.
        await engine.recordAudit(prepared.ctx, { method: 'POST', path: `Subscription/${id}`, query: '', status: 404 });
        await db.transaction((tx) => markWithheld(tx, id, head.seq));
        continue;
      }
      // The disclosure is audited before it leaves: if the audit cannot be written, nothing is sent.
      await engine.recordAudit(prepared.ctx, { method: 'POST', path: `Subscription/${id}`, query: '', status: 200 });
      const result = await postNotification(prepared.channel, prepared.bundle as never, allowHttp);
      if (!result.ok) {
        const failures = await db.transaction((tx) => recordFailure(tx, id, MAX_RETRY_SECONDS));
        if (failures >= MAX_FAILURES) {
          await db.transaction((tx) => releaseLease(tx, id, token));
          await markError(id, state.generation, `Notification delivery failed ${failures} times in a row: ${describeFailure(result)}`);
          return 'inactive';
        }
        throw new DeliveryFailed(`Subscription/${id}: notification not delivered (${describeFailure(result)})`);
      }
      if (!(await db.transaction((tx) => markDelivered(tx, id, head.seq, prepared.eventNumber, token)))) return 'busy';
    }
  }

  async function events(job: QueueJob<NotifyJob & { kind: 'events' }>): Promise<void> {
    const { subscriptionId: id, seq } = job.payload;
    const until = Date.now() + WAIT_FOR_TURN_MS;
    for (;;) {
      const outcome = await drain(id);
      if (outcome === 'backoff') {
        if (seq !== undefined && (await isSettled(db, id, seq))) return;
        throw new DeliveryFailed(`Subscription/${id}: the endpoint failed; waiting to retry`);
      }
      // Another worker is sending this subscription's events: it sends this one too, in its turn.
      if (outcome !== 'busy' || seq === undefined || (await isSettled(db, id, seq))) return;
      if (Date.now() > until) throw new NotYourTurn(`Subscription/${id}: event ${seq} waits behind earlier events`);
      await sleep(200);
    }
  }

  return {
    name: SUBSCRIPTION_QUEUE,
    attempts: ATTEMPTS,
    backoffMs: 1000,
    concurrency: 4,
    async process(job) {
      switch (job.payload.kind) {
        case 'handshake':
          return handshake(job as QueueJob<NotifyJob & { kind: 'handshake' }>);
        case 'heartbeat':
          return heartbeat(job as QueueJob<NotifyJob & { kind: 'heartbeat' }>);
        case 'events':
          return events(job as QueueJob<NotifyJob & { kind: 'events' }>);
      }
    },
  };
}
