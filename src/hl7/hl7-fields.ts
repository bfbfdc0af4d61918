// Reading v2 data types into FHIR: CX → Identifier, XPN → HumanName, XAD → Address, XTN →
// ContactPoint, CE/CWE → CodeableConcept. Values are unescaped and trimmed; empty parts are left out.
import type { Hl7Message, Hl7Segment } from '@medplum/core';
import type { Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier } from 'fhir/r4';
import { unescapeText } from './hl7-text.ts';

/** The repetitions of field `index`, each as its components. */
export function repetitions(segment: Hl7Segment | undefined, index: number): string[][] {
  if (!segment || index >= segment.fields.length) return [];
  return segment.getField(index).components.filter((rep) => rep.some((part) => part.trim() !== ''));
}

/** Component `n` (1-based) of a repetition, unescaped; `sub` picks a subcomponent (1-based). */
export function component(rep: string[] | undefined, n: number, sub?: number): string {
  const raw = rep?.[n - 1] ?? '';
  const part = sub === undefined ? raw : (raw.split('&')[sub - 1] ?? '');
  return unescapeText(part).trim();
}

/** Field `index`, component `n` of its first repetition. */
export const value = (segment: Hl7Segment | undefined, index: number, n = 1): string => component(repetitions(segment, index)[0], n);

export const segmentsOf = (message: Hl7Message, name: string): Hl7Segment[] => message.getAllSegments(name);

const IDENTIFIER_TYPE = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** The identifier system of a CX: the assigning authority's OID, else a hub URN of its namespace. */
export function identifierSystem(rep: string[], fallbackAuthority: string): string {
  if (component(rep, 5) === 'SS') return 'http://hl7.org/fhir/sid/us-ssn';
  const universal = component(rep, 4, 2);
  if (universal && /^[0-2](\.\d+)+$/.test(universal)) return `urn:oid:${universal}`;
  const namespace = component(rep, 4, 1) || fallbackAuthority;
  return `urn:cch:hl7:assigning-authority:${encodeURIComponent(namespace)}`;
}

export function identifierOf(rep: string[], fallbackAuthority: string): Identifier | undefined {
  const id = component(rep, 1);
  if (!id) return undefined;
  const type = component(rep, 5);
  return {
    ...(type === 'MR' ? { use: 'usual' as const } : {}),
    ...(type ? { type: { coding: [{ system: IDENTIFIER_TYPE, code: type }] } } : {}),
    system: identifierSystem(rep, fallbackAuthority),
    value: id,
  };
}

export function humanName(rep: string[]): HumanName | undefined {
  const family = component(rep, 1, 1);
  const given = [component(rep, 2), component(rep, 3)].filter(Boolean);
  const suffix = component(rep, 4);
  const prefix = component(rep, 5);
  if (!family && !given.length) return undefined;
  const use = { L: 'official', D: 'usual', A: 'nickname', M: 'maiden' }[component(rep, 7)] as HumanName['use'] | undefined;
  return {
    ...(use ? { use } : {}),
    ...(family ? { family } : {}),
    ...(given.length ? { given } : {}),
    ...(prefix ? { prefix: [prefix] } : {}),
    ...(suffix ? { suffix: [suffix] } : {}),
  };
}

export function address(rep: string[]): Address | undefined {
  const line = [component(rep, 1, 1), component(rep, 2)].filter(Boolean);
  const [city, state, postalCode, country, county] = [component(rep, 3), component(rep, 4), component(rep, 5), component(rep, 6), component(rep, 9)];
  if (!line.length && !city && !postalCode) return undefined;
  const use = { H: 'home', B: 'work', C: 'temp', O: 'work', M: 'home' }[component(rep, 7)] as Address['use'] | undefined;
  return {
    ...(use ? { use } : {}),
    ...(line.length ? { line } : {}),
    ...(city ? { city } : {}),
    ...(county ? { district: county } : {}),
    ...(state ? { state } : {}),
    ...(postalCode ? { postalCode } : {}),
    ...(country ? { country } : {}),
  };
}

export function contactPoint(rep: string[], use: ContactPoint['use']): ContactPoint | undefined {
  const equipment = component(rep, 3);
  const email = component(rep, 4);
  if (equipment === 'Internet' || (email && !component(rep, 1) && !component(rep, 7))) return email ? { system: 'email', value: email, use } : undefined;
  const structured = [component(rep, 6), component(rep, 7)].filter(Boolean).join('');
  const number = component(rep, 1) || structured;
  if (!number) return undefined;
  return { system: equipment === 'FX' ? 'fax' : 'phone', value: number, use: equipment === 'CP' ? 'mobile' : use };
}

/** Coding systems of v2 table 0396 (coding system names) the hub reads. */
const CODING_SYSTEMS: Record<string, string> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  I10: 'http://hl7.org/fhir/sid/icd-10-cm',
  'I10C': 'http://hl7.org/fhir/sid/icd-10-cm',
  'ICD10CM': 'http://hl7.org/fhir/sid/icd-10-cm',
  SDOHCC: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes',
  HL70112: 'http://terminology.hl7.org/CodeSystem/v2-0112',
};

export const codingSystem = (name: string): string | undefined => CODING_SYSTEMS[name.toUpperCase()];

/** A CE/CWE repetition's codings (primary and alternate triplets); unknown systems keep their v2 name as a URN. */
export function codings(rep: string[] | undefined): Coding[] {
  const result: Coding[] = [];
  for (const offset of [0, 3]) {
    const code = component(rep, offset + 1);
    if (!code) continue;
    const name = component(rep, offset + 3);
    const display = component(rep, offset + 2);
    result.push({ system: codingSystem(name) ?? `urn:cch:hl7:coding-system:${encodeURIComponent(name || 'local')}`, code, ...(display ? { display } : {}) });
  }
  return result;
}

export function codeableConcept(rep: string[] | undefined): CodeableConcept | undefined {
  const list = codings(rep);
  const text = component(rep, 2) || component(rep, 9);
  if (!list.length) return text ? { text } : undefined;
  return { coding: list };
}
