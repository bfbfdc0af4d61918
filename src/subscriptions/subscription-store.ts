// What the server keeps about each Subscription besides the resource (migration 010-subscriptions):
//   subscription_state  topic, parsed filters, the server-managed status and generation (bumped by
//                       each activation), the subscriber (the client that created it: role,
//                       organization, purpose of use, scopes), event counters and the delivery lease;
//   subscription_event  each matched event, numbered `seq` in commit order per subscription, until
//                       it is delivered (then it gets its event number) or withheld by the policy.
// Event numbers count delivered notifications only: a withheld event leaves no gap a subscriber could see.
import type { Actor } from '../policy/actor.ts';
import type { Queryable } from '../store/database.ts';
import type { Filter } from '../fhir/search/search-request.ts';

export type SubscriptionStatus = 'requested' | 'active' | 'error' | 'off';

export interface SubscriptionState {
  id: string;
  topic: string;
  resourceType: string;
  filters: Filter[];
  status: SubscriptionStatus;
  generation: number;
  subscriber: Actor;
  nextSeq: number;
  eventsDelivered: number;
  endAt: string | null;
  /** Consecutive failed deliveries; while `retryDue` is false the next try waits. */
  failures: number;
  retryDue: boolean;
}

interface StateRow {
  id: string;
  topic: string;
  resource_type: string;
  filters: Filter[] | string;
  status: SubscriptionStatus;
  generation: number | string;
  owner_client_id: string;
  owner_role: string;
  owner_organization: string;
  owner_purpose: string | null;
  owner_scopes: string[];
  next_seq: number | string;
  events_delivered: number | string;
  end_at: string | null;
  failures: number | string;
  retry_due: boolean;
}

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

function toState(row: StateRow): SubscriptionState {
  return {
    id: row.id,
    topic: row.topic,
    resourceType: row.resource_type,
    filters: json(row.filters),
    status: row.status,
    generation: Number(row.generation),
    subscriber: {
      clientId: row.owner_client_id,
      role: row.owner_role as Actor['role'],
      organization: row.owner_organization,
      purposeOfUse: row.owner_purpose ?? undefined,
      scopes: row.owner_scopes ?? [],
    },
    nextSeq: Number(row.next_seq),
    eventsDelivered: Number(row.events_delivered),
    endAt: row.end_at,
    failures: Number(row.failures),
    retryDue: row.retry_due,
  };
}

