// Evaluates a population chunk by chunk into a tally (summary / subject-list), or one member.
import type { Queryable } from '../../store/database.ts';
import { memberChunks, type LoadOptions } from './measure-data.ts';
import { evaluateMember, type EvaluationPeriod, type MemberResult } from './member-evaluation.ts';
import { SummaryTally } from './report-builder.ts';
import type { SnsERules } from './sns-e-config.ts';

export async function evaluatePopulation(
  q: Queryable,
  rules: SnsERules,
  patientIds: readonly string[],
  period: EvaluationPeriod,
  options: LoadOptions & { keepMembers?: boolean } = {},
): Promise<SummaryTally> {
  const tally = new SummaryTally(rules, options.keepMembers ?? false);
  for await (const chunk of memberChunks(q, patientIds, options)) {
    for (const data of chunk) tally.add(evaluateMember(rules, data, period));
  }
  return tally;
}

/** One member's result, or undefined when the patient is not there (or not admitted). */
export async function evaluateOne(q: Queryable, rules: SnsERules, patientId: string, period: EvaluationPeriod, options: LoadOptions = {}): Promise<MemberResult | undefined> {
  for await (const chunk of memberChunks(q, [patientId], options)) {
    if (chunk[0]) return evaluateMember(rules, chunk[0], period);
  }
  return undefined;
}
