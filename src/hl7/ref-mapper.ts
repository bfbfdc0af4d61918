// REF^I12 (new referral), I13 (modify), I14 (cancel) → an SDOHCC ServiceRequest and the referral Task
// the referral source (the facility's Organization) asks the hub to fulfil: owner the hub, requester the
// facility. That is the shape of a FHIR referral to the hub, so writing the Task starts routing
// (src/referrals/referral-events.ts) exactly as a POSTed one does.
//   RF1-2 priority (S stat, A asap, R routine), RF1-3 referral type → category (SDOHCC codes; or text),
//   RF1-6 originating referral id → the identifier both resources are found by (I13/I14 name it too),
//   RF1-7 effective date → authoredOn, PR1-3 → code (the service), DG1 → reasonCode + Z-code Conditions, NTE → note.
import type { CodeableConcept, ServiceRequest, Task } from 'fhir/r4';
import { SDOHCC_CODES } from '../sdoh/sdoh-codes.ts';
import { saveZCodeConditions } from './conditions-mapper.ts';
import { codeableConcept, component, repetitions, value } from './hl7-fields.ts';
import { Hl7MappingError } from './hl7-mapping-error.ts';
import { fhirDateTime } from './hl7-text.ts';
import type { MapContext } from './map-context.ts';
import { savePatient } from './patient-mapper.ts';
import { findByIdentifier, save } from './resource-writer.ts';

const SR_PROFILE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest';
const TASK_PROFILE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement';
const PRIORITY: Record<string, ServiceRequest['priority']> = { S: 'stat', A: 'asap', R: 'routine' };
const OPEN: ReadonlySet<string> = new Set(['draft', 'requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);

/** RF1-3 as an SDOHCC category: coded in SDOHCC, or a category code or name in any system. */
function category(rf1: ReturnType<MapContext['message']['getSegment']>): CodeableConcept | undefined {
  const rep = repetitions(rf1, 3)[0];
  const given = codeableConcept(rep);
  if (!given) return undefined;
  const sdohcc = given.coding?.find((coding) => coding.system === SDOHCC_CODES);
  if (sdohcc) return { coding: [sdohcc] };
  const slug = (component(rep, 1) || component(rep, 2)).toLowerCase().replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '');
  return /^[a-z-]+-(insecurity|instability)$|^homelessness$|^inadequate-housing$/.test(slug) ? { coding: [{ system: SDOHCC_CODES, code: slug }] } : given;
}

export async function mapRef(ctx: MapContext): Promise<void> {
  const rf1 = ctx.message.getSegment('RF1');
  const referralId = value(rf1, 6);
  if (!referralId) throw new Hl7MappingError('RF1-6 (originating referral identifier) is required');
  const identifier = {
    system: `urn:cch:hl7:${encodeURIComponent(ctx.facility.sendingApplication)}:${encodeURIComponent(ctx.facility.sendingFacility)}:referral`,
    value: referralId,
  };
  const { resource: patient } = await savePatient(ctx);
  const subject = { reference: `Patient/${patient.id}` };
  const existingRequest = await findByIdentifier<ServiceRequest>(ctx.scope, 'ServiceRequest', identifier);
  const existingTask = await findByIdentifier<Task>(ctx.scope, 'Task', identifier);
  const event = ctx.header.triggerEvent;

  if (event === 'I14') {
    // Cancel: the source Task cancelled (routing then cancels the hub's Tasks), the request revoked.
    if (existingTask && OPEN.has(existingTask.status)) {
      ctx.track(await save(ctx.scope, existingTask, { ...existingTask, status: 'cancelled', statusReason: { text: 'Cancelled by the referring facility (REF^I14)' }, lastModified: new Date().toISOString() }));
    }
    if (existingRequest && existingRequest.status === 'active') ctx.track(await save(ctx.scope, existingRequest, { ...existingRequest, status: 'revoked' }));
    return;
  }

  const reasons = await saveZCodeConditions(ctx, subject);
  const dg1Codes = ctx.message.getAllSegments('DG1').flatMap((dg1) => codeableConcept(repetitions(dg1, 3)[0]) ?? []);
  const service = ctx.message.getAllSegments('PR1').flatMap((pr1) => codeableConcept(repetitions(pr1, 3)[0]) ?? [])[0];
  const categoryConcept = category(rf1);
  if (!categoryConcept && !service) throw new Hl7MappingError('RF1-3 (referral type) or PR1-3 (procedure code) is required: the referral names no service');
  const notes = ctx.message.getAllSegments('NTE').map((nte) => value(nte, 3)).filter(Boolean);
  const authoredOn = fhirDateTime(value(rf1, 7)) ?? existingRequest?.authoredOn ?? fhirDateTime(ctx.message.header.getComponent(7, 1)) ?? ctx.row.receivedAt;
  const priority = PRIORITY[value(rf1, 2).toUpperCase()] ?? 'routine';
  const request: ServiceRequest = {
    resourceType: 'ServiceRequest',
    meta: { profile: [SR_PROFILE] },
    identifier: [identifier],
    status: existingRequest?.status ?? 'active',
    intent: 'order',
    ...(categoryConcept ? { category: [categoryConcept] } : {}),
    code: service ?? categoryConcept!,
    priority,
    subject,
    authoredOn,
    requester: { reference: ctx.facility.organization },
    ...(dg1Codes.length ? { reasonCode: dg1Codes } : {}),
    ...(reasons.length ? { reasonReference: reasons } : {}),
    ...(notes.length ? { note: notes.map((text) => ({ text })) } : {}),
  };
  const savedRequest = await save(ctx.scope, existingRequest, request);
  ctx.track(savedRequest);
  if (existingTask) return; // an I13 changes the request; the Task and its routing go on
  const task: Task = {
    resourceType: 'Task',
    meta: { profile: [TASK_PROFILE] },
    identifier: [identifier],
    status: 'requested',
    intent: 'order',
    priority,
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: `ServiceRequest/${savedRequest.resource.id}` },
    for: subject,
    authoredOn,
    requester: { reference: ctx.facility.organization },
    owner: { reference: ctx.hubOrganization },
  };
  ctx.track(await save(ctx.scope, undefined, task));
}
