// The directory and the open load, read from a small network written through the FHIR API of a real
// server (so every resource passed the server's validation), then read back with loadDirectory/openLoad.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDirectory, openLoad, type CboListing } from '../../src/referrals/cbo-directory.ts';
import { emptyCursor, route, routingRequestFor } from '../../src/referrals/routing.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SDOHCC_SD = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition';
const SERVICE_TYPE = 'http://terminology.hl7.org/CodeSystem/service-type';
const SNOMED = 'http://snomed.info/sct';

type Json = Record<string, unknown>;

const organization = (id: string, extra: Json = {}): Json => ({ resourceType: 'Organization', id, active: true, name: `CBO ${id}`, ...extra });

const endpoint = (id: string, status: string, code = 'hl7-fhir-rest', address = `https://${id}.example.org/fhir/`): Json => ({
  resourceType: 'Endpoint',
  id,
  status,
  connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code },
  payloadType: [{ coding: [{ system: 'http://hl7.org/fhir/endpoint-payload-type', code: 'any' }] }],
  address,
});

/** A coverage area: an SDOHCC Location (address 1..1) whose address names the postal code, county or state. */
const area = (id: string, address: Json, status = 'active'): Json => ({
  resourceType: 'Location',
  id,
  meta: { profile: [`${SDOHCC_SD}/SDOHCC-Location`] },
  status,
  name: `Service area ${id}`,
  address,
});

const capacity = (code: string): Json => ({
  url: `${SDOHCC_SD}/SDOHCC-ExtensionHealthcareServiceCapacityStatus`,
  extension: [{ url: 'capacityStatus', valueCodeableConcept: { coding: [{ system: SDOHCC, code }] } }],
});

