// Care-coordination triggers of ADT events (HL7_TRIGGERS, default both):
//   discharge-food-referral  A03 of a patient with an open food referral at a CBO → a Communication to
//                            that CBO about its Task (date and facility only, no clinical content)
//   ed-screening             A04 with patient class E of a patient with no SDOH screening this calendar
//                            year → a screening Task for hub staff (owned and requested by the hub, so
//                            referral routing leaves it alone), one per patient and year
// Both are idempotent on an identifier, so re-processing the message creates nothing more.
import type { Communication, Encounter, Observation, Patient, ServiceRequest, Task } from 'fhir/r4';
import { SDOHCC_CODES } from '../sdoh/sdoh-codes.ts';
import { value } from './hl7-fields.ts';
import { fhirDateTime } from './hl7-text.ts';
import type { MapContext } from './map-context.ts';
import { findByIdentifier, readById, save, search } from './resource-writer.ts';

export const TRIGGERS = ['discharge-food-referral', 'ed-screening'] as const;
export type TriggerName = (typeof TRIGGERS)[number];

export interface TriggerSettings {
  enabled: ReadonlySet<TriggerName>;
}

const TRIGGER_SYSTEM = 'urn:cch:hl7-trigger';
const OPEN_TASK = 'requested,accepted,in-progress,on-hold,received,ready';

async function notifyFoodReferralCbos(ctx: MapContext, patient: Patient & { id: string }, encounter: Encounter | undefined): Promise<void> {
  const tasks = await search<Task>(ctx.scope, 'Task', { patient: `Patient/${patient.id}`, status: OPEN_TASK, _count: '100' });
  const atCbo = tasks.filter((task) => task.requester?.reference === ctx.hubOrganization && task.owner?.reference && task.owner.reference !== ctx.hubOrganization);
  const discharged = encounter?.period?.end ?? fhirDateTime(value(ctx.message.getSegment('EVN'), 2)) ?? new Date().toISOString();
  for (const task of atCbo) {
    const srId = /^ServiceRequest\/([A-Za-z0-9\-.]{1,64})$/.exec(task.focus?.reference ?? '')?.[1];
    const request = srId ? await readById<ServiceRequest>(ctx.scope, 'ServiceRequest', srId) : undefined;
    const isFood = (request?.category ?? []).some((concept) => concept.coding?.some((c) => c.system === SDOHCC_CODES && c.code === 'food-insecurity'));
    if (!isFood) continue;
    const identifier = { system: TRIGGER_SYSTEM, value: `discharge-food-referral|${ctx.row.id}|Task/${task.id}` };
    const existing = await findByIdentifier<Communication>(ctx.scope, 'Communication', identifier);
    if (existing) continue;
    const communication: Communication = {
      resourceType: 'Communication',
      identifier: [identifier],
      status: 'completed',
      category: [{ text: 'Hospital discharge notice' }],
      subject: { reference: `Patient/${patient.id}` },
      about: [{ reference: `Task/${task.id}` }],
      sent: new Date().toISOString(),
      sender: { reference: ctx.hubOrganization },
      recipient: [task.owner!],
      payload: [{ contentString: `The member of this food referral was discharged on ${discharged.slice(0, 10)}; please confirm meal delivery is in place.` }],
    };
    ctx.track(await save(ctx.scope, undefined, communication));
  }
}

async function requestEdScreening(ctx: MapContext, patient: Patient & { id: string }, encounter: Encounter | undefined): Promise<void> {
  const year = new Date().getUTCFullYear();
  const screenings = await search<Observation>(ctx.scope, 'Observation', { subject: `Patient/${patient.id}`, category: 'sdoh', date: `ge${year}-01-01`, _count: '1' });
  if (screenings.length) return;
  const identifier = { system: TRIGGER_SYSTEM, value: `ed-screening|Patient/${patient.id}|${year}` };
  if (await findByIdentifier<Task>(ctx.scope, 'Task', identifier)) return;
  const task: Task = {
    resourceType: 'Task',
    identifier: [identifier],
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }], text: 'SDOH screening' },
    description: 'ED registration of a member without an SDOH screening this year: screen for health-related social needs.',
    for: { reference: `Patient/${patient.id}` },
    ...(encounter?.id ? { encounter: { reference: `Encounter/${encounter.id}` } } : {}),
    authoredOn: new Date().toISOString(),
    requester: { reference: ctx.hubOrganization },
    owner: { reference: ctx.hubOrganization },
  };
  ctx.track(await save(ctx.scope, undefined, task));
}

export async function runAdtTriggers(ctx: MapContext, patient: Patient & { id: string }, encounter: Encounter | undefined): Promise<void> {
  const event = ctx.header.triggerEvent;
  if (event === 'A03' && ctx.triggers.enabled.has('discharge-food-referral')) await notifyFoodReferralCbos(ctx, patient, encounter);
  const emergency = value(ctx.message.getSegment('PV1'), 2).toUpperCase() === 'E';
  if (event === 'A04' && emergency && ctx.triggers.enabled.has('ed-screening')) await requestEdScreening(ctx, patient, encounter);
}
