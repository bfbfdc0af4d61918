// POST /fhir/QuestionnaireResponse/$extract and POST /fhir/Observation/$sdoh-findings over HTTP, with tokens
// and the disclosure policy. Needs the operations registered in src/server.ts (sdohFindingsOperations).
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { answerObservation, hvs } from './screening-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const statuses = (bundle: Bundle) => bundle.entry!.slice(0, -1).map((e) => e.response?.status);
const screening = (subject: string) => hvs([['88122-7', 'LA28397-0'], ['88123-5', 'LA28398-8'], ['88124-3', 'LA19952-3']], { id: '', subject });

describe('SDOH findings over HTTP', () => {
  it('the operations are registered', async () => {
    const response = await server.request('POST', '/fhir/QuestionnaireResponse/$extract?persist=false', { body: screening('Patient/http-0') });
    expect(response.status, response.text).toBe(200);
  });

  it('$extract persists the findings; a second call finds them', async () => {
    const first = await server.request<Bundle>('POST', '/fhir/QuestionnaireResponse/$extract', { body: screening('Patient/http-1') });
    expect(first.status, first.text).toBe(200);
    expect(first.body.type).toBe('transaction-response');
    expect(statuses(first.body)).toEqual(['201 Created', '201 Created', '201 Created', '201 Created', '201 Created', '201 Created']);
    expect(first.body.entry?.at(-1)?.resource?.resourceType).toBe('OperationOutcome');

    const second = await server.request<Bundle>('POST', '/fhir/QuestionnaireResponse/$extract', { body: screening('Patient/http-1') });
    expect(statuses(second.body)).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '200 OK']);

    const conditions = await server.request<Bundle>('GET', '/fhir/Condition?subject=Patient/http-1&category=sdoh');
    expect(conditions.body.entry?.map((e) => e.resource?.resourceType)).toEqual(['Condition']);
  });

  it('persist=false answers a collection with the OperationOutcome last', async () => {
    const response = await server.request<Bundle>('POST', '/fhir/QuestionnaireResponse/$extract', {
      body: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: screening('Patient/http-2') }, { name: 'persist', valueBoolean: false }] },
    });
    expect(response.body.type).toBe('collection');
    const outcome = response.body.entry?.at(-1)?.resource as OperationOutcome;
    expect(outcome.issue[0].diagnostics).toMatch(/^Hunger Vital Sign for Patient\/http-2: 4 screening response\(s\) and 1 Condition\(s\) to create$/);
    const stored = await server.request<Bundle>('GET', '/fhir/Observation?subject=Patient/http-2');
    expect(stored.body.entry ?? []).toEqual([]);
  });

  it('$sdoh-findings takes a Bundle of screening Observations', async () => {
    const response = await server.request<Bundle>('POST', '/fhir/Observation/$sdoh-findings', {
      body: {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: answerObservation('71802-3', 'LA31994-9', { subject: 'Patient/http-3' }) }, { resource: answerObservation('93030-5', 'LA33-6', { subject: 'Patient/http-3' }) }],
      },
    });
    expect(response.status, response.text).toBe(200);
    expect(statuses(response.body)).toEqual(['201 Created', '201 Created', '201 Created', '201 Created']);
  });

  it('an unknown instrument is 422 with the element', async () => {
    const response = await server.request<OperationOutcome>('POST', '/fhir/QuestionnaireResponse/$extract?instrument=we-care', { body: screening('Patient/http-4') });
    expect(response.status).toBe(422);
    expect(response.body.issue[0].expression).toEqual(['Parameters.parameter[instrument]']);
  });

  it('GET is refused: the operations change data', async () => {
    expect((await server.request('GET', '/fhir/QuestionnaireResponse/$extract')).status).toBe(405);
  });

  it('the disclosure policy applies: hub staff may run them, a CBO may not', async () => {
    const staff = await server.tokenFor('hub-staff', 'Organization/hub', ['HOPERAT']);
    const allowed = await server.request<Bundle>('POST', '/fhir/QuestionnaireResponse/$extract', { body: screening('Patient/http-5'), token: staff });
    expect(allowed.status, allowed.text).toBe(200);
    const cbo = await server.tokenFor('cbo', 'Organization/food-bank', ['COC']);
    const denied = await server.request('POST', '/fhir/QuestionnaireResponse/$extract', { body: screening('Patient/http-6'), token: cbo });
    expect(denied.status).toBe(403);
  });
});
