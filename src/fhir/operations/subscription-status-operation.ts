// $status (Subscriptions R5 Backport, OperationDefinition backport-subscription-status) at
// `Subscription/[id]/$status` and `Subscription/$status?id=…&status=…`: a searchset Bundle of
// SubscriptionStatus Parameters (type query-status) with the server-managed status and
// events-since-subscription-start (notifications delivered; withheld events are not counted).
// A partner sees the subscriptions of its own organization only; others look like unknown ids.
//
// Registering it also switches subscription checks on: the write hook (src/subscriptions/) reads
// the settings it carries (whether http endpoints are allowed) from the registry.
import type { Bundle } from 'fhir/r4';
import { isPartner } from '../../policy/actor.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { readState, readStates, type SubscriptionState } from '../../subscriptions/subscription-store.ts';
import { statusParameters } from '../../subscriptions/notification.ts';
import { notFound } from '../errors.ts';
import type { Scope } from '../scope.ts';
import type { Operation } from './operation.ts';
import type { OperationRegistry } from './operation-registry.ts';

export interface SubscriptionSettings {
  /** ALLOW_HTTP_ENDPOINTS: notification endpoints may be http (local use and tests). */
  allowHttpEndpoints: boolean;
}

export interface SubscriptionStatusOperation extends Operation {
  settings: SubscriptionSettings;
}

const isStatusOperation = (operation: Operation): operation is SubscriptionStatusOperation =>
  operation.name === 'status' && (operation.types ?? []).includes('Subscription') && 'settings' in operation;

/** The subscription settings registered with $status (https only when it is not registered). */
export function subscriptionSettings(operations: OperationRegistry): SubscriptionSettings {
  return operations.all().find(isStatusOperation)?.settings ?? { allowHttpEndpoints: false };
}

/** Whether this caller may see the subscription: hub roles all of them, a partner its organization's. */
function visibleTo(scope: Scope, state: SubscriptionState): boolean {
  return !isPartner(scope.ctx.actor) || state.subscriber.organization === scope.ctx.actor.organization;
}

function statusBundle(scope: Scope, states: SubscriptionState[]): Bundle {
  const entry = states.map((state) => {
    const parameters = statusParameters({
      fhirBase: scope.ctx.fhirBase,
      subscriptionId: state.id,
      topic: state.topic,
      status: state.status,
      type: 'query-status',
      eventsSinceSubscriptionStart: state.eventsDelivered,
    });
    return { fullUrl: `urn:uuid:${parameters.id}`, resource: parameters, search: { mode: 'match' as const } };
  });
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
}

export function subscriptionStatusOperation(settings: SubscriptionSettings): SubscriptionStatusOperation {
  return {
    name: 'status',
    levels: ['type', 'instance'],
    types: ['Subscription'],
    affectsState: false,
    settings,
    async run({ scope, input, id }) {
      if (id) {
        const current = await readCurrent(scope.q, 'Subscription', id);
        const state = current && !current.deleted ? await readState(scope.q, id) : undefined;
        if (!state || !visibleTo(scope, state)) throw notFound(`Subscription/${id} is not known`);
        return { status: 200, resource: statusBundle(scope, [state]) };
      }
      const values = (name: string) => {
        const found = input.all(name).flatMap((parameter) => String(parameter.valueId ?? parameter.valueString ?? parameter.valueCode ?? '').split(','));
        const list = found.map((value) => value.trim()).filter(Boolean);
        return list.length ? list : undefined;
      };
      const states = await readStates(scope.q, values('id'), values('status'));
      const live = await scope.q.query<{ id: string }>(
        `SELECT id FROM resource WHERE resource_type = 'Subscription' AND NOT deleted AND id = ANY($1::text[])`,
        [states.map((state) => state.id)],
      );
      const existing = new Set(live.map((row) => row.id));
      return { status: 200, resource: statusBundle(scope, states.filter((state) => existing.has(state.id) && visibleTo(scope, state))) };
    },
  };
}
