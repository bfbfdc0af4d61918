// The terminology operations over HTTP, as a partner calls them: GET with query parameters and
// POST with Parameters, answers checked against hand-read entries of the shipped files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
let cbo: string;
const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const CATEGORY_VS = 'http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetSDOHCategory';
const TEMP_CODES = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const parameter = (body: any, name: string) => body.parameter.find((p: { name: string }) => p.name === name);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const property = (body: any, code: string) => body.parameter.filter((p: any) => p.name === 'property' && p.part[0].valueCode === code).map((p: any) => p.part[1]);

beforeAll(async () => {
  server = await startTestServer();
  cbo = await server.tokenFor('cbo', 'Organization/cbo-a', ['COC']);
});
afterAll(async () => {
  await server?.close();
});

describe('CodeSystem/$lookup', () => {
  it('says Z59.0 is a header (not billable) with its three billable children', async () => {
    const res = await server.request('GET', `/fhir/CodeSystem/$lookup?system=${encodeURIComponent(ICD)}&code=Z59.0`);
    expect(res.status).toBe(200);
    expect(parameter(res.body, 'display').valueString).toBe('Homelessness');
    expect(property(res.body, 'billable')).toEqual([{ name: 'value', valueBoolean: false }]);
    expect(property(res.body, 'child').map((p: { valueCode: string }) => p.valueCode)).toEqual(['Z59.00', 'Z59.01', 'Z59.02']);
  });

  it('answers a POSTed Parameters the same way, for any partner', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: { system: ICD, code: 'Z59.41' } }] };
    const res = await server.request('POST', '/fhir/CodeSystem/$lookup', { body, token: cbo });
    expect(res.status).toBe(200);
    expect(property(res.body, 'billable')).toEqual([{ name: 'value', valueBoolean: true }]);
  });

  it('an unknown code is a 404 OperationOutcome', async () => {
    const res = await server.request('GET', `/fhir/CodeSystem/$lookup?system=${encodeURIComponent(ICD)}&code=Z99.999`);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });

  it('a missing system is a 400 naming the parameter', async () => {
    const res = await server.request('GET', '/fhir/CodeSystem/$lookup?code=Z59.0');
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Parameters.parameter[system]']);
  });
});

describe('ValueSet/$expand and $validate-code', () => {
  it('expands with a filter', async () => {
    const res = await server.request('GET', `/fhir/ValueSet/$expand?url=${encodeURIComponent(CATEGORY_VS)}&filter=food`);
    expect(res.body.expansion.total).toBe(1);
    expect(res.body.expansion.contains).toEqual([{ system: TEMP_CODES, code: 'food-insecurity', display: 'Food Insecurity' }]);
  });

  it('pages with count and offset over the full expansion', async () => {
    const all = await server.request('GET', `/fhir/ValueSet/$expand?url=${encodeURIComponent(CATEGORY_VS)}`);
    const page = await server.request('GET', `/fhir/ValueSet/$expand?url=${encodeURIComponent(CATEGORY_VS)}&count=2&offset=3`);
    expect(page.body.expansion.total).toBe(all.body.expansion.total);
    expect(page.body.expansion.offset).toBe(3);
    expect(page.body.expansion.contains).toEqual(all.body.expansion.contains.slice(3, 5));
  });

  it('validates a code in and out of the value set', async () => {
    const inSet = await server.request('GET', `/fhir/ValueSet/$validate-code?url=${encodeURIComponent(CATEGORY_VS)}&system=${encodeURIComponent(TEMP_CODES)}&code=housing-instability`);
    expect(parameter(inSet.body, 'result').valueBoolean).toBe(true);
    const outside = await server.request('GET', `/fhir/ValueSet/$validate-code?url=${encodeURIComponent(CATEGORY_VS)}&system=${encodeURIComponent(TEMP_CODES)}&code=not-a-domain`);
    expect(parameter(outside.body, 'result').valueBoolean).toBe(false);
  });

  it('a bad count is a 400', async () => {
    const res = await server.request('GET', `/fhir/ValueSet/$expand?url=${encodeURIComponent(CATEGORY_VS)}&count=-1`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Parameters.parameter[count]']);
  });
});

describe('ConceptMap/$translate', () => {
  it('maps the Z59.86 header to its three billable children (narrower)', async () => {
    const res = await server.request('GET', `/fhir/ConceptMap/$translate?system=${encodeURIComponent(ICD)}&code=Z59.86`);
    expect(parameter(res.body, 'result').valueBoolean).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const matches = res.body.parameter.filter((p: any) => p.name === 'match').map((p: any) => [p.part[0].valueCode, p.part[1].valueCoding.code]);
    expect(matches).toEqual([['narrower', 'Z59.861'], ['narrower', 'Z59.868'], ['narrower', 'Z59.869']]);
  });
});

describe('operation routing', () => {
  it('the capability statement lists the operations on their types', async () => {
    const res = await server.request('GET', '/fhir/metadata', { token: null });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const ops = (type: string) => res.body.rest[0].resource.find((r: any) => r.type === type).operation?.map((o: any) => o.name) ?? [];
    expect(ops('CodeSystem')).toEqual(['lookup', 'validate']);
    expect(ops('ConceptMap')).toEqual(['translate', 'validate']);
    expect(ops('QuestionnaireResponse')).toEqual(['extract', 'validate']);
    expect(ops('Observation')).toEqual(['sdoh-findings', 'validate']);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const definition = (type: string, name: string) => res.body.rest[0].resource.find((r: any) => r.type === type).operation.find((o: any) => o.name === name).definition;
    expect(definition('Group', 'export')).toBe('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export');
    expect(definition('Measure', 'evaluate-measure')).toBe('http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure');
    // System-level operations are listed on rest itself, as the spec puts them.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const system = res.body.rest[0].operation.map((o: any) => o.name).sort();
    expect(system).toEqual(['export', 'report', 'x12-inbound']);
    expect(res.body.instantiates).toEqual(['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
  });

  it('an operation the server does not offer is a 404 saying where', async () => {
    const res = await server.request('GET', '/fhir/Patient/$everything');
    expect(res.status).toBe(404);
    expect(res.body.issue[0].diagnostics).toBe('Operation $everything is not supported on Patient');
  });

  it('PUT on an operation is a 405 with Allow', async () => {
    const res = await server.request('PUT', '/fhir/ValueSet/$expand', { body: { resourceType: 'Parameters' } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });
});
