// A CBO with a caseload above the explicit patient list (LONG_PATIENT_LIST in disclosure-guard.ts):
// its Task searches narrow by ownership, and the Tasks of patients it may not see are still withheld,
// with full pages and exact one-page totals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type HttpResult, type TestServer } from '../helpers/test-server.ts';
import { consent, patient, permitFor, task } from './fixture.ts';

let server: TestServer;
let cbo: string;
const CASELOAD = 120;

beforeAll(async () => {
  server = await startTestServer();
  const resources: { resourceType: string; id: string }[] = [];
  for (let i = 0; i < CASELOAD; i++) {
    resources.push(patient(`lc-${i}`), task(`lt-${i}`, `lc-${i}`, 'Organization/cbo-big', 'Organization/hub'));
    // Every patient but the first consented to the CBO.
    if (i > 0) resources.push(consent(`lcc-${i}`, `lc-${i}`, permitFor('Organization/cbo-big')));
  }
  const entry = resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } }));
  const res = await server.request('POST', '/fhir', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
  expect(res.status).toBe(200);
  cbo = await server.tokenFor('cbo', 'Organization/cbo-big', ['COC']);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('a large caseload', () => {
  it('pages through exactly the Tasks of consented patients', async () => {
    const seen: string[] = [];
    let path: string | undefined = '/fhir/Task?owner=Organization/cbo-big&_count=50';
    while (path) {
      const page: HttpResult = await server.request('GET', path, { token: cbo });
      const ids = (page.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id);
      const next: { url: string } | undefined = page.body.link.find((l: { relation: string }) => l.relation === 'next');
      if (next) expect(ids).toHaveLength(50); // full pages: nothing hints at the withheld row
      seen.push(...ids);
      path = next?.url.replace(server.fhir, '/fhir');
    }
    expect(seen).toHaveLength(CASELOAD - 1);
    expect(seen).not.toContain('lt-0');
  });

  it('a one-page result carries the exact visible total', async () => {
    const res = await server.request('GET', '/fhir/Task?owner=Organization/cbo-big&_count=500', { token: cbo });
    expect(res.body.total).toBe(CASELOAD - 1);
    expect((await server.request('GET', '/fhir/Task/lt-0', { token: cbo })).status).toBe(404);
  });
});
