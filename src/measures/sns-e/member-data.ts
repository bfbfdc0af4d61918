// What the rules read about one member: the resources, already narrowed to the member, from the store.
import type { Claim, Condition, Coverage, Encounter, Observation, Patient, Procedure } from 'fhir/r4';

export interface MemberData {
  patient: Patient;
  /** The member's Coverages that count for this evaluation (one payer's, or all when no payer is named). */
  coverages: Coverage[];
  observations: Observation[];
  procedures: Procedure[];
  conditions: Condition[];
  encounters: Encounter[];
  claims: Claim[];
}

/** A piece of evidence: the resource and the day it counts on. */
export interface Evidence {
  reference: string;
  day: number;
}

export const referenceOf = (resource: { resourceType: string; id?: string }): string => `${resource.resourceType}/${resource.id}`;

export function emptyMemberData(patient: Patient): MemberData {
  return { patient, coverages: [], observations: [], procedures: [], conditions: [], encounters: [], claims: [] };
}
