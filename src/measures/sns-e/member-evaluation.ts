// One member against the SNS-E rules (sns-e-terminology.md 1.11): which populations of each of the six
// rates they fall in, their age band, and the resources that decided it (evaluatedResource).
import { ageOn, dayFromParts, yearOfDay } from './calendar-days.ts';
import { continuousEnrollment } from './enrollment.ts';
import { exclusionOf } from './exclusion.ts';
import { matchingIntervention } from './intervention.ts';
import { referenceOf, type MemberData } from './member-data.ts';
import { POPULATIONS, type PopulationCode } from './measure-definition.ts';
import { domainScreening, firstPositive } from './screening.ts';
import { DOMAINS, type SnsERules } from './sns-e-config.ts';

export interface EvaluationPeriod {
  /** Days (calendar-days.ts). */
  start: number;
  end: number;
}

export interface MemberResult {
  patient: string;
  /** Age band code, or undefined without a birth date. */
  ageBand?: string;
  /** Per rate code: the populations the member is in. */
  groups: Record<string, Set<PopulationCode>>;
  evaluated: Set<string>;
}

export function ageBandOf(rules: SnsERules, birthDate: string | undefined, on: number): string | undefined {
  const age = birthDate ? ageOn(birthDate, on) : undefined;
  if (age === undefined) return undefined;
  return rules.config.ageBands.find((band) => (band.min === undefined || age >= band.min) && (band.max === undefined || age <= band.max))?.code;
}

export function evaluateMember(rules: SnsERules, data: MemberData, period: EvaluationPeriod): MemberResult {
  const { config } = rules;
  const result: MemberResult = {
    patient: referenceOf(data.patient),
    ageBand: ageBandOf(rules, data.patient.birthDate, period.end),
    groups: {},
    evaluated: new Set([referenceOf(data.patient)]),
  };
  for (const domain of DOMAINS) {
    result.groups[config.domains[domain].screeningGroup] = new Set();
    result.groups[config.domains[domain].interventionGroup] = new Set();
  }
  const enrollment = continuousEnrollment(data.coverages, period.start, period.end, config.enrollment);
  if (!enrollment.eligible) return result;
  for (const coverage of data.coverages) result.evaluated.add(referenceOf(coverage));

  const measurementYear = yearOfDay(period.start);
  const year = rules.year(measurementYear);
  const window = { start: period.start, end: Math.min(period.end, dayFromParts(measurementYear, config.screeningWindow.endMonth, config.screeningWindow.endDay)) };
  const exclusion = exclusionOf(rules, data, period);
  if (exclusion) result.evaluated.add(exclusion.reference);

  for (const domain of DOMAINS) {
    const rule = config.domains[domain];
    const screening = domainScreening(rules, domain, data, window, year);
    const screeningGroup = result.groups[rule.screeningGroup];
    screeningGroup.add('initial-population').add('denominator');
    if (exclusion) screeningGroup.add('denominator-exclusion');
    else if (screening.screens.length) {
      screeningGroup.add('numerator');
      for (const screen of screening.screens) result.evaluated.add(screen.reference);
    }
    const interventionGroup = result.groups[rule.interventionGroup];
    interventionGroup.add('initial-population');
    const first = firstPositive(screening.positives);
    if (!first) continue;
    interventionGroup.add('denominator');
    for (const reference of first.evidence) result.evaluated.add(reference);
    if (exclusion) {
      interventionGroup.add('denominator-exclusion');
      continue;
    }
    const intervention = matchingIntervention(rules, domain, data.procedures, first, period.end);
    if (intervention) {
      interventionGroup.add('numerator');
      result.evaluated.add(intervention.reference);
    }
  }
  return result;
}

export { POPULATIONS };
