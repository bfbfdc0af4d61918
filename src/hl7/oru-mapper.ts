// ORU^R01 with SDOH screening results → the screening-to-findings mapping of src/sdoh/: each OBR is a
// screening (OBR-4 the instrument's LOINC panel, e.g. 88121-9 Hunger Vital Sign), each OBX one answer
// (OBX-3 the LOINC question, OBX-5 the LOINC answer, OBX-11 result status, OBX-14 when). They are
// read as screening Observations and handed to findingsFromObservations, which makes the SDOHCC
// screening responses, the panel and the Conditions; those are stored as conditional creates on
// their finding identifiers (as Observation/$sdoh-findings does), so a second run finds them.
import type { BundleEntry, Observation, Reference } from 'fhir/r4';
import type { Hl7Segment } from '@medplum/core';
import { processTransaction } from '../fhir/bundle/transaction.ts';
import { identifierCriteria, placeholderFor } from '../sdoh/finding-identifiers.ts';
import type { ScreeningObservation } from '../sdoh/observation-answers.ts';
import { findingsFromObservations } from '../sdoh/screening-findings.ts';
import { ScreeningInputError } from '../sdoh/screening-issue.ts';
import { saveZCodeConditions } from './conditions-mapper.ts';
import { codeableConcept, component, repetitions, value } from './hl7-fields.ts';
import { Hl7MappingError } from './hl7-mapping-error.ts';
import { fhirDateTime } from './hl7-text.ts';
import type { MapContext } from './map-context.ts';
import { savePatient } from './patient-mapper.ts';

const STATUS: Record<string, Observation['status']> = { F: 'final', C: 'corrected', P: 'preliminary', R: 'preliminary', X: 'cancelled', D: 'entered-in-error' };

/** OBX-5 as the Observation's value, by OBX-2 value type. */
function observationValue(obx: Hl7Segment): Partial<Observation> {
  const type = value(obx, 2).toUpperCase();
  const rep = repetitions(obx, 5)[0];
  if (!rep) return {};
  if (type === 'CE' || type === 'CWE' || type === 'CNE') {
    const concept = codeableConcept(rep);
    return concept ? { valueCodeableConcept: concept } : {};
  }
  if (type === 'NM') {
    const number = Number(component(rep, 1));
    if (!Number.isFinite(number)) return {};
    return Number.isInteger(number) ? { valueInteger: number } : { valueQuantity: { value: number } };
  }
  const text = component(rep, 1);
  return text ? { valueString: text } : {};
}

/** The OBX segments that follow each OBR (ORU_R01 groups them so). */
function screenings(ctx: MapContext): { obr: Hl7Segment; obx: Hl7Segment[] }[] {
  const groups: { obr: Hl7Segment; obx: Hl7Segment[] }[] = [];
  for (const segment of ctx.message.segments) {
    if (segment.name === 'OBR') groups.push({ obr: segment, obx: [] });
    else if (segment.name === 'OBX' && groups.length) groups[groups.length - 1].obx.push(segment);
  }
  return groups;
}

export async function mapOru(ctx: MapContext): Promise<void> {
  const { resource: patient } = await savePatient(ctx);
  const subject: Reference = { reference: `Patient/${patient.id}` };
  const system = `urn:cch:hl7:${encodeURIComponent(ctx.facility.sendingApplication)}:${encodeURIComponent(ctx.facility.sendingFacility)}:result`;
  const groups = screenings(ctx);
  if (!groups.length) throw new Hl7MappingError('ORU^R01 without an OBR segment');
  for (const [index, { obr, obx }] of groups.entries()) {
    const orderId = value(obr, 3) || value(obr, 2) || `${ctx.header.controlId}-${index + 1}`;
    const when = fhirDateTime(value(obr, 7)) ?? fhirDateTime(ctx.message.header.getComponent(7, 1)) ?? ctx.row.receivedAt;
    const members: ScreeningObservation[] = obx.map((segment, position) => {
      const identifier = { system, value: `${orderId}|${value(segment, 1) || position + 1}|${value(segment, 3)}` };
      const resource: Observation = {
        resourceType: 'Observation',
        identifier: [identifier],
        status: STATUS[value(segment, 11).toUpperCase()] ?? 'final',
        code: codeableConcept(repetitions(segment, 3)[0]) ?? { text: 'unknown' },
        subject,
        effectiveDateTime: fhirDateTime(value(segment, 14)) ?? when,
        ...observationValue(segment),
      };
      return { resource, fullUrl: placeholderFor(identifier), expression: `OBX[${position + 1}]` };
    });
    const panelIdentifier = { system, value: orderId };
    const panel: ScreeningObservation = {
      resource: {
        resourceType: 'Observation',
        identifier: [panelIdentifier],
        status: 'final',
        code: codeableConcept(repetitions(obr, 4)[0]) ?? { text: 'screening' },
        subject,
        effectiveDateTime: when,
        hasMember: members.map((member) => ({ reference: member.fullUrl })),
      },
      fullUrl: placeholderFor(panelIdentifier),
      expression: `OBR[${index + 1}]`,
    };
    let findings;
    try {
      findings = findingsFromObservations([panel, ...members], ctx.terminology);
    } catch (error) {
      if (error instanceof ScreeningInputError) throw new Hl7MappingError(`Not an SDOH screening the hub reads (${error.expression ?? 'OBR-4'})`);
      throw error;
    }
    const entries: BundleEntry[] = findings.entries.map(({ fullUrl, resource, identifier }) => ({
      fullUrl,
      resource,
      request: { method: 'POST', url: resource.resourceType, ifNoneExist: identifierCriteria(identifier) },
    }));
    const bundle = await processTransaction(ctx.scope, entries, true);
    for (const entry of bundle.entry ?? []) {
      if (!entry.resource?.id) continue;
      ctx.track({ resource: entry.resource as never, changed: entry.response?.status?.startsWith('201') ?? false });
    }
  }
  await saveZCodeConditions(ctx, subject);
}
