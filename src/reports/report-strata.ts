// The strata a plan report is broken down by, from the member's Patient resource: age band (at the
// end of the period), administrative sex, race and ethnicity (US Core extensions, OMB categories),
// preferred language (Patient.communication.preferred) and ZIP3 (the first three digits of the
// postal code, the HIPAA Safe Harbor granularity). Missing data is its own stratum, "unknown".
import type { Extension, Patient } from 'fhir/r4';

export const DIMENSIONS = ['age-band', 'sex', 'race', 'ethnicity', 'language', 'zip3'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

const US_CORE_RACE = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race';
const US_CORE_ETHNICITY = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity';

function ageBand(birthDate: string | undefined, at: string): string {
  if (!birthDate || !/^\d{4}/.test(birthDate)) return 'unknown';
  const born = new Date(`${birthDate.length === 4 ? `${birthDate}-07-01` : birthDate.length === 7 ? `${birthDate}-01` : birthDate}T00:00:00Z`);
  const end = new Date(`${at}T00:00:00Z`);
  let age = end.getUTCFullYear() - born.getUTCFullYear();
  if (end.getUTCMonth() < born.getUTCMonth() || (end.getUTCMonth() === born.getUTCMonth() && end.getUTCDate() < born.getUTCDate())) age--;
  if (age < 18) return '0-17';
  if (age < 35) return '18-34';
  if (age < 50) return '35-49';
  if (age < 65) return '50-64';
  return '65+';
}

/** The OMB category of a US Core race/ethnicity extension (its display when given, else its code); several races: "multiple". */
function ombCategory(patient: Patient, url: string): string {
  const extension = patient.extension?.find((e) => e.url === url);
  const categories = (extension?.extension ?? []).filter((part: Extension) => part.url === 'ombCategory').map((part) => part.valueCoding?.display ?? part.valueCoding?.code ?? 'unknown');
  if (categories.length === 0) return 'unknown';
  return categories.length > 1 ? 'multiple' : categories[0];
}

function language(patient: Patient): string {
  const communication = patient.communication?.find((c) => c.preferred) ?? patient.communication?.[0];
  return communication?.language.coding?.[0]?.code ?? communication?.language.text ?? 'unknown';
}

function zip3(patient: Patient): string {
  const postal = (patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0])?.postalCode;
  return postal && /^\d{5}/.test(postal) ? postal.slice(0, 3) : 'unknown';
}

export function stratumOf(patient: Patient | undefined, dimension: Dimension, periodEnd: string): string {
  if (!patient) return 'unknown';
  switch (dimension) {
    case 'age-band':
      return ageBand(patient.birthDate, periodEnd);
    case 'sex':
      return patient.gender ?? 'unknown';
    case 'race':
      return ombCategory(patient, US_CORE_RACE);
    case 'ethnicity':
      return ombCategory(patient, US_CORE_ETHNICITY);
    case 'language':
      return language(patient);
    case 'zip3':
      return zip3(patient);
  }
}
