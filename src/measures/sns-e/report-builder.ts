// MeasureReports from member results (FHIR R4 MeasureReport; DEQM shapes, sns-e-terminology.md 5.2, 5.4):
//   summary       counts per rate and population, measureScore, the age-band stratifier
//   individual    one member's populations (count 0 or 1) and the evaluatedResource that decided them
//   subject-list  the summary plus, on each population with members, subjectResults pointing to a List of
//                 them. The Lists are contained resources (`#id`), as HAPI FHIR's clinical reasoning module
//                 returns them: an evaluation is a read and stores nothing.
// measureScore = NUM / (DEN − DENEX) (proportion scoring), left out when DEN − DENEX is 0.
import type { CodeableConcept, List, MeasureReport, MeasureReportGroup, MeasureReportGroupPopulation, MeasureReportGroupStratifierStratum, Reference } from 'fhir/r4';
import { isoDay } from './calendar-days.ts';
import { AGE_BAND_SYSTEM, POPULATION_SYSTEM, POPULATIONS, RATE_SYSTEM, SNS_E_URL, STRATIFIER_SYSTEM, type PopulationCode } from './measure-definition.ts';
import type { EvaluationPeriod, MemberResult } from './member-evaluation.ts';
import { DOMAINS, type SnsERules } from './sns-e-config.ts';

/** MeasureReport.extension naming the payer whose members were evaluated (MeasureReport.subject cannot be an Organization). */
export const REPORT_PAYER_EXTENSION = 'http://cch-fhir-server.example.org/fhir/StructureDefinition/measure-report-payer';

export type ReportKind = 'summary' | 'individual' | 'subject-list';

export interface ReportContext {
  period: EvaluationPeriod;
  reporter: string;
  /** Organization reference of the payer, when the population is a plan's. */
  payer?: string;
  /** The subject evaluated (Patient or Group), if one was named. */
  subject?: string;
}

type Counts = Record<PopulationCode, number>;
const zero = (): Counts => ({ 'initial-population': 0, denominator: 0, 'denominator-exclusion': 0, numerator: 0 });

export function measureScore(counts: Counts): number | undefined {
  const denominator = counts.denominator - counts['denominator-exclusion'];
  return denominator > 0 ? Number((counts.numerator / denominator).toFixed(6)) : undefined;
}

const populationCode = (code: PopulationCode): CodeableConcept => ({ coding: [{ system: POPULATION_SYSTEM, code }] });

function populations(counts: Counts, lists?: Record<PopulationCode, string | undefined>): MeasureReportGroupPopulation[] {
  return POPULATIONS.map((code) => {
    const population: MeasureReportGroupPopulation = { code: populationCode(code), count: counts[code] };
    const list = lists?.[code];
    if (list) population.subjectResults = { reference: `#${list}` };
    return population;
  });
}

function withScore<T extends { measureScore?: MeasureReportGroup['measureScore'] }>(target: T, counts: Counts): T {
  const score = measureScore(counts);
  if (score !== undefined) target.measureScore = { value: score };
  return target;
}

function base(kind: ReportKind, context: ReportContext): MeasureReport {
  const report: MeasureReport = {
    resourceType: 'MeasureReport',
    status: 'complete',
    type: kind,
    measure: SNS_E_URL,
    date: new Date().toISOString(),
    reporter: { reference: context.reporter },
    period: { start: isoDay(context.period.start), end: isoDay(context.period.end) },
    improvementNotation: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-improvement-notation', code: 'increase' }] },
  };
  if (context.subject) report.subject = { reference: context.subject };
  if (context.payer) report.extension = [{ url: REPORT_PAYER_EXTENSION, valueReference: { reference: context.payer } }];
  return report;
}

const rateCodes = (rules: SnsERules): string[] => DOMAINS.flatMap((domain) => [rules.config.domains[domain].screeningGroup, rules.config.domains[domain].interventionGroup]);

/** Adds one member's populations into running totals (so a whole plan need not be held in memory). */
export class SummaryTally {
  readonly #rules: SnsERules;
  readonly totals = new Map<string, Counts>();
  readonly strata = new Map<string, Map<string, Counts>>();
  /** Members per rate and population, kept only for subject-list reports. */
  readonly members?: Map<string, Record<PopulationCode, string[]>>;

  constructor(rules: SnsERules, keepMembers: boolean) {
    this.#rules = rules;
    for (const rate of rateCodes(rules)) {
      this.totals.set(rate, zero());
      this.strata.set(rate, new Map(rules.config.ageBands.map((band) => [band.code, zero()])));
    }
    if (keepMembers) this.members = new Map(rateCodes(rules).map((rate) => [rate, { 'initial-population': [], denominator: [], 'denominator-exclusion': [], numerator: [] }]));
  }

  add(result: MemberResult): void {
    for (const [rate, in_] of Object.entries(result.groups)) {
      const totals = this.totals.get(rate)!;
      const stratum = result.ageBand ? this.strata.get(rate)!.get(result.ageBand) : undefined;
      for (const population of in_) {
        totals[population]++;
        if (stratum) stratum[population]++;
        this.members?.get(rate)![population].push(result.patient);
      }
    }
  }

  report(kind: 'summary' | 'subject-list', context: ReportContext): MeasureReport {
    const report = base(kind, context);
    const contained: List[] = [];
    const bands = this.#rules.config.ageBands;
    report.group = rateCodes(this.#rules).map((rate) => {
      const counts = this.totals.get(rate)!;
      let lists: Record<PopulationCode, string | undefined> | undefined;
      if (kind === 'subject-list' && this.members) {
        const members = this.members.get(rate)!;
        lists = { 'initial-population': undefined, denominator: undefined, 'denominator-exclusion': undefined, numerator: undefined };
        for (const population of POPULATIONS) {
          if (members[population].length === 0) continue;
          const id = `${rate}-${population}`;
          lists[population] = id;
          contained.push({
            resourceType: 'List',
            id,
            status: 'current',
            mode: 'snapshot',
            title: `${rate} ${population}`,
            entry: members[population].map((patient) => ({ item: { reference: patient } as Reference })),
          });
        }
      }
      const group: MeasureReportGroup = { code: { coding: [{ system: RATE_SYSTEM, code: rate }] }, population: populations(counts, lists) };
      withScore(group, counts);
      group.stratifier = [
        {
          code: [{ coding: [{ system: STRATIFIER_SYSTEM, code: 'age-band' }] }],
          stratum: bands.map((band) => {
            const stratumCounts = this.strata.get(rate)!.get(band.code)!;
            const stratum: MeasureReportGroupStratifierStratum = { value: { coding: [{ system: AGE_BAND_SYSTEM, code: band.code, display: band.display }] }, population: populations(stratumCounts) };
            return withScore(stratum, stratumCounts);
          }),
        },
      ];
      return group;
    });
    if (contained.length) report.contained = contained;
    return report;
  }
}

/** One member's report: populations as 0/1 counts, and what was evaluated. */
export function individualReport(rules: SnsERules, result: MemberResult, context: ReportContext): MeasureReport {
  const report = base('individual', { ...context, subject: result.patient });
  report.group = rateCodes(rules).map((rate) => {
    const in_ = result.groups[rate] ?? new Set();
    const counts = zero();
    for (const population of in_) counts[population] = 1;
    return withScore({ code: { coding: [{ system: RATE_SYSTEM, code: rate }] }, population: populations(counts) } as MeasureReportGroup, counts);
  });
  report.evaluatedResource = [...result.evaluated].sort().map((reference) => ({ reference }));
  return report;
}
