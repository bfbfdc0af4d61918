// The direct subject read must agree with the search parameters it stands for.
import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { extractIndexRows } from './search/index-rows.ts';
import { patientParams, patientsOf } from './patient-links.ts';
import { SearchParameterRegistry } from './search/search-parameter-registry.ts';

const registry = new SearchParameterRegistry();
const examples = [
  { resourceType: 'Task', id: 't', status: 'requested', intent: 'order', for: { reference: 'Patient/p1' } },
  { resourceType: 'Task', id: 't2', status: 'requested', intent: 'order', for: { reference: 'Group/g1' } },
  { resourceType: 'ServiceRequest', id: 's', status: 'active', intent: 'order', subject: { reference: 'Patient/p2/_history/3' } },
  { resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: 'https://elsewhere.org/fhir/Patient/p3' } },
  { resourceType: 'Consent', id: 'c', status: 'active', scope: { text: 'x' }, category: [{ text: 'x' }], patient: { reference: 'Patient/p4' } },
  { resourceType: 'Coverage', id: 'v', status: 'active', beneficiary: { reference: 'Patient/p5' }, payor: [{ reference: 'Patient/p6' }] },
] as unknown as Resource[];

describe('patientsOf', () => {
  for (const resource of examples) {
    it(`reads ${resource.resourceType}/${resource.id} as its search parameters index it`, () => {
      const codes = patientParams(resource.resourceType)!;
      const indexed = extractIndexRows(registry, resource).reference.filter((row) => codes.includes(row.code) && row.target_type === 'Patient').map((row) => row.target_id);
      expect(patientsOf(registry, resource)).toEqual([...new Set(indexed)]);
    });
  }
});
