// Interventions (sns-e-terminology.md 1.7, 1.8): a completed Procedure whose code is in the value set of
// a need found positive on the first positive day (housing: the matching subtype; any of them when
// several were found that day), performed from that day to `interventionDays` after, inclusive, and
// not after the period's end.
import type { Procedure } from 'fhir/r4';
import { dayOf } from './calendar-days.ts';
import { referenceOf, type Evidence } from './member-data.ts';
import type { DomainKey, SnsERules } from './sns-e-config.ts';

export const performedDay = (procedure: Procedure): number | undefined => dayOf(procedure.performedDateTime ?? procedure.performedPeriod?.start);

export function matchingIntervention(
  rules: SnsERules,
  domain: DomainKey,
  procedures: readonly Procedure[],
  anchor: { day: number; subtypes: string[] },
  periodEnd: number,
): Evidence | undefined {
  const { config } = rules;
  const valueSets = anchor.subtypes.map((subtype) => config.domains[domain].subtypes[subtype]?.interventions).filter((key): key is string => !!key);
  const last = Math.min(anchor.day + config.interventionDays, periodEnd);
  const found = procedures
    .filter((procedure) => config.interventionStatuses.includes(procedure.status))
    .map((procedure) => ({ procedure, day: performedDay(procedure) }))
    .filter((entry): entry is { procedure: Procedure; day: number } => entry.day !== undefined && entry.day >= anchor.day && entry.day <= last)
    .filter(({ procedure }) => valueSets.some((key) => rules.inValueSet(key, procedure.code?.coding)))
    .sort((a, b) => a.day - b.day)[0];
  return found ? { reference: referenceOf(found.procedure), day: found.day } : undefined;
}
