// Denominator exclusions (sns-e-terminology.md 1.4): hospice at any time in the period ([C]; codes from
// the hospice value set on a Procedure, Encounter, Condition, Observation or Claim line dated in the
// period) and death in the period ([I], HEDIS general guideline). A Patient marked deceased without a
// date is taken as deceased in the period ([I]: nothing says otherwise, and counting a dead member as
// a care gap is the worse error).
import { dayOf, lastDayOf } from './calendar-days.ts';
import { referenceOf, type MemberData } from './member-data.ts';
import type { Window } from './screening.ts';
import type { SnsERules } from './sns-e-config.ts';

export interface Exclusion {
  reason: 'hospice' | 'death';
  reference: string;
}

const overlaps = (from: number | undefined, to: number | undefined, window: Window) =>
  from !== undefined && from <= window.end && (to ?? from) >= window.start;

export function exclusionOf(rules: SnsERules, data: MemberData, period: Window): Exclusion | undefined {
  const { patient } = data;
  if (rules.config.exclusions.death) {
    const died = patient.deceasedDateTime ? dayOf(patient.deceasedDateTime) : undefined;
    if (patient.deceasedBoolean === true || (died !== undefined && died >= period.start && died <= period.end)) {
      return { reason: 'death', reference: referenceOf(patient) };
    }
  }
  const hospice = rules.config.exclusions.hospice;
  const hit = (codings: Parameters<SnsERules['inValueSet']>[1]) => rules.inValueSet(hospice, codings);
  for (const procedure of data.procedures) {
    if (procedure.status === 'entered-in-error' || procedure.status === 'not-done') continue;
    const from = dayOf(procedure.performedDateTime ?? procedure.performedPeriod?.start);
    if (overlaps(from, lastDayOf(procedure.performedPeriod?.end), period) && hit(procedure.code?.coding)) return { reason: 'hospice', reference: referenceOf(procedure) };
  }
  for (const encounter of data.encounters) {
    if (encounter.status === 'entered-in-error' || encounter.status === 'cancelled') continue;
    const codings = [...(encounter.type ?? []).flatMap((t) => t.coding ?? []), ...(encounter.serviceType?.coding ?? [])];
    if (overlaps(dayOf(encounter.period?.start), lastDayOf(encounter.period?.end), period) && hit(codings)) return { reason: 'hospice', reference: referenceOf(encounter) };
  }
  for (const condition of data.conditions) {
    if (condition.verificationStatus?.coding?.some((c) => c.code === 'entered-in-error' || c.code === 'refuted')) continue;
    const from = dayOf(condition.onsetDateTime ?? condition.onsetPeriod?.start ?? condition.recordedDate);
    const to = lastDayOf(condition.abatementDateTime ?? condition.abatementPeriod?.end) ?? period.end;
    if (overlaps(from, to, period) && hit(condition.code?.coding)) return { reason: 'hospice', reference: referenceOf(condition) };
  }
  for (const observation of data.observations) {
    if (observation.status === 'entered-in-error' || observation.status === 'cancelled') continue;
    const day = dayOf(observation.effectiveDateTime ?? observation.effectivePeriod?.start);
    if (overlaps(day, day, period) && (hit(observation.code?.coding) || hit(observation.valueCodeableConcept?.coding))) return { reason: 'hospice', reference: referenceOf(observation) };
  }
  for (const claim of data.claims) {
    if (claim.status === 'entered-in-error' || claim.status === 'cancelled') continue;
    for (const item of claim.item ?? []) {
      const day = dayOf(item.servicedDate ?? item.servicedPeriod?.start ?? claim.billablePeriod?.start);
      if (overlaps(day, day, period) && hit(item.productOrService?.coding)) return { reason: 'hospice', reference: referenceOf(claim) };
    }
  }
  return undefined;
}
