// Concurrent transaction bundles that write the same policy-relevant types in opposite orders
// (Coverage then Consent, Consent then Coverage) must all commit: on PostgreSQL the policy epochs
// they bump are row locks, and taking them in write order deadlocked one of the two (a 500).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const coverage = (patient: string) => ({
  resource: {
    resourceType: 'Coverage',
    status: 'active',
    beneficiary: { reference: `Patient/${patient}` },
    payor: [{ reference: 'Organization/plan-concurrent' }],
  },
  request: { method: 'POST', url: 'Coverage' },
});

const consent = (patient: string) => ({
  resource: {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  },
  request: { method: 'POST', url: 'Consent' },
});

it('commits every one of many concurrent bundles writing Coverage and Consent in opposite orders', async () => {
  const patients = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      const created = await server.request('POST', '/fhir/Patient', { body: { resourceType: 'Patient', name: [{ family: `Concurrent${i}` }] } });
      expect(created.status).toBe(201);
      return created.body.id as string;
    }),
  );
  // Each bundle holds several writes of each type, so the transactions overlap while holding locks.
  const bundle = (i: number) => {
    const mine = patients[i % patients.length];
    const entries = i % 2 === 0 ? [coverage(mine), consent(mine), coverage(mine), consent(mine)] : [consent(mine), coverage(mine), consent(mine), coverage(mine)];
    return { resourceType: 'Bundle', type: 'transaction', entry: entries };
  };
  const results = await Promise.all(Array.from({ length: 24 }, (_, i) => server.request('POST', '/fhir', { body: bundle(i) })));
  expect(results.map((result) => result.status)).toEqual(results.map(() => 200));
  const stored = await server.request('GET', '/fhir/Coverage?payor=Organization/plan-concurrent&_summary=count');
  expect(stored.body.total).toBe(48);
});
