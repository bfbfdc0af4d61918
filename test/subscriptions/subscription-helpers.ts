// Test helpers for subscriptions: a rest-hook receiver on loopback (per-path failures on demand)
// and backport Subscription builders.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestServer } from '../helpers/test-server.ts';

export const TASK_TOPIC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task';
export const SR_TOPIC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Servicerequest';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const FILTER_CRITERIA = `${BACKPORT}/backport-filter-criteria`;
export const PAYLOAD_CONTENT = `${BACKPORT}/backport-payload-content`;
export const HEARTBEAT_PERIOD = `${BACKPORT}/backport-heartbeat-period`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Json;
  /** The status the receiver answered. */
  status: number;
}

export interface Receiver {
  url: string;
  /** Every request, in arrival order (failed ones included). */
  requests: Received[];
  /** The next `count` requests to `path` are answered 500. */
  failNext(path: string, count: number): void;
  /** Accepted notifications to `path` (2xx), optionally of one type. */
  accepted(path: string, type?: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const failures = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      let body: Json;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const failing = failures.get(path) ?? 0;
      const status = failing > 0 ? 500 : 200;
      if (failing > 0) failures.set(path, failing - 1);
      requests.push({ path, headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (path, count) => void failures.set(path, count),
    accepted: (path, type) => requests.filter((r) => r.path === path && r.status === 200 && (!type || notificationType(r.body) === type)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The SubscriptionStatus Parameters (first entry) of a notification bundle. */
export const statusOf = (bundle: Json): Json => bundle?.entry?.[0]?.resource;
export const param = (parameters: Json, name: string): Json => parameters?.parameter?.find((p: Json) => p.name === name);
export const notificationType = (bundle: Json): string | undefined => param(statusOf(bundle), 'type')?.valueCode;
export const eventNumbers = (bundle: Json): string[] =>
  (statusOf(bundle)?.parameter ?? [])
    .filter((p: Json) => p.name === 'notification-event')
    .map((p: Json) => p.part.find((part: Json) => part.name === 'event-number').valueString);

export interface SubscriptionOptions {
  topic?: string;
  filters?: string[];
  endpoint: string;
  content?: string;
  heartbeatSeconds?: number;
  headers?: string[];
  channelType?: string;
  payload?: string;
  status?: string;
}

export function subscription(options: SubscriptionOptions): Json {
  return {
    resourceType: 'Subscription',
    meta: { profile: [`${BACKPORT}/backport-subscription`] },
    status: options.status ?? 'requested',
    reason: 'Referral updates',
    criteria: options.topic ?? TASK_TOPIC,
    ...(options.filters?.length ? { _criteria: { extension: options.filters.map((valueString) => ({ url: FILTER_CRITERIA, valueString })) } } : {}),
    channel: {
      ...(options.heartbeatSeconds ? { extension: [{ url: HEARTBEAT_PERIOD, valueUnsignedInt: options.heartbeatSeconds }] } : {}),
      type: options.channelType ?? 'rest-hook',
      endpoint: options.endpoint,
      payload: options.payload ?? 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: options.content ?? 'id-only' }] },
      ...(options.headers ? { header: options.headers } : {}),
    },
  };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates a subscription and waits until the handshake made it active; returns its id. */
export async function subscribe(server: TestServer, receiver: Receiver, options: SubscriptionOptions, token?: string): Promise<string> {
  const res = await server.request('POST', '/fhir/Subscription', { body: subscription(options), token });
  if (res.status !== 201) throw new Error(`subscription create failed: ${res.status} ${res.text}`);
  const id = res.body.id as string;
  await waitFor(`Subscription/${id} active`, async () => {
    const current = await server.request('GET', `/fhir/Subscription/${id}`);
    return current.body?.status === 'active' ? true : undefined;
  });
  return id;
}
