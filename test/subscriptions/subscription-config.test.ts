// The subscription checks and the in-memory filter evaluation, without a server: https-only
// endpoints by default, and filters meaning what the same search means.
import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { SearchParameterRegistry } from '../../src/fhir/search/search-parameter-registry.ts';
import { readSubscription } from '../../src/subscriptions/subscription-config.ts';
import { filterMatcher, topicOf, triggers } from '../../src/subscriptions/topics.ts';
import { SR_TOPIC, subscription, TASK_TOPIC, type Json } from './subscription-helpers.ts';

const registry = new SearchParameterRegistry();
const fhirBase = 'https://hub.example.org/fhir';
const read = (body: Json, allowHttpEndpoints = false) => readSubscription(body, { registry, fhirBase, allowHttpEndpoints });

const task: Json = {
  resourceType: 'Task', id: 't1', status: 'requested', intent: 'order', meta: { lastUpdated: '2026-05-01T12:00:00.000Z' },
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
  requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/cbo-a' }, for: { reference: 'Patient/p1' },
};

const matches = (filters: string, resource: Resource = task) => {
  const parsed = read(subscription({ endpoint: 'https://cbo.example.org/hook', filters: [filters] }));
  expect(parsed.issues).toEqual([]);
  return filterMatcher(registry, resource)(parsed.criteria!.filters);
};

describe('subscription checks', () => {
  it('allows https endpoints only unless http is allowed', () => {
    const http = subscription({ endpoint: 'http://cbo.example.org/hook' });
    expect(read(http).issues).toEqual([expect.objectContaining({ expression: 'Subscription.channel.endpoint', diagnostics: expect.stringMatching(/ALLOW_HTTP_ENDPOINTS/) })]);
    expect(read(http, true).issues).toEqual([]);
    expect(read(subscription({ endpoint: 'https://cbo.example.org/hook' })).issues).toEqual([]);
  });

  it('reads the channel: payload content, headers, heartbeat and timeout', () => {
    const body = subscription({ endpoint: 'https://cbo.example.org/hook', content: 'full-resource', headers: ['Authorization: Bearer x'], heartbeatSeconds: 60 });
    const { channel } = read(body);
    expect(channel).toEqual({
      endpoint: 'https://cbo.example.org/hook', headers: [['Authorization', 'Bearer x']], mimeType: 'application/fhir+json',
      content: 'full-resource', heartbeatSeconds: 60, timeoutSeconds: 10,
    });
    const reserved = read(subscription({ endpoint: 'https://cbo.example.org/hook', headers: ['Content-Type: text/plain'] }));
    expect(reserved.issues[0].expression).toBe('Subscription.channel.header[0]');
  });

  it('knows the IG topics, including the ServiceRequest canonical as the IG spells it', () => {
    expect(topicOf(TASK_TOPIC)?.resourceType).toBe('Task');
    expect(topicOf(`${TASK_TOPIC}|3.0.0`)?.resourceType).toBe('Task');
    expect(topicOf(SR_TOPIC)?.resourceType).toBe('ServiceRequest');
    expect(topicOf('http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/ServiceRequest')?.url).toBe(SR_TOPIC);
    expect(topicOf('http://hl7.org/SubscriptionTopic/admission')).toBeUndefined();
  });

  it('triggers as the topics say', () => {
    const taskTopic = topicOf(TASK_TOPIC)!;
    const srTopic = topicOf(SR_TOPIC)!;
    expect(triggers(taskTopic, 'create', task)).toBe(true);
    expect(triggers(taskTopic, 'update', { ...task, status: 'draft' })).toBe(false);
    expect(triggers(taskTopic, 'update', { ...task, intent: 'proposal' })).toBe(false);
    expect(triggers(taskTopic, 'delete', { ...task, status: 'draft' })).toBe(true);
    const sr = { resourceType: 'ServiceRequest', id: 'sr', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' } } as Resource;
    expect(triggers(srTopic, 'create', sr)).toBe(false);
    expect(triggers(srTopic, 'update', sr)).toBe(true);
    expect(triggers(srTopic, 'update', task)).toBe(false);
  });
});

describe('filters', () => {
  it('match references by type/id, id, or absolute URL on this server', () => {
    expect(matches('Task?owner=Organization/cbo-a')).toBe(true);
    expect(matches('Task?owner=Organization/cbo-b')).toBe(false);
    expect(matches('owner=cbo-a')).toBe(true);
    expect(matches(`Task?owner=${fhirBase}/Organization/cbo-a`)).toBe(true);
    expect(matches('Task?owner=Organization/cbo-b,Organization/cbo-a&requester=Organization/ehr')).toBe(true);
    expect(matches('Task?owner=Organization/cbo-a&requester=Organization/other')).toBe(false);
  });

  it('match tokens with and without system, and :not', () => {
    expect(matches('Task?status=requested')).toBe(true);
    expect(matches('Task?status=accepted,requested')).toBe(true);
    expect(matches('Task?status:not=requested')).toBe(false);
    expect(matches('Task?code=http://hl7.org/fhir/CodeSystem/task-code|fulfill')).toBe(true);
    expect(matches('Task?code=http://example.org|fulfill')).toBe(false);
    expect(matches('Task?code:not=approve')).toBe(true);
  });

  it('match _lastUpdated and _id like the search does', () => {
    expect(matches('Task?_lastUpdated=gt2026-04-30')).toBe(true);
    expect(matches('Task?_lastUpdated=lt2026-05-01')).toBe(false);
    expect(matches('Task?_lastUpdated=eq2026-05-01')).toBe(true);
    const parsed = read(subscription({ topic: SR_TOPIC, endpoint: 'https://cbo.example.org/hook', filters: ['ServiceRequest?_id=sr-1,sr-2'] }));
    const sr = { resourceType: 'ServiceRequest', id: 'sr-2', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' } } as Resource;
    expect(filterMatcher(registry, sr)(parsed.criteria!.filters)).toBe(true);
    expect(filterMatcher(registry, { ...sr, id: 'sr-3' } as Resource)(parsed.criteria!.filters)).toBe(false);
  });

  it('are refused when malformed', () => {
    const bad = read(subscription({ endpoint: 'https://cbo.example.org/hook', filters: ['Task?_lastUpdated=yesterday'] }));
    expect(bad.issues[0]).toMatchObject({ code: 'invalid', expression: 'Subscription.criteria.extension' });
    expect(bad.issues[0].diagnostics).toMatch(/_lastUpdated/);
  });
});
