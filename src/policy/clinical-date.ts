// The clinically relevant date of a resource: what Consent.provision.dataPeriod and a plan's
// coverage period are compared with. Resources without one (Patient, Coverage...) have none.
import type { Resource } from 'fhir/r4';

type Json = Record<string, unknown>;

const DATE_ELEMENTS: Record<string, string[]> = {
  Observation: ['effectiveDateTime', 'effectivePeriod.start', 'effectiveInstant', 'issued'],
  Condition: ['onsetDateTime', 'onsetPeriod.start', 'recordedDate'],
  Procedure: ['performedDateTime', 'performedPeriod.start'],
  ServiceRequest: ['authoredOn', 'occurrenceDateTime', 'occurrencePeriod.start'],
  Task: ['authoredOn', 'executionPeriod.start'],
  Goal: ['startDate', 'statusDate'],
  Encounter: ['period.start'],
  QuestionnaireResponse: ['authored'],
  Claim: ['created', 'billablePeriod.start'],
  ChargeItem: ['occurrenceDateTime', 'occurrencePeriod.start', 'enteredDate'],
  DocumentReference: ['date'],
  MeasureReport: ['period.start'],
};

function at(resource: Json, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Json)[key] : undefined), resource);
}

export function clinicalDate(resource: Resource): string | undefined {
  for (const element of DATE_ELEMENTS[resource.resourceType] ?? []) {
    const value = at(resource as unknown as Json, element);
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** Whether `date` (a FHIR date or dateTime) falls in [start, end]; open ends are unbounded. */
export function within(date: string, period: { start?: string; end?: string } | undefined): boolean {
  if (!period) return true;
  const time = Date.parse(date.length === 4 ? `${date}-01-01` : date.length === 7 ? `${date}-01` : date);
  if (Number.isNaN(time)) return false;
  if (period.start && time < Date.parse(period.start)) return false;
  // An end given as a date covers that whole day.
  if (period.end && time > Date.parse(period.end.length === 10 ? `${period.end}T23:59:59.999Z` : period.end)) return false;
  return true;
}
