// DG1 diagnoses that are SDOH Z codes (ICD-10-CM Z55-Z65) → SDOHCC Conditions of the patient: a
// diagnosis a clinician coded, so confirmed (unlike the unconfirmed ones derived from a screening).
// One Condition per patient and code: the same Z code sent again finds the stored one.
import type { Condition, Reference } from 'fhir/r4';
import { CLINICAL_STATUS_ACTIVE, CONDITION_PROFILE, HEALTH_CONCERN_CATEGORY, ICD_10_CM, SDOH_CATEGORY, sdohCategory, UNSPECIFIED_CATEGORY } from '../sdoh/sdoh-codes.ts';
import { component, repetitions } from './hl7-fields.ts';
import { fhirDateTime } from './hl7-text.ts';
import type { MapContext } from './map-context.ts';
import { findByIdentifier, save } from './resource-writer.ts';

const VERIFICATION_CONFIRMED = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] };

/** SDOHCC domains of Z-code groups (longest prefix wins), after the Gravity value sets. */
const Z_CODE_DOMAINS: [string, string][] = [
  ['Z59.0', 'homelessness'], ['Z59.1', 'inadequate-housing'], ['Z59.4', 'food-insecurity'], ['Z59.5', 'financial-insecurity'],
  ['Z59.6', 'financial-insecurity'], ['Z59.7', 'financial-insecurity'], ['Z59.8', 'housing-instability'], ['Z59.82', 'transportation-insecurity'],
  ['Z59.86', 'financial-insecurity'], ['Z59.87', 'material-hardship'], ['Z55', 'educational-attainment'], ['Z56', 'employment-status'],
  ['Z60.2', 'social-connection'], ['Z63', 'stress'], ['Z65', 'personal-health-literacy'],
];

/** A Z code with its dot (Z5941 → Z59.41); undefined when the code is not an SDOH Z code. */
export function sdohZCode(code: string): string | undefined {
  const plain = code.trim().toUpperCase().replace('.', '');
  const match = /^Z(5[5-9]|6[0-5])([0-9A-Z]{0,4})$/.exec(plain);
  if (!match) return undefined;
  return match[2] ? `Z${match[1]}.${match[2]}` : `Z${match[1]}`;
}

export function zCodeDomain(code: string): string {
  const found = Z_CODE_DOMAINS.filter(([prefix]) => code.startsWith(prefix)).sort((a, b) => b[0].length - a[0].length)[0];
  return found?.[1] ?? UNSPECIFIED_CATEGORY;
}

/** Conditions for the Z codes of the message's DG1 segments; returns references to them. */
export async function saveZCodeConditions(ctx: MapContext, subject: Reference): Promise<Reference[]> {
  const references: Reference[] = [];
  for (const dg1 of ctx.message.getAllSegments('DG1')) {
    const rep = repetitions(dg1, 3)[0];
    const code = sdohZCode(component(rep, 1));
    if (!code) continue;
    const system = component(rep, 3).toUpperCase();
    if (system && !['I10', 'I10C', 'ICD10CM', 'ICD-10-CM'].includes(system)) continue;
    const identifier = { system: 'urn:cch:hl7:z-code-condition', value: `${subject.reference}|${code}` };
    const existing = await findByIdentifier<Condition>(ctx.scope, 'Condition', identifier);
    const onset = fhirDateTime(component(repetitions(dg1, 5)[0], 1)) ?? existing?.onsetDateTime;
    const display = component(rep, 2);
    const domain = zCodeDomain(code);
    const next: Condition = {
      resourceType: 'Condition',
      meta: { profile: [CONDITION_PROFILE] },
      identifier: [identifier],
      clinicalStatus: CLINICAL_STATUS_ACTIVE,
      verificationStatus: VERIFICATION_CONFIRMED,
      category: [HEALTH_CONCERN_CATEGORY, SDOH_CATEGORY, sdohCategory(domain)],
      code: { coding: [{ system: ICD_10_CM, code, ...(display ? { display } : {}) }] },
      subject,
      ...(onset ? { onsetDateTime: onset } : {}),
      ...(existing?.recordedDate ? { recordedDate: existing.recordedDate } : onset ? { recordedDate: onset } : {}),
      ...(existing?.evidence ? { evidence: existing.evidence } : {}),
    };
    const written = await save(ctx.scope, existing, next);
    ctx.track(written);
    references.push({ reference: `Condition/${written.resource.id}` });
  }
  return references;
}
