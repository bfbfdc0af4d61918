// The SNS-E Measure resource (id `sns-e`), stored at start: six rates (groups), each with the four
// proportion populations, stratified by age band on the period's last day (sns-e-terminology.md 1.2,
// 5.4). The rules run in TypeScript (src/measures/sns-e), not CQL, so no Library is attached: each
// criteria names a CQFM-style define ('text/cql' is the R4 schema's one fitting Expression language) and
// says in `description` what the TypeScript rule does.
import type { Measure, MeasureGroup } from 'fhir/r4';
import { DOMAINS, type SnsERules } from './sns-e-config.ts';

export const SNS_E_ID = 'sns-e';
const BASE = 'http://cch-fhir-server.example.org/fhir';
export const SNS_E_URL = `${BASE}/Measure/${SNS_E_ID}`;
export const RATE_SYSTEM = `${BASE}/CodeSystem/sns-e-rate`;
export const STRATIFIER_SYSTEM = `${BASE}/CodeSystem/sns-e-stratifier`;
export const AGE_BAND_SYSTEM = `${BASE}/CodeSystem/sns-e-age-band`;
export const POPULATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/measure-population';

export const POPULATIONS = ['initial-population', 'denominator', 'denominator-exclusion', 'numerator'] as const;
export type PopulationCode = (typeof POPULATIONS)[number];

const POPULATION_DISPLAY: Record<PopulationCode, string> = {
  'initial-population': 'Initial Population',
  denominator: 'Denominator',
  'denominator-exclusion': 'Denominator Exclusion',
  numerator: 'Numerator',
};

const define = (name: string, description: string) => ({ language: 'text/cql', expression: name, description });

function group(code: string, screening: boolean, domain: string): MeasureGroup {
  const criteria: Record<PopulationCode, string> = {
    'initial-population': 'Members continuously enrolled in the period (at most one gap of at most 45 days), enrolled on its last day',
    denominator: screening ? 'The initial population' : `Members with a positive ${domain} screen (or, through MY2025, a ${domain} Z code) from January 1 to December 1`,
    'denominator-exclusion': 'Members in hospice, or who died, at any time in the period',
    numerator: screening
      ? `A documented result of a ${domain} screening instrument from January 1 to December 1`
      : `A ${domain} intervention (matching the housing need found) from the first positive screen to 30 days after, inclusive`,
  };
  return {
    code: { coding: [{ system: RATE_SYSTEM, code }] },
    population: POPULATIONS.map((population) => ({
      code: { coding: [{ system: POPULATION_SYSTEM, code: population, display: POPULATION_DISPLAY[population] }] },
      criteria: define(POPULATION_DISPLAY[population], criteria[population]),
    })),
    stratifier: [{ code: { coding: [{ system: STRATIFIER_SYSTEM, code: 'age-band' }] }, criteria: define('Age Band', 'Age on the last day of the period: le17, 18-64, 65plus') }],
  };
}

export function snsEMeasure(rules: SnsERules): Measure {
  return {
    resourceType: 'Measure',
    id: SNS_E_ID,
    url: SNS_E_URL,
    version: rules.config.version,
    name: 'SNSE',
    title: 'Social Need Screening and Intervention (SNS-E)',
    status: 'active',
    experimental: false,
    description:
      'The percentage of members who were screened, using prespecified instruments, at least once during the measurement period for unmet food, housing and transportation needs, and received a corresponding intervention if they screened positive.',
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: 'proportion' }] },
    improvementNotation: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-improvement-notation', code: 'increase' }] },
    group: DOMAINS.flatMap((domain) => {
      const rule = rules.config.domains[domain];
      return [group(rule.screeningGroup, true, domain), group(rule.interventionGroup, false, domain)];
    }),
  };
}