/** An SDOHCC HealthcareService for Referral Management (capacity profile) unless `extra` says otherwise. */
const service = (id: string, org: string, categories: string[], extra: Json = {}): Json => ({
  resourceType: 'HealthcareService',
  id,
  active: true,
  providedBy: { reference: `Organization/${org}` },
  category: [
    {
      coding: [
        { system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category', code: 'sdoh', display: 'SDOH' },
        ...categories.map((code) => ({ system: SDOHCC, code })),
      ],
    },
  ],
  type: [{ coding: [{ system: SERVICE_TYPE, code: '61', display: 'Food Relief/Food/Meals' }] }],
  name: `Service ${id}`,
  ...extra,
});

const task = (id: string, owner: string, status: string, extra: Json = {}): Json => ({
  resourceType: 'Task',
  id,
  status,
  intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
  focus: { reference: 'ServiceRequest/sr-1' },
  for: { reference: 'Patient/p-1' },
  authoredOn: '2026-01-05T10:00:00Z',
  requester: { reference: 'Organization/hub' },
  owner: { reference: owner },
  ...(['rejected', 'cancelled', 'on-hold', 'failed'].includes(status) ? { statusReason: { text: 'test' } } : {}),
  ...extra,
});

const network: Json[] = [
  { resourceType: 'Organization', id: 'hub', active: true, name: 'The hub' },
  { resourceType: 'Patient', id: 'p-1', name: [{ family: 'Example' }], address: [{ use: 'home', postalCode: '97201', district: 'Multnomah', state: 'OR' }] },
  {
    resourceType: 'ServiceRequest',
    id: 'sr-1',
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
    code: { coding: [{ system: SNOMED, code: '467771000124109' }] },
    subject: { reference: 'Patient/p-1' },
  },
  area('zip-97201', { postalCode: '97201-1234', city: 'Portland', state: 'OR' }),
  area('multnomah', { district: 'Multnomah County', state: 'OR' }),
  area('oregon', { state: 'OR' }),
  area('closed-area', { postalCode: '97201' }, 'inactive'),
  endpoint('ep-food', 'active'),
  endpoint('ep-housing-service', 'active'),
  endpoint('ep-off', 'off'),
  endpoint('ep-direct', 'active', 'direct-project', 'mailto:intake@direct.example.org'),
  // full through the Organization's Endpoint; has capacity
  organization('food-bank', { endpoint: [{ reference: 'Endpoint/ep-food' }] }),
  service('food-bank-pantry', 'food-bank', ['food-insecurity'], {
    meta: { profile: [`${SDOHCC_SD}/SDOHCC-HealthcareServiceForReferralManagement`] },
    extension: [capacity('capacity')],
    program: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/program', code: '21' }] }],
    coverageArea: [{ reference: 'Location/zip-97201' }, { reference: 'Location/closed-area' }],
  }),
  // full through the HealthcareService's own Endpoint; the Organization's is off
  organization('housing', { endpoint: [{ reference: 'Endpoint/ep-off' }] }),
  service('housing-help', 'housing', ['housing-instability', 'homelessness'], {
    extension: [capacity('waitlist')],
    endpoint: [{ reference: 'Endpoint/ep-housing-service' }],
    coverageArea: [{ reference: 'Location/oregon' }],
  }),
  // light: its only Endpoint is off / not a FHIR server; at capacity
  organization('pantry-light', { endpoint: [{ reference: 'Endpoint/ep-off' }, { reference: 'Endpoint/ep-direct' }] }),
  service('pantry-light-food', 'pantry-light', ['food-insecurity'], {
    extension: [capacity('no-capacity')],
    coverageArea: [{ reference: 'Location/multnomah' }],
  }),
  // light, no capacity extension, inactive Organization
  organization('closed-cbo', { active: false }),
  service('closed-cbo-food', 'closed-cbo', ['food-insecurity'], { coverageArea: [{ reference: 'Location/multnomah' }] }),
  // an Organization without HealthcareService, and a HealthcareService without a stored Organization
  organization('no-services'),
  service('orphan', 'missing-org', ['food-insecurity']),
  service('deleted-service', 'food-bank', ['food-insecurity']),
  // Tasks: food-bank has 3 open, pantry-light 1
  task('t-1', 'Organization/food-bank', 'requested'),
  task('t-2', 'Organization/food-bank', 'accepted'),
  task('t-3', 'Organization/food-bank', 'in-progress'),
  task('t-4', 'Organization/food-bank', 'completed', {
    output: [{ type: { coding: [{ system: SDOHCC, code: 'resulting-activity' }] }, valueReference: { reference: 'Procedure/proc-1' } }],
  }),
  task('t-5', 'Organization/food-bank', 'cancelled'),
  task('t-6', 'Organization/food-bank', 'rejected'),
  task('t-7', 'Organization/pantry-light', 'on-hold'),
  task('t-8', 'Organization/pantry-light', 'requested', { code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] } }),
  task('t-9', 'Organization/pantry-light', 'requested'),
  task('t-10', 'Organization/hub', 'in-progress'),
];

let server: TestServer;
let directory: CboListing[];

beforeAll(async () => {
  server = await startTestServer();
  const res = await server.request('POST', '/fhir', {
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: network.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
    },
  });
  expect(res.status, res.text).toBe(200);
  for (const entry of res.body.entry as { response: { status: string } }[]) expect(entry.response.status, res.text).toMatch(/^201/);
  for (const reference of ['HealthcareService/deleted-service', 'Task/t-9']) {
    const deleted = await server.request('DELETE', `/fhir/${reference}`);
    expect([200, 204], deleted.text).toContain(deleted.status);
  }
  directory = await loadDirectory(server.db);
});

afterAll(async () => {
  await server?.close();
});

const listingOf = (id: string) => directory.find((listing) => listing.healthcareService === `HealthcareService/${id}`);

