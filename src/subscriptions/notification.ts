// The R4 shapes of the Subscriptions R5 Backport: the SubscriptionStatus as a Parameters resource
// (backport-subscription-status-r4) and the notification Bundle (type history, the status first;
// backport-subscription-notification-r4). Event numbers and counts are strings in R4 (no int64).
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from 'fhir/r4';
import { NOTIFICATION_PROFILE, SUBSCRIPTION_STATUS_PROFILE, type PayloadContent } from './subscription-config.ts';
import type { SubscriptionStatus } from './subscription-store.ts';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface NotificationEvent {
  eventNumber: number;
  /** When the event happened (the write's lastUpdated). */
  timestamp: string;
  /** Absolute URL of the resource the event is about; left out for `empty` payloads. */
  focus?: string;
}

export interface StatusInput {
  fhirBase: string;
  subscriptionId: string;
  topic: string;
  status: SubscriptionStatus;
  type: NotificationType;
  eventsSinceSubscriptionStart: number;
  events?: NotificationEvent[];
  error?: string;
}

export function statusParameters(input: StatusInput): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${input.fhirBase}/Subscription/${input.subscriptionId}` } },
    { name: 'topic', valueCanonical: input.topic },
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceSubscriptionStart) },
  ];
  for (const event of input.events ?? []) {
    parameter.push({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(event.eventNumber) },
        { name: 'timestamp', valueInstant: event.timestamp },
        ...(event.focus ? [{ name: 'focus', valueReference: { reference: event.focus } }] : []),
      ],
    });
  }
  if (input.error) parameter.push({ name: 'error', valueCodeableConcept: { text: input.error } });
  return { resourceType: 'Parameters', id: randomUUID(), meta: { profile: [SUBSCRIPTION_STATUS_PROFILE] }, parameter };
}

export interface FocusEntry {
  resourceType: string;
  id: string;
  interaction: 'create' | 'update' | 'delete';
  /** The resource as the subscriber may receive it (full-resource payloads only). */
  resource?: Resource;
}

const REQUEST: Record<FocusEntry['interaction'], { method: 'POST' | 'PUT' | 'DELETE'; status: string }> = {
  create: { method: 'POST', status: '201' },
  update: { method: 'PUT', status: '200' },
  delete: { method: 'DELETE', status: '204' },
};

/** A notification Bundle: the status, then (id-only and full-resource) one entry per focus resource. */
export function notificationBundle(status: StatusInput, content: PayloadContent, focus: FocusEntry[] = []): Bundle {
  const parameters = statusParameters(status);
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${parameters.id}`,
      resource: parameters,
      request: { method: 'GET', url: `${status.fhirBase}/Subscription/${status.subscriptionId}/$status` },
      response: { status: '200' },
    },
  ];
  if (content !== 'empty') {
    for (const item of focus) {
      const request = REQUEST[item.interaction];
      entry.push({
        fullUrl: `${status.fhirBase}/${item.resourceType}/${item.id}`,
        ...(content === 'full-resource' && item.resource ? { resource: item.resource } : {}),
        request: { method: request.method, url: item.interaction === 'create' ? item.resourceType : `${item.resourceType}/${item.id}` },
        response: { status: request.status },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry,
  };
}
