// The SNS-E rules' data: instrument questions and positive answers, value sets, windows, enrollment
// and measurement-year switches, read from terminology/sns-e-measure/ (sources and licences in
// terminology/README.md). The rules engine takes every code from here; none is written in the code.
import fs from 'node:fs';
import path from 'node:path';
import type { Coding } from 'fhir/r4';

export const SNS_E_TERMINOLOGY_DIR = path.resolve(import.meta.dirname, '../../../terminology/sns-e-measure');

export type DomainKey = 'food' | 'housing' | 'transportation';
export const DOMAINS: readonly DomainKey[] = ['food', 'housing', 'transportation'];

export interface QuestionRule {
  /** Answer code → the subtype (need) it shows; subtypes key `DomainRule.subtypes`. */
  positive: Record<string, string>;
}

export interface DomainRule {
  screeningGroup: string;
  interventionGroup: string;
  /** By LOINC question code. */
  questions: Record<string, QuestionRule>;
  /** By subtype: the value set keys of its interventions and of its Z codes. */
  subtypes: Record<string, { interventions: string; zCodes: string }>;
}

export interface AgeBand {
  code: string;
  display: string;
  min?: number;
  max?: number;
}

export interface MeasurementYearRule {
  from: number;
  to?: number;
  /** Value set key of claim/procedure codes that count as a screening for every domain, or null. */
  claimScreening: string | null;
  /** Whether ICD-10-CM Z codes create positive findings (intervention denominators). */
  zCodePositives: boolean;
}

export interface SnsEConfig {
  version: string;
  systems: { loinc: string; aliases: Record<string, string> };
  enrollment: { maxGaps: number; maxGapDays: number; requireEnrolledOnLastDay: boolean };
  screeningWindow: { endMonth: number; endDay: number };
  interventionDays: number;
  screeningStatuses: string[];
  interventionStatuses: string[];
  declinedAnswers: { codes: string[]; countAsScreening: boolean };
  nullCountsAsScreening: string[];
  ageBands: AgeBand[];
  domains: Record<DomainKey, DomainRule>;
  exclusions: { hospice: string; death: boolean };
  measurementYears: MeasurementYearRule[];
}

export interface ValueSetData {
  name: string;
  oid?: string;
  codes: { system: string; code: string; display: string }[];
}

/** The config with its value sets, and code lookups built once. */
export class SnsERules {
  readonly config: SnsEConfig;
  readonly #valueSets = new Map<string, Set<string>>();

  constructor(config: SnsEConfig, valueSets: Record<string, ValueSetData>) {
    this.config = config;
    for (const [key, valueSet] of Object.entries(valueSets)) {
      this.#valueSets.set(key, new Set(valueSet.codes.map((c) => `${this.system(c.system)}|${c.code}`)));
    }
    // A key the config names but the value set file lacks is a broken edition: fail at start.
    const named = [
      config.exclusions.hospice,
      ...config.measurementYears.flatMap((year) => (year.claimScreening ? [year.claimScreening] : [])),
      ...DOMAINS.flatMap((domain) => Object.values(config.domains[domain].subtypes).flatMap((s) => [s.interventions, s.zCodes])),
    ];
    for (const key of named) if (!this.#valueSets.has(key)) throw new Error(`SNS-E config names value set '${key}', which sns-e-value-sets.json lacks`);
  }

  static load(dir = SNS_E_TERMINOLOGY_DIR): SnsERules {
    const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as unknown;
    const config = read('sns-e-config.json') as SnsEConfig;
    const valueSets = (read('sns-e-value-sets.json') as { valueSets: Record<string, ValueSetData> }).valueSets;
    return new SnsERules(config, valueSets);
  }

  /** The canonical system URI (aliases such as the HCPCS OID folded in). */
  system(system: string | undefined): string {
    return system ? (this.config.systems.aliases[system] ?? system) : '';
  }

  /** Whether any of `codings` is in the value set `key`. */
  inValueSet(key: string, codings: readonly Coding[] | undefined): boolean {
    const set = this.#valueSets.get(key);
    return !!set && (codings ?? []).some((c) => c.code !== undefined && set.has(`${this.system(c.system)}|${c.code}`));
  }

  /** The switches of measurement year `year` (the latest rule that starts by then). */
  year(year: number): MeasurementYearRule {
    const rule = this.config.measurementYears.find((r) => r.from <= year && (r.to === undefined || year <= r.to));
    return rule ?? [...this.config.measurementYears].sort((a, b) => b.from - a.from).find((r) => r.from <= year) ?? this.config.measurementYears[0];
  }

  /** Every LOINC question code of the three domains (for narrowing what is read). */
  questionCodes(): string[] {
    return DOMAINS.flatMap((domain) => Object.keys(this.config.domains[domain].questions));
  }
}
