// ADT → Patient, Encounter (PV1), Coverage (IN1), SDOH Conditions (DG1 Z codes):
//   A01 admit, A04 register      Encounter in-progress from PV1-44
//   A03 discharge                Encounter finished, period.end PV1-45, discharge disposition PV1-36
//   A08 update                   demographics and visit data, status kept
//   A11 cancel admit/visit       Encounter cancelled (the HL7 v2-to-FHIR IG maps A11 this way)
//   A13 cancel discharge         Encounter back in-progress, end and disposition removed
//   A40 merge patient            MRG-1's Patient inactive with link replaced-by → PID's; PID's replaces it
// The Encounter is found by its visit number (PV1-19), else by the admit time of this patient.
import type { Coverage, Encounter, Patient, Reference } from 'fhir/r4';
import { saveZCodeConditions } from './conditions-mapper.ts';
import { codeableConcept, component, identifierOf, repetitions, value } from './hl7-fields.ts';
import { fhirDate, fhirDateTime } from './hl7-text.ts';
import type { MapContext } from './map-context.ts';
import { findPatient, identifiersOf, savePatient } from './patient-mapper.ts';
import { findByIdentifier, save } from './resource-writer.ts';
import { runAdtTriggers } from './hl7-triggers.ts';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
/** PV1-2 patient class (table 0004) → Encounter.class. */
const CLASS: Record<string, { code: string; display: string }> = {
  E: { code: 'EMER', display: 'emergency' },
  I: { code: 'IMP', display: 'inpatient encounter' },
  O: { code: 'AMB', display: 'ambulatory' },
  P: { code: 'PRENC', display: 'pre-admission' },
  R: { code: 'AMB', display: 'ambulatory' },
  B: { code: 'IMP', display: 'inpatient encounter' },
  N: { code: 'AMB', display: 'ambulatory' },
};

const sourceSystem = (ctx: MapContext, what: string) =>
  `urn:cch:hl7:${encodeURIComponent(ctx.facility.sendingApplication)}:${encodeURIComponent(ctx.facility.sendingFacility)}:${what}`;

function encounterIdentifier(ctx: MapContext, patient: Patient & { id: string }) {
  const pv1 = ctx.message.getSegment('PV1');
  const visit = repetitions(pv1, 19)[0];
  const fromVisit = visit ? identifierOf(visit, ctx.facility.sendingFacility) : undefined;
  if (fromVisit) return { ...fromVisit, use: 'official' as const };
  const admitted = value(pv1, 44) || value(ctx.message.getSegment('EVN'), 2) || ctx.header.controlId;
  return { system: sourceSystem(ctx, 'visit'), value: `Patient/${patient.id}|${admitted}` };
}

async function saveEncounter(ctx: MapContext, patient: Patient & { id: string }): Promise<(Encounter & { id: string }) | undefined> {
  const event = ctx.header.triggerEvent;
  const pv1 = ctx.message.getSegment('PV1');
  if (!pv1) return undefined;
  const identifier = encounterIdentifier(ctx, patient);
  const existing = await findByIdentifier<Encounter>(ctx.scope, 'Encounter', identifier);
  // Undoing what was never stored changes nothing.
  if (!existing && (event === 'A11' || event === 'A13')) return undefined;
  const patientClass = CLASS[value(pv1, 2).toUpperCase()];
  const admitted = fhirDateTime(value(pv1, 44)) ?? existing?.period?.start;
  const discharged = fhirDateTime(value(pv1, 45)) ?? (event === 'A03' ? fhirDateTime(value(ctx.message.getSegment('EVN'), 2)) : undefined);
  const disposition = codeableConcept(repetitions(pv1, 36)[0]);
  const location = repetitions(pv1, 3)[0];
  const locationText = [component(location, 1), component(location, 2), component(location, 3)].filter(Boolean).join(' ');
  let status: Encounter['status'] = existing?.status ?? 'in-progress';
  if (event === 'A01' || event === 'A04' || event === 'A13') status = 'in-progress';
  if (event === 'A03') status = 'finished';
  if (event === 'A11') status = 'cancelled';
  const end = event === 'A13' ? undefined : (discharged ?? existing?.period?.end);
  const { hospitalization: priorHospitalization, period: _p, ...kept } = existing ?? ({} as Partial<Encounter>);
  const keepDisposition = event !== 'A13' && (disposition ?? priorHospitalization?.dischargeDisposition);
  const next: Encounter = {
    ...kept,
    resourceType: 'Encounter',
    identifier: [identifier],
    status,
    class: patientClass ? { system: ACT_CODE, ...patientClass } : (existing?.class ?? { system: ACT_CODE, code: 'AMB', display: 'ambulatory' }),
    subject: { reference: `Patient/${patient.id}` },
    serviceProvider: { reference: ctx.facility.organization },
    ...(admitted || end ? { period: { ...(admitted ? { start: admitted } : {}), ...(end ? { end } : {}) } } : {}),
    ...(keepDisposition ? { hospitalization: { dischargeDisposition: keepDisposition } } : {}),
    ...(locationText ? { location: [{ location: { display: locationText } }] } : existing?.location ? { location: existing.location } : {}),
  };
  const written = await save(ctx.scope, existing, next);
  ctx.track(written);
  return written.resource;
}

