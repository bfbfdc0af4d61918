// Shared setup of the claims tests: the contracts of fixtures/billing, a CBO network, members with
// Coverage, and a referral driven to completion over HTTP (EHR → hub → CBO → completed with Procedures).
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { X12parser } from 'x12-parser';
import { expect } from 'vitest';
import type { TestServer } from '../../helpers/test-server.ts';
import { consent, permitFor } from '../../policy/fixture.ts';

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SD = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition';
export const HCPCS = 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes';
export const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const EXT = 'http://cch.example.org/fhir/StructureDefinition/';

type Json = Record<string, unknown>;

export async function put(server: TestServer, resource: Json & { resourceType: string; id: string }): Promise<void> {
  const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  expect(res.status, `${resource.resourceType}/${resource.id}: ${res.text}`).toBeLessThan(300);
}

export async function loadContracts(server: TestServer): Promise<void> {
  for (const file of ['demo-plan-contract.json', 'other-models-contract.json']) {
    const bundle = JSON.parse(fs.readFileSync(new URL(`../../../fixtures/billing/${file}`, import.meta.url), 'utf8'));
    const transaction = {
      resourceType: 'Bundle', type: 'transaction',
      entry: bundle.entry.map((entry: { resource: { resourceType: string; id: string } }) => ({ resource: entry.resource, request: { method: 'PUT', url: `${entry.resource.resourceType}/${entry.resource.id}` } })),
    };
    const res = await server.request('POST', '/fhir', { body: transaction });
    expect(res.status, res.text).toBe(200);
  }
}

export async function loadNetwork(server: TestServer): Promise<void> {
  await put(server, { resourceType: 'Organization', id: 'hub', active: true, name: 'COMMUNITY CARE HUB' });
  await put(server, { resourceType: 'Organization', id: 'ehr', active: true, name: 'Clinic' });
  await put(server, {
    resourceType: 'Organization', id: 'cbo-a', active: true, name: 'EXAMPLE HOUSING NONPROFIT',
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '9876543213' }],
    type: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '251B00000X' }] }],
  });
  await put(server, { resourceType: 'Location', id: 'area-92101', meta: { profile: [`${SD}/SDOHCC-Location`] }, status: 'active', name: 'San Diego 92101', address: { postalCode: '92101', state: 'CA' } });
  await put(server, {
    resourceType: 'HealthcareService', id: 'hs-cbo-a', active: true, providedBy: { reference: 'Organization/cbo-a' }, name: 'Meals and housing',
    category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }], coverageArea: [{ reference: 'Location/area-92101' }],
  });
}

/** A member of `program` at `payer` (Coverage active from 2026-01-01). */
export async function member(server: TestServer, id: string, payer: string, program: string, memberId = `M-${id}`): Promise<void> {
  await put(server, {
    resourceType: 'Patient', id, name: [{ family: 'Doe', given: ['Jane'] }], gender: 'female', birthDate: '1980-01-01',
    address: [{ use: 'home', line: ['PO BOX 12'], city: 'San Diego', state: 'CA', postalCode: '92101' }],
  });
  await put(server, {
    resourceType: 'Coverage', id: `cov-${id}`, status: 'active', beneficiary: { reference: `Patient/${id}` }, subscriberId: memberId,
    payor: [{ reference: `Organization/${payer}` }], period: { start: '2026-01-01' },
    class: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: program }],
  });
  await put(server, consent(`consent-${id}`, id, permitFor('Organization/cbo-a')) as Json & { resourceType: string; id: string });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Service {
  code: string;
  modifiers?: string[];
  date: string;
  units?: number;
}

