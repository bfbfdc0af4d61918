// The two operations run through the FHIR engine on a real database (PGlite, or PostgreSQL with TEST_DB):
// conditional creates in the request's transaction, nothing new on a second run, review mode, bad input.
// The engine is assembled here with the operations registered, as server.ts does, so these tests do not
// depend on the server's wiring (sdoh-operations.test.ts checks that over HTTP).
import type { Bundle, Condition, Observation, OperationOutcome, QuestionnaireResponse } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirEngine } from '../../src/fhir/engine.ts';
import { FhirError } from '../../src/fhir/errors.ts';
import { OperationRegistry } from '../../src/fhir/operations/operation-registry.ts';
import { sdohFindingsOperations } from '../../src/fhir/operations/sdoh-findings-operations.ts';
import { loadStoredSearchParameters } from '../../src/fhir/search/stored-search-parameters.ts';
import { SearchParameterRegistry } from '../../src/fhir/search/search-parameter-registry.ts';
import type { FhirRequest, FhirResponse, RequestContext } from '../../src/fhir/types.ts';
import { AuditTrail } from '../../src/policy/audit-trail.ts';
import { DisclosureProfiles } from '../../src/policy/disclosure-profile.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrations.ts';
import { ProfileValidator } from '../../src/validation/profile-validator.ts';
import { SchemaValidator } from '../../src/validation/schema-validator.ts';
import { openTestDatabase } from '../helpers/test-server.ts';
import { answerObservation, FINDING, hvs, panelObservation, prapare, terminology } from './screening-fixtures.ts';

let db: Database;
let drop: () => Promise<void>;
let engine: FhirEngine;

const ctx = (): RequestContext => ({
  requestId: 'sdoh-test',
  actor: { clientId: 'sdoh-test', role: 'hub-admin', organization: 'Organization/hub', purposeOfUse: undefined, scopes: [] },
  fhirBase: 'http://hub.test/fhir',
  audit: new AuditTrail(),
});

async function handle(method: FhirRequest['method'], path: string, body?: unknown, query = ''): Promise<FhirResponse> {
  return engine.handle({ method, path, query: new URLSearchParams(query), body }, ctx());
}

async function failure(work: Promise<unknown>): Promise<FhirError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('expected a FhirError');
}

const bundleOf = (response: FhirResponse) => response.resource as Bundle;
const outcomeOf = (bundle: Bundle) => bundle.entry?.at(-1)?.resource as OperationOutcome;
const statuses = (bundle: Bundle) => bundle.entry!.slice(0, -1).map((e) => e.response?.status);
const search = async <T>(type: string, query: string) =>
  (bundleOf(await handle('GET', type, undefined, query)).entry ?? []).map((e) => e.resource as T).filter((r) => (r as { resourceType: string }).resourceType === type);
const count = async (type: string) => (await search(type, '_count=1000')).length;

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await migrate(db);
  const searchParameters = new SearchParameterRegistry();
  await loadStoredSearchParameters(db, searchParameters);
  const operations = new OperationRegistry();
  for (const operation of sdohFindingsOperations(terminology)) operations.register(operation);
  engine = new FhirEngine(db, {
    validator: new SchemaValidator(),
    profileValidator: ProfileValidator.load(terminology),
    searchParameters,
    maxPageSize: 1000,
    disclosureProfiles: DisclosureProfiles.load(),
    operations,
    hubOrganization: 'Organization/hub',
    nudgeOutbox: () => undefined,
    writeHooks: [],
    fhirBase: 'http://hub.test/fhir',
    software: { name: 'sdoh-test', version: '0' },
    onUnexpected: () => undefined,
  });
});

afterAll(async () => {
  await db.close();
  await drop();
});

