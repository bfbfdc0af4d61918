// PID → Patient: identifiers by assigning authority (PID-3), name, birth date, gender, address,
// phones, death. The Patient is found by any of its PID-3 identifiers; demographics from the message
// replace the stored ones, identifiers and links already stored are kept.
import type { Hl7Message, Hl7Segment } from '@medplum/core';
import type { Identifier, Patient } from 'fhir/r4';
import { address, contactPoint, humanName, identifierOf, repetitions, value } from './hl7-fields.ts';
import { Hl7MappingError } from './hl7-mapping-error.ts';
import { fhirDate, fhirDateTime } from './hl7-text.ts';
import type { MapContext } from './map-context.ts';
import { findByIdentifier, save, type Written } from './resource-writer.ts';

const GENDER: Record<string, Patient['gender']> = { M: 'male', F: 'female', O: 'other', A: 'other', U: 'unknown', N: 'unknown' };

/** PID-3 (or a CX list field) as identifiers, medical record numbers first. */
export function identifiersOf(segment: Hl7Segment | undefined, index: number, fallbackAuthority: string): Identifier[] {
  const list = repetitions(segment, index).flatMap((rep) => identifierOf(rep, fallbackAuthority) ?? []);
  return [...list.filter((id) => id.use === 'usual'), ...list.filter((id) => id.use !== 'usual')];
}

/** The ordering key of a message: its patient's first PID-3 identifier (MR first). */
export function patientKeyOf(message: Hl7Message, fallbackAuthority: string): string | undefined {
  const [first] = identifiersOf(message.getSegment('PID'), 3, fallbackAuthority).filter((id) => id.system !== SSN);
  return first ? `${first.system}|${first.value}` : undefined;
}

const SSN = 'http://hl7.org/fhir/sid/us-ssn';

/**
 * The stored Patient with one of these identifiers. An SSN is stored but never matched on: it is not
 * an identifier the facility assigns, and a typo in it would merge two people's records.
 */
export async function findPatient(ctx: MapContext, identifiers: Identifier[]): Promise<(Patient & { id: string }) | undefined> {
  for (const identifier of identifiers.filter((id) => id.system !== SSN)) {
    const found = await findByIdentifier<Patient>(ctx.scope, 'Patient', identifier);
    if (found) return found;
  }
  return undefined;
}

const sameIdentifier = (a: Identifier, b: Identifier) => a.system === b.system && a.value === b.value;

export async function savePatient(ctx: MapContext): Promise<Written<Patient>> {
  const pid = ctx.message.getSegment('PID');
  const identifiers = identifiersOf(pid, 3, ctx.facility.sendingFacility || ctx.facility.sendingApplication);
  if (!identifiers.length) throw new Hl7MappingError('PID-3 (patient identifier list) has no identifier');
  const existing = await findPatient(ctx, identifiers);
  const names = repetitions(pid, 5).flatMap((rep) => humanName(rep) ?? []);
  const addresses = repetitions(pid, 11).flatMap((rep) => address(rep) ?? []);
  const telecom = [
    ...repetitions(pid, 13).flatMap((rep) => contactPoint(rep, 'home') ?? []),
    ...repetitions(pid, 14).flatMap((rep) => contactPoint(rep, 'work') ?? []),
  ];
  const birthDate = fhirDate(value(pid, 7));
  const gender = GENDER[value(pid, 8).toUpperCase()];
  const deathIndicator = value(pid, 30).toUpperCase();
  const deceasedAt = fhirDateTime(value(pid, 29));
  const kept = (existing?.identifier ?? []).filter((id) => !identifiers.some((given) => sameIdentifier(given, id)));
  const { name: _n, address: _a, telecom: _t, birthDate: _b, gender: _g, deceasedBoolean: _db, deceasedDateTime: _dd, ...rest } = existing ?? ({} as Partial<Patient>);
  const next: Patient = {
    ...rest,
    resourceType: 'Patient',
    identifier: [...identifiers, ...kept],
    ...(existing?.active === false ? {} : { active: true }),
    ...(names.length ? { name: names } : existing?.name ? { name: existing.name } : {}),
    ...(telecom.length ? { telecom } : existing?.telecom ? { telecom: existing.telecom } : {}),
    ...(gender ? { gender } : existing?.gender ? { gender: existing.gender } : {}),
    ...(birthDate ? { birthDate } : existing?.birthDate ? { birthDate: existing.birthDate } : {}),
    ...(deceasedAt ? { deceasedDateTime: deceasedAt } : deathIndicator === 'Y' ? { deceasedBoolean: true } : {}),
    ...(addresses.length ? { address: addresses } : existing?.address ? { address: existing.address } : {}),
  };
  const written = await save(ctx.scope, existing, next);
  ctx.track(written);
  return written;
}