/** Refers `patient` (diagnosis `zCode`), lets cbo-a accept and complete it with a Procedure per service. Returns the source and hub Task ids. */
export async function completeReferral(server: TestServer, cboToken: string, patient: string, zCode: string, services: Service[]): Promise<{ sourceId: string; hubTaskId: string }> {
  const srId = `sr-${patient}-${Math.random().toString(36).slice(2, 8)}`;
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      {
        resource: {
          resourceType: 'ServiceRequest', id: srId, status: 'active', intent: 'order', subject: { reference: `Patient/${patient}` },
          category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
          code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
          reasonCode: [{ coding: [{ system: ICD, code: zCode }] }],
          requester: { reference: 'Organization/ehr' }, authoredOn: '2026-11-01',
        },
        request: { method: 'PUT', url: `ServiceRequest/${srId}` },
      },
      {
        resource: {
          resourceType: 'Task', status: 'requested', intent: 'order', code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
          focus: { reference: `ServiceRequest/${srId}` }, for: { reference: `Patient/${patient}` }, authoredOn: '2026-11-01T10:00:00Z',
          requester: { reference: 'Organization/ehr' }, owner: { reference: 'Organization/hub' },
        },
        request: { method: 'POST', url: 'Task' },
      },
    ],
  };
  const res = await server.request('POST', '/fhir', { body: bundle });
  expect(res.status, res.text).toBe(200);
  const sourceId = res.body.entry[1].response.location.split('/')[5] as string;
  const hubTask = await waitFor('routing', async () => {
    const found = (await server.request('GET', `/fhir/Task?part-of=Task/${sourceId}`)).body.entry?.[0]?.resource;
    return found;
  });
  expect((await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token: cboToken, body: { ...hubTask, status: 'accepted' } })).status).toBe(200);
  const output = [];
  for (const service of services) {
    const procedure = await server.request('POST', '/fhir/Procedure', {
      token: cboToken,
      body: {
        resourceType: 'Procedure', status: 'completed', subject: { reference: `Patient/${patient}` }, performedDateTime: service.date,
        extension: [
          ...(service.modifiers ?? []).map((code) => ({ url: `${EXT}service-modifier`, valueCoding: { system: HCPCS, code } })),
          ...(service.units ? [{ url: `${EXT}service-units`, valueQuantity: { value: service.units } }] : []),
        ],
        category: { coding: [{ system: 'http://snomed.info/sct', code: '410606002' }, { system: SDOHCC, code: 'food-insecurity' }] },
        code: { coding: [{ system: HCPCS, code: service.code }, { system: 'http://snomed.info/sct', code: '467771000124109' }] },
      },
    });
    expect(procedure.status, procedure.text).toBe(201);
    output.push({ type: { text: 'Service delivered' }, valueReference: { reference: `Procedure/${procedure.body.id}` } });
  }
  const current = (await server.request('GET', `/fhir/Task/${hubTask.id}`)).body;
  const done = await server.request('PUT', `/fhir/Task/${hubTask.id}`, { token: cboToken, body: { ...current, status: 'completed', output } });
  expect(done.status, done.text).toBe(200);
  return { sourceId, hubTaskId: hubTask.id };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const chargesOf = async (server: TestServer, patient: string): Promise<any[]> =>
  ((await server.request('GET', `/fhir/ChargeItem?patient=Patient/${patient}`)).body.entry ?? []).map((entry: { resource: unknown }) => entry.resource);

/** Outbox messages on the claims queue (what delivery will send). */
export async function claimsQueueMessages(server: TestServer): Promise<{ kind: string; reference: string; payer: string }[]> {
  const rows = await server.db.query<{ payload: { kind: string; reference: string; payer: string } }>(`SELECT payload FROM outbox WHERE queue = 'claims' ORDER BY id`);
  return rows.map((row) => row.payload);
}

/**
 * An X12 interchange as x12-parser reads it (independently of our own reader): one record per
 * segment, `name` and elements by position ('1', and '1-1', '1-2'… for a composite's components).
 */
export async function x12Segments(text: string): Promise<Record<string, string>[]> {
  const segments: Record<string, string>[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new X12parser();
    parser.on('data', (segment: Record<string, string>) => segments.push(segment));
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from([text]).pipe(parser);
  });
  return segments.filter((segment) => segment.name);
}