describe('QuestionnaireResponse/$extract', () => {
  const response = hvs([['88122-7', 'LA28397-0'], ['88123-5', 'LA6729-3'], ['88124-3', 'LA19952-3']], {
    id: '',
    identifier: { system: 'http://clinic.example.org/qr', value: 'hvs-0001' },
    subject: 'Patient/extract-1',
  });

  it('persists the QuestionnaireResponse, its screening responses and Condition in one transaction', async () => {
    const result = await handle('POST', 'QuestionnaireResponse/$extract', response);
    expect(result.status).toBe(200);
    const bundle = bundleOf(result);
    expect(bundle.type).toBe('transaction-response');
    expect(statuses(bundle)).toEqual(['201 Created', '201 Created', '201 Created', '201 Created', '201 Created', '201 Created']);
    expect(outcomeOf(bundle).issue[0].diagnostics).toBe('Hunger Vital Sign for Patient/extract-1: 4 screening response(s) and 1 Condition(s) found or created');

    const [qr] = await search<QuestionnaireResponse>('QuestionnaireResponse', 'identifier=http://clinic.example.org/qr|hvs-0001');
    const observations = await search<Observation>('Observation', 'subject=Patient/extract-1');
    expect(observations).toHaveLength(4);
    for (const observation of observations) expect(observation.derivedFrom).toEqual([{ reference: `QuestionnaireResponse/${qr.id}` }]);
    const [condition] = await search<Condition>('Condition', 'subject=Patient/extract-1');
    const evidence = condition.evidence?.[0].detail?.map((d) => d.reference);
    expect(evidence).toHaveLength(3);
    for (const reference of evidence!) expect(observations.map((o) => `Observation/${o.id}`)).toContain(reference);
    const panel = observations.find((o) => o.code.coding?.[0].code === '88121-9')!;
    expect(panel.hasMember?.map((m) => m.reference).sort()).toEqual([...evidence!].sort());
    expect(await search('Condition', `identifier=${FINDING}|${condition.identifier?.[0].value}`)).toHaveLength(1);
  });

  it('a second run creates nothing new: every entry is the existing resource', async () => {
    const before = { observations: await count('Observation'), conditions: await count('Condition') };
    const bundle = bundleOf(await handle('POST', 'QuestionnaireResponse/$extract', response));
    expect(statuses(bundle)).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '200 OK']);
    expect({ observations: await count('Observation'), conditions: await count('Condition') }).toEqual(before);
  });

  it('on the stored QuestionnaireResponse (instance level) it finds the same findings', async () => {
    const [qr] = await search<QuestionnaireResponse>('QuestionnaireResponse', 'identifier=http://clinic.example.org/qr|hvs-0001');
    const bundle = bundleOf(await handle('POST', `QuestionnaireResponse/${qr.id}/$extract`, undefined));
    expect(statuses(bundle)).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '200 OK']);
  });

  it('persist=false returns a collection to review and stores nothing', async () => {
    const before = await count('Observation');
    const review = hvs([['88122-7', 'LA28397-0']], { id: '', subject: 'Patient/review-1' });
    const result = await handle('POST', 'QuestionnaireResponse/$extract', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'questionnaire-response', resource: review },
        { name: 'persist', valueBoolean: false },
      ],
    });
    const bundle = bundleOf(result);
    expect(bundle.type).toBe('collection');
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual(['QuestionnaireResponse', 'Observation', 'Observation', 'Condition', 'OperationOutcome']);
    expect(bundle.entry?.slice(0, -1).every((e) => e.fullUrl?.startsWith('urn:uuid:'))).toBe(true);
    expect(await count('Observation')).toBe(before);
  });

  it('reports conflicts and declined answers in the OperationOutcome entry', async () => {
    const result = await handle('POST', 'QuestionnaireResponse/$extract', prapare([['93031-3', 'LA30122-8', 'LA30125-1'], ['93033-9', 'LA30122-8']], { id: '', subject: 'Patient/review-2' }), 'persist=false');
    const issues = outcomeOf(bundleOf(result)).issue;
    expect(issues.map((i) => [i.severity, i.code])).toEqual([
      ['information', 'informational'],
      ['warning', 'conflict'],
      ['information', 'informational'],
    ]);
    expect(issues[1].expression).toEqual(['QuestionnaireResponse.item[0].answer[0]']);
  });

  it('a QuestionnaireResponse with an id this server does not have is refused (422)', async () => {
    const error = await failure(handle('POST', 'QuestionnaireResponse/$extract', hvs([['88122-7', 'LA28397-0']], { id: 'not-here' })));
    expect(error.status).toBe(422);
    expect(error.outcome.issue[0].expression).toEqual(['QuestionnaireResponse.id']);
  });

  it('an unknown instrument is 422 with the element', async () => {
    const error = await failure(
      handle('POST', 'QuestionnaireResponse/$extract', { ...hvs([['8302-2', 'LA33-6']], { id: '' }), questionnaire: 'http://example.org/Questionnaire/x' }, 'persist=false'),
    );
    expect(error.status).toBe(422);
    expect(error.outcome.issue[0].expression).toEqual(['QuestionnaireResponse.questionnaire']);
    const named = await failure(handle('POST', 'QuestionnaireResponse/$extract', hvs([['88122-7', 'LA28397-0']]), 'persist=false&instrument=we-care'));
    expect(named.status).toBe(422);
    expect(named.outcome.issue[0].expression).toEqual(['Parameters.parameter[instrument]']);
  });

  it('bad input is 400: not a QuestionnaireResponse, no input, a persist that is not a boolean', async () => {
    expect((await failure(handle('POST', 'QuestionnaireResponse/$extract', { resourceType: 'Patient' }))).status).toBe(400);
    expect((await failure(handle('POST', 'QuestionnaireResponse/$extract', { resourceType: 'Parameters' }))).status).toBe(400);
    const persist = await failure(handle('POST', 'QuestionnaireResponse/$extract', hvs([['88122-7', 'LA28397-0']]), 'persist=maybe'));
    expect(persist.status).toBe(400);
  });

  it('changes data, so GET is refused', async () => {
    expect((await failure(handle('GET', 'QuestionnaireResponse/$extract'))).status).toBe(405);
  });
});

