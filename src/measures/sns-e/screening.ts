// Screenings and positive findings of one domain in the screening window (sns-e-terminology.md 1.5, 1.6):
// - a screening is a coded answer (final, amended or corrected) to one of the domain's instrument
//   questions; a declined answer is not one unless the config says so; the questions listed in
//   `nullCountsAsScreening` (PRAPARE 93031-3) count with no value at all (NCQA FAQ 000023667), but not
//   with a dataAbsentReason (the member declined);
// - a positive is an answer in the question's positive list, which also names the need (housing subtype);
// - through MY2025 (measurement-year data): the claim screening code (G0136) on a Procedure or Claim
//   line counts as a screening for every domain, and Z codes on a Condition or Claim create positives.
import type { CodeableConcept, Coding, Observation } from 'fhir/r4';
import { dayOf } from './calendar-days.ts';
import { referenceOf, type Evidence, type MemberData } from './member-data.ts';
import type { DomainKey, MeasurementYearRule, SnsERules } from './sns-e-config.ts';

export interface Positive extends Evidence {
  /** The needs (domain subtypes) it shows. */
  subtypes: string[];
}

export interface DomainScreening {
  screens: Evidence[];
  positives: Positive[];
}

export interface Window {
  start: number;
  end: number;
}

const inWindow = (day: number | undefined, window: Window): day is number => day !== undefined && day >= window.start && day <= window.end;

export function observationDay(observation: Observation): number | undefined {
  return dayOf(observation.effectiveDateTime ?? observation.effectivePeriod?.start ?? observation.effectiveInstant ?? observation.issued);
}

interface Answer {
  code?: CodeableConcept;
  valueCodeableConcept?: CodeableConcept;
  dataAbsentReason?: CodeableConcept;
  [value: `value${string}`]: unknown;
}

const hasValue = (answer: Answer): boolean => Object.keys(answer).some((key) => key.startsWith('value'));

/** The question/answer pairs of an Observation: itself and its components. */
function answersOf(observation: Observation): Answer[] {
  return [observation as unknown as Answer, ...((observation.component ?? []) as unknown as Answer[])];
}

/** How one answer reads for the domain: not a screening, a screening, or a positive with its needs. */
function readAnswer(rules: SnsERules, domain: DomainKey, answer: Answer): { screen: boolean; subtypes: string[] } {
  const { config } = rules;
  const loinc = config.systems.loinc;
  const question = (answer.code?.coding ?? []).find((c) => c.system === loinc && c.code && config.domains[domain].questions[c.code]);
  if (!question) return { screen: false, subtypes: [] };
  const rule = config.domains[domain].questions[question.code!];
  if (!hasValue(answer)) {
    const screen = !answer.dataAbsentReason && config.nullCountsAsScreening.includes(question.code!);
    return { screen, subtypes: [] };
  }
  const codes = (answer.valueCodeableConcept?.coding ?? []).filter((c: Coding) => c.system === loinc && c.code).map((c) => c.code!);
  if (codes.length === 0) return { screen: false, subtypes: [] }; // not a coded answer
  const declined = codes.every((code) => config.declinedAnswers.codes.includes(code));
  if (declined && !config.declinedAnswers.countAsScreening) return { screen: false, subtypes: [] };
  const subtypes = [...new Set(codes.flatMap((code) => (rule.positive[code] ? [rule.positive[code]] : [])))];
  return { screen: true, subtypes };
}

export function domainScreening(rules: SnsERules, domain: DomainKey, data: MemberData, window: Window, year: MeasurementYearRule): DomainScreening {
  const screens: Evidence[] = [];
  const positives: Positive[] = [];
  const statuses = rules.config.screeningStatuses;
  for (const observation of data.observations) {
    if (!statuses.includes(observation.status)) continue; // entered-in-error, preliminary, cancelled…
    const day = observationDay(observation);
    if (!inWindow(day, window)) continue;
    let screen = false;
    const subtypes = new Set<string>();
    for (const answer of answersOf(observation)) {
      const read = readAnswer(rules, domain, answer);
      screen ||= read.screen;
      for (const subtype of read.subtypes) subtypes.add(subtype);
    }
    if (!screen) continue;
    const reference = referenceOf(observation);
    screens.push({ reference, day });
    if (subtypes.size) positives.push({ reference, day, subtypes: [...subtypes] });
  }
  if (year.claimScreening) {
    const key = year.claimScreening;
    for (const procedure of data.procedures) {
      const day = dayOf(procedure.performedDateTime ?? procedure.performedPeriod?.start);
      if (procedure.status === 'completed' && inWindow(day, window) && rules.inValueSet(key, procedure.code?.coding)) screens.push({ reference: referenceOf(procedure), day });
    }
    for (const claim of data.claims) {
      if (claim.status === 'entered-in-error' || claim.status === 'cancelled') continue;
      for (const item of claim.item ?? []) {
        const day = dayOf(item.servicedDate ?? item.servicedPeriod?.start ?? claim.billablePeriod?.start);
        if (inWindow(day, window) && rules.inValueSet(key, item.productOrService?.coding)) screens.push({ reference: referenceOf(claim), day });
      }
    }
  }
  if (year.zCodePositives) {
    const subtypes = Object.entries(rules.config.domains[domain].subtypes);
    const zPositive = (reference: string, day: number | undefined, codings: Coding[] | undefined) => {
      if (!inWindow(day, window)) return;
      const found = subtypes.filter(([, sets]) => rules.inValueSet(sets.zCodes, codings)).map(([subtype]) => subtype);
      if (found.length) positives.push({ reference, day, subtypes: found });
    };
    for (const condition of data.conditions) {
      const verification = condition.verificationStatus?.coding?.map((c) => c.code) ?? [];
      if (verification.includes('entered-in-error') || verification.includes('refuted')) continue;
      zPositive(referenceOf(condition), dayOf(condition.onsetDateTime ?? condition.onsetPeriod?.start ?? condition.recordedDate), condition.code?.coding);
    }
    for (const claim of data.claims) {
      if (claim.status === 'entered-in-error' || claim.status === 'cancelled') continue;
      for (const diagnosis of claim.diagnosis ?? []) {
        zPositive(referenceOf(claim), dayOf(claim.billablePeriod?.start ?? claim.item?.[0]?.servicedDate ?? claim.created), diagnosis.diagnosisCodeableConcept?.coding);
      }
    }
  }
  return { screens, positives };
}

/** The first positive's day and the needs shown on that day (later positives do not move the anchor). */
export function firstPositive(positives: readonly Positive[]): { day: number; subtypes: string[]; evidence: string[] } | undefined {
  if (positives.length === 0) return undefined;
  const day = Math.min(...positives.map((p) => p.day));
  const onDay = positives.filter((p) => p.day === day);
  return { day, subtypes: [...new Set(onDay.flatMap((p) => p.subtypes))], evidence: onDay.map((p) => p.reference) };
}