const RELATIONSHIP: Record<string, string> = { SEL: 'self', '01': 'spouse', '18': 'self', SPO: 'spouse', CHD: 'child', '19': 'child', PAR: 'parent' };

/** IN1 segments → Coverage, found by payer and policy number. */
async function saveCoverages(ctx: MapContext, patient: Patient & { id: string }): Promise<void> {
  for (const in1 of ctx.message.getAllSegments('IN1')) {
    const policy = value(in1, 36) || value(in1, 49);
    const company = value(in1, 3) || value(in1, 4, 1) || value(in1, 2);
    if (!policy || !company) continue;
    const identifier = { system: `urn:cch:hl7:payer:${encodeURIComponent(company)}:member`, value: policy };
    const existing = await findByIdentifier<Coverage>(ctx.scope, 'Coverage', identifier);
    const start = fhirDate(value(in1, 12));
    const end = fhirDate(value(in1, 13));
    const plan = value(in1, 2);
    const group = value(in1, 8);
    const relationship = RELATIONSHIP[value(in1, 17).toUpperCase()] ?? (value(in1, 17) ? 'other' : undefined);
    const next: Coverage = {
      resourceType: 'Coverage',
      identifier: [identifier],
      status: end && end < new Date().toISOString().slice(0, 10) ? 'cancelled' : 'active',
      subscriberId: policy,
      beneficiary: { reference: `Patient/${patient.id}` },
      ...(relationship ? { relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: relationship }] } } : {}),
      ...(start || end ? { period: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
      payor: [{ display: value(in1, 4) || company }],
      ...(plan || group
        ? {
            class: [
              ...(group ? [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'group' }] }, value: group }] : []),
              ...(plan ? [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: plan }] : []),
            ],
          }
        : {}),
    };
    ctx.track(await save(ctx.scope, existing, next));
  }
}

/** A40: the prior Patient (MRG-1) is replaced by the surviving one (PID). */
async function mergePatients(ctx: MapContext, survivor: Patient & { id: string }): Promise<void> {
  const prior = await findPatient(ctx, identifiersOf(ctx.message.getSegment('MRG'), 1, ctx.facility.sendingFacility || ctx.facility.sendingApplication));
  if (!prior || prior.id === survivor.id) return;
  const link = (other: string, type: 'replaced-by' | 'replaces') => ({ other: { reference: `Patient/${other}` }, type });
  const withLink = (patient: Patient, other: string, type: 'replaced-by' | 'replaces') => [
    ...(patient.link ?? []).filter((l) => l.other.reference !== `Patient/${other}`),
    link(other, type),
  ];
  ctx.track(await save(ctx.scope, prior, { ...prior, active: false, link: withLink(prior, survivor.id, 'replaced-by') }));
  ctx.track(await save(ctx.scope, survivor, { ...survivor, link: withLink(survivor, prior.id, 'replaces') }));
}

export async function mapAdt(ctx: MapContext): Promise<void> {
  const { resource: patient } = await savePatient(ctx);
  if (ctx.header.triggerEvent === 'A40') {
    await mergePatients(ctx, patient);
    return;
  }
  const encounter = await saveEncounter(ctx, patient);
  await saveCoverages(ctx, patient);
  const subject: Reference = { reference: `Patient/${patient.id}` };
  await saveZCodeConditions(ctx, subject);
  await runAdtTriggers(ctx, patient, encounter);
}