export async function readState(q: Queryable, id: string, lock = false): Promise<SubscriptionState | undefined> {
  const rows = await q.query<StateRow>(`SELECT *, (retry_after IS NULL OR retry_after <= now()) AS retry_due FROM subscription_state WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? toState(rows[0]) : undefined;
}

export async function readStates(q: Queryable, ids: string[] | undefined, statuses: string[] | undefined): Promise<SubscriptionState[]> {
  const rows = await q.query<StateRow>(
    `SELECT *, (retry_after IS NULL OR retry_after <= now()) AS retry_due FROM subscription_state WHERE ($1::text[] IS NULL OR id = ANY($1::text[])) AND ($2::text[] IS NULL OR status = ANY($2::text[])) ORDER BY id`,
    [ids ?? null, statuses ?? null],
  );
  return rows.map(toState);
}

/** Active subscriptions on `resourceType`, in id order: recordEvent then locks their rows in that order in every writer. */
export async function activeOn(q: Queryable, resourceType: string): Promise<SubscriptionState[]> {
  const rows = await q.query<StateRow>(
    `SELECT *, (retry_after IS NULL OR retry_after <= now()) AS retry_due FROM subscription_state WHERE resource_type = $1 AND status = 'active' AND (end_at IS NULL OR end_at > now()) ORDER BY id`,
    [resourceType],
  );
  return rows.map(toState);
}

export interface StateWrite {
  id: string;
  topic: string;
  resourceType: string;
  filters: Filter[];
  status: SubscriptionStatus;
  subscriber: Actor;
  endAt: string | null;
  /** A new activation: the generation is bumped (stale handshakes and heartbeats then do nothing). */
  reactivate: boolean;
}

/** Creates or updates the state; returns the generation now in force. */
export async function writeState(q: Queryable, write: StateWrite): Promise<number> {
  const { subscriber } = write;
  const rows = await q.query<{ generation: number | string }>(
    `INSERT INTO subscription_state (id, topic, resource_type, filters, status, owner_client_id, owner_role, owner_organization, owner_purpose, owner_scopes, end_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::text[], $11::timestamptz)
     ON CONFLICT (id) DO UPDATE SET topic = EXCLUDED.topic, resource_type = EXCLUDED.resource_type, filters = EXCLUDED.filters,
       status = EXCLUDED.status, owner_client_id = EXCLUDED.owner_client_id, owner_role = EXCLUDED.owner_role,
       owner_organization = EXCLUDED.owner_organization, owner_purpose = EXCLUDED.owner_purpose, owner_scopes = EXCLUDED.owner_scopes,
       end_at = EXCLUDED.end_at, updated_at = now(),
       generation = subscription_state.generation + CASE WHEN $12 THEN 1 ELSE 0 END,
       failures = CASE WHEN $12 THEN 0 ELSE subscription_state.failures END,
       retry_after = CASE WHEN $12 THEN NULL ELSE subscription_state.retry_after END
     RETURNING generation`,
    [
      write.id, write.topic, write.resourceType, JSON.stringify(write.filters), write.status,
      subscriber.clientId, subscriber.role, subscriber.organization, subscriber.purposeOfUse ?? null, subscriber.scopes,
      write.endAt, write.reactivate,
    ],
  );
  return Number(rows[0].generation);
}

/** Sets the server-managed status; an activation starts without failures. */
export async function setStatus(q: Queryable, id: string, status: SubscriptionStatus): Promise<void> {
  const fresh = status === 'active' || status === 'requested';
  await q.query(
    `UPDATE subscription_state SET status = $2, updated_at = now(),
       failures = CASE WHEN $3 THEN 0 ELSE failures END, retry_after = CASE WHEN $3 THEN NULL ELSE retry_after END
     WHERE id = $1`,
    [id, status, fresh],
  );
}

/**
 * Records a failed delivery: the next try waits 1 s, 2 s, 4 s… (at most `maxSeconds`) whichever
 * job makes it, so a failing endpoint is not hammered by every pending event. Returns the count of
 * consecutive failures.
 */
export async function recordFailure(q: Queryable, id: string, maxSeconds: number): Promise<number> {
  const rows = await q.query<{ failures: number | string }>(
    `UPDATE subscription_state SET failures = failures + 1,
       retry_after = now() + make_interval(secs => least(power(2, failures)::double precision, $2::double precision))
     WHERE id = $1 RETURNING failures`,
    [id, maxSeconds],
  );
  return Number(rows[0]?.failures ?? 0);
}

/** Takes the next event seq of a subscription (locking its row until the writing transaction ends). */
export async function recordEvent(
  q: Queryable,
  subscriptionId: string,
  event: { resourceType: string; id: string; versionId: number; interaction: string; occurredAt: string },
): Promise<number> {
  const rows = await q.query<{ seq: number | string }>(
    `UPDATE subscription_state SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1 AS seq`,
    [subscriptionId],
  );
  const seq = Number(rows[0].seq);
  await q.query(
    `INSERT INTO subscription_event (subscription_id, seq, resource_type, resource_id, version_id, interaction, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)`,
    [subscriptionId, seq, event.resourceType, event.id, event.versionId, event.interaction, event.occurredAt],
  );
  return seq;
}

export interface PendingEvent {
  subscriptionId: string;
  seq: number;
  resourceType: string;
  resourceId: string;
  versionId: number;
  interaction: 'create' | 'update' | 'delete';
  occurredAt: string;
}

interface EventRow {
  subscription_id: string;
  seq: number | string;
  resource_type: string;
  resource_id: string;
  version_id: number | string;
  interaction: PendingEvent['interaction'];
  occurred_at: string;
}

export async function headEvent(q: Queryable, subscriptionId: string): Promise<PendingEvent | undefined> {
  const rows = await q.query<EventRow>(
    `SELECT * FROM subscription_event WHERE subscription_id = $1 AND state = 'pending' ORDER BY seq LIMIT 1`,
    [subscriptionId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    subscriptionId: row.subscription_id,
    seq: Number(row.seq),
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    versionId: Number(row.version_id),
    interaction: row.interaction,
    occurredAt: row.occurred_at,
  };
}

export async function hasPending(q: Queryable, subscriptionId: string): Promise<boolean> {
  const rows = await q.query(`SELECT 1 FROM subscription_event WHERE subscription_id = $1 AND state = 'pending' LIMIT 1`, [subscriptionId]);
  return rows.length > 0;
}

/** Whether event `seq` no longer waits (delivered or withheld). */
export async function isSettled(q: Queryable, subscriptionId: string, seq: number): Promise<boolean> {
  const rows = await q.query<{ state: string }>(`SELECT state FROM subscription_event WHERE subscription_id = $1 AND seq = $2`, [subscriptionId, seq]);
  return rows.length === 0 || rows[0].state !== 'pending';
}

/**
 * Takes (or renews) the delivery lease of a subscription for `token`: one worker at a time delivers
 * its events, so they leave in order. Returns false while another live lease holds it.
 */
export async function takeLease(q: Queryable, id: string, token: string, seconds: number): Promise<boolean> {
  const rows = await q.query(
    `UPDATE subscription_state SET lease_token = $2, lease_until = now() + make_interval(secs => $3)
     WHERE id = $1 AND (lease_token IS NULL OR lease_token = $2 OR lease_until < now()) RETURNING id`,
    [id, token, seconds],
  );
  return rows.length > 0;
}

export async function releaseLease(q: Queryable, id: string, token: string): Promise<void> {
  await q.query(`UPDATE subscription_state SET lease_token = NULL, lease_until = NULL WHERE id = $1 AND lease_token = $2`, [id, token]);
}

/** Marks event `seq` delivered as event number `eventNumber`; false when the lease was lost meanwhile. */
export async function markDelivered(q: Queryable, id: string, seq: number, eventNumber: number, token: string): Promise<boolean> {
  const rows = await q.query(
    `UPDATE subscription_state SET events_delivered = $2, last_sent_at = now(), failures = 0, retry_after = NULL
     WHERE id = $1 AND lease_token = $3 AND events_delivered = $2 - 1 RETURNING id`,
    [id, eventNumber, token],
  );
  if (rows.length === 0) return false;
  await q.query(
    `UPDATE subscription_event SET state = 'delivered', event_number = $3, settled_at = now() WHERE subscription_id = $1 AND seq = $2 AND state = 'pending'`,
    [id, seq, eventNumber],
  );
  return true;
}

export async function markWithheld(q: Queryable, id: string, seq: number): Promise<void> {
  await q.query(`UPDATE subscription_event SET state = 'withheld', settled_at = now() WHERE subscription_id = $1 AND seq = $2 AND state = 'pending'`, [id, seq]);
}

export async function markSent(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE subscription_state SET last_sent_at = now() WHERE id = $1`, [id]);
}

/** Seconds since anything was last sent to the subscriber (undefined: never). */
export async function secondsSinceLastSent(q: Queryable, id: string): Promise<number | undefined> {
  const rows = await q.query<{ seconds: number | string | null }>(
    `SELECT EXTRACT(EPOCH FROM (now() - last_sent_at)) AS seconds FROM subscription_state WHERE id = $1`,
    [id],
  );
  const seconds = rows[0]?.seconds;
  return seconds === null || seconds === undefined ? undefined : Number(seconds);
}

/** The Subscriptions whose subscriber belongs to `organization`: a partner sees only its own (the policy's ownership rule). */
export async function subscriptionsOwnedBy(q: Queryable, organization: string): Promise<Set<string>> {
  const rows = await q.query<{ id: string }>('SELECT id FROM subscription_state WHERE owner_organization = $1', [organization]);
  return new Set(rows.map((row) => row.id));
}