describe('Observation/$sdoh-findings', () => {
  it('a Bundle of new screening Observations: responses and Conditions created, then found again', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: 'urn:uuid:5b6f3c1e-0000-4000-8000-000000000001', resource: panelObservation('93025-5', ['urn:uuid:5b6f3c1e-0000-4000-8000-000000000002', 'urn:uuid:5b6f3c1e-0000-4000-8000-000000000003'], { subject: 'Patient/obs-1' }) },
        { fullUrl: 'urn:uuid:5b6f3c1e-0000-4000-8000-000000000002', resource: answerObservation('71802-3', 'LA30190-5', { subject: 'Patient/obs-1' }) },
        { fullUrl: 'urn:uuid:5b6f3c1e-0000-4000-8000-000000000003', resource: answerObservation('93030-5', 'LA30133-5', { subject: 'Patient/obs-1' }) },
        { resource: { resourceType: 'Patient', id: 'obs-1' } },
      ],
    };
    const first = bundleOf(await handle('POST', 'Observation/$sdoh-findings', bundle));
    expect(statuses(first)).toEqual(['201 Created', '201 Created', '201 Created', '201 Created', '201 Created']);
    expect(outcomeOf(first).issue[1]).toMatchObject({ code: 'not-supported', expression: ['Bundle.entry[3]'] });
    const conditions = await search<Condition>('Condition', 'subject=Patient/obs-1');
    expect(conditions.map((c) => c.code?.coding?.map((x) => x.code)).sort()).toEqual([
      ['32911000', 'Z59.00'],
      ['713458007', 'Z59.82'],
    ]);
    const second = bundleOf(await handle('POST', 'Observation/$sdoh-findings', bundle));
    expect(statuses(second)).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '200 OK']);
  });

  it('a stored panel (instance level): Conditions point to the stored members, nothing else is made', async () => {
    const created = async (observation: Observation) => (await handle('POST', 'Observation', observation)).resource as Observation;
    const food = await created(answerObservation('88122-7', 'LA28397-0', { subject: 'Patient/obs-2' }));
    const never = await created(answerObservation('88123-5', 'LA28398-8', { subject: 'Patient/obs-2' }));
    const panel = await created(panelObservation('88121-9', [`Observation/${food.id}`, `Observation/${never.id}`], { subject: 'Patient/obs-2' }));
    const bundle = bundleOf(await handle('POST', `Observation/${panel.id}/$sdoh-findings`, undefined));
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual(['Condition', 'OperationOutcome']);
    const [condition] = await search<Condition>('Condition', 'subject=Patient/obs-2');
    expect(condition.evidence?.[0].detail).toEqual([{ reference: `Observation/${food.id}` }]);
  });

  it('observation parameters with an id this server does not have are refused (422)', async () => {
    const error = await failure(
      handle('POST', 'Observation/$sdoh-findings', {
        resourceType: 'Parameters',
        parameter: [{ name: 'observation', resource: answerObservation('88122-7', 'LA28397-0', { id: 'nowhere' }) }],
      }),
    );
    expect(error.status).toBe(422);
    expect(error.outcome.issue[0].expression).toEqual(['Parameters.parameter[observation][0].resource.id']);
  });

  it('no Observation given is 400', async () => {
    expect((await failure(handle('POST', 'Observation/$sdoh-findings', { resourceType: 'Parameters', parameter: [] }))).status).toBe(400);
  });
});