describe('loadDirectory', () => {
  it('lists each stored HealthcareService of a stored Organization', () => {
    expect(directory.map((listing) => listing.healthcareService)).toEqual([
      'HealthcareService/closed-cbo-food',
      'HealthcareService/food-bank-pantry',
      'HealthcareService/housing-help',
      'HealthcareService/pantry-light-food',
    ]);
  });

  it('reads categories, services, coverage, capacity and the endpoint', () => {
    expect(listingOf('food-bank-pantry')).toEqual({
      organization: 'Organization/food-bank',
      healthcareService: 'HealthcareService/food-bank-pantry',
      name: 'CBO food-bank',
      serviceName: 'Service food-bank-pantry',
      categories: ['food-insecurity'],
      services: [
        { system: SERVICE_TYPE, code: '61' },
        { system: 'http://terminology.hl7.org/CodeSystem/program', code: '21' },
      ],
      coverage: [{ postalCode: '97201' }],
      capacity: 'available',
      capacityCode: 'capacity',
      active: true,
      endpoint: 'full',
      endpointReference: 'Endpoint/ep-food',
      endpointAddress: 'https://ep-food.example.org/fhir',
    });
    expect(listingOf('housing-help')).toMatchObject({
      categories: ['housing-instability', 'homelessness'],
      coverage: [{ state: 'OR' }],
      capacity: 'at-capacity',
      capacityCode: 'waitlist',
      endpoint: 'full',
      endpointReference: 'Endpoint/ep-housing-service',
    });
  });

  it('tells light CBOs: no Endpoint, an Endpoint that is off, or one that is not a FHIR server', () => {
    expect(listingOf('pantry-light-food')).toMatchObject({
      coverage: [{ county: 'multnomah', state: 'OR' }],
      capacity: 'at-capacity',
      capacityCode: 'no-capacity',
      endpoint: 'light',
      active: true,
    });
    expect(listingOf('pantry-light-food')).not.toHaveProperty('endpointAddress');
    expect(listingOf('closed-cbo-food')).toMatchObject({ capacity: 'unknown', endpoint: 'light', active: false });
    expect(listingOf('closed-cbo-food')).not.toHaveProperty('capacityCode');
  });

  it('follows later changes: capacity updated through the API', async () => {
    const current = await server.request('GET', '/fhir/HealthcareService/pantry-light-food');
    const updated = { ...current.body, extension: [capacity('capacity')] };
    const res = await server.request('PUT', '/fhir/HealthcareService/pantry-light-food', { body: updated });
    expect(res.status, res.text).toBe(200);
    const reloaded = await loadDirectory(server.db);
    expect(reloaded.find((l) => l.healthcareService === 'HealthcareService/pantry-light-food')).toMatchObject({ capacity: 'available' });
    const restore = await server.request('PUT', '/fhir/HealthcareService/pantry-light-food', { body: current.body });
    expect(restore.status, restore.text).toBe(200);
  });
});

describe('openLoad', () => {
  it('counts open referral Tasks per owner Organization', async () => {
    const load = await openLoad(server.db);
    expect(load.get('Organization/food-bank')).toBe(3);
    expect(load.get('Organization/pantry-light')).toBe(1);
    expect(load.get('Organization/hub')).toBe(1);
    expect(load.has('Organization/housing')).toBe(false);
  });
});

describe('directory + routing', () => {
  it('routes the stored referral with the stored network', async () => {
    const load = await openLoad(server.db);
    const sr = (await server.request('GET', '/fhir/ServiceRequest/sr-1')).body;
    const patient = (await server.request('GET', '/fhir/Patient/p-1')).body;
    const decision = route(routingRequestFor(sr, patient), directory, load, emptyCursor());
    expect(decision.chosen?.organization).toBe('Organization/food-bank');
    expect(decision.chosen?.endpoint).toBe('full');
    expect(decision.reason).toBe(
      'food-insecurity (service SNOMED 467771000124109) in 97201: 1 eligible (closed-cbo inactive, food-bank load 3, pantry-light at capacity (no-capacity)); ' +
        '1 other CBO does not serve it; chose food-bank (only eligible)',
    );
  });
});
