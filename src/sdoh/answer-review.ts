// Decides, answer by answer, what a screening says before anything is built from it: answers to questions of
// another instrument, answers that are not options of their question and uncoded answers to coded questions
// are ignored; declined answers are kept but never positive; an answer repeated is kept once; a question
// answered in two ways (two answers to a single-answer question, or an exclusive answer such as "None of the
// above" or "I choose not to answer" beside others) is a conflict: all its answers are dropped and reported.
// Positivity is the hub's answer → SDOH domain ConceptMap, which depends on the question.
import { DECLINED_ANSWERS, LOINC } from './sdoh-codes.ts';
import { answerKey, describeValue, type ScreeningAnswer } from './screening-answer.ts';
import { applyInstrumentRules } from './instrument-rules.ts';
import { information, warning, type ScreeningIssue } from './screening-issue.ts';
import { instrumentQuestion, type ScreeningInstrument } from './screening-instruments.ts';
import type { ScreeningTerminology } from './screening-terminology.ts';

export interface ReviewedAnswer extends ScreeningAnswer {
  key: string;
  declined: boolean;
  /** SDOHCC domains in which the answer indicates a possible need; empty when it does not. */
  positiveCategories: string[];
}

export interface AnswerReview {
  /** Kept answers, in input order. */
  answers: ReviewedAnswer[];
  /** Questions whose answers stay on record but must not become Conditions (instrument rules). */
  disputed: Set<string>;
  issues: ScreeningIssue[];
}

function admit(instrument: ScreeningInstrument, answer: ScreeningAnswer, terminology: ScreeningTerminology): ReviewedAnswer | ScreeningIssue {
  const { question, value, expression } = answer;
  if (!instrumentQuestion(instrument, question)) {
    return warning('not-supported', `${question} is not a question of ${instrument.title}: ignored`, expression);
  }
  const key = answerKey(value);
  if (value.kind !== 'coding') {
    if (terminology.hasAnswerList(question)) return warning('code-invalid', `${question} takes a LOINC answer code, got ${describeValue(value)}: ignored`, expression);
    return { ...answer, key, declined: false, positiveCategories: [] };
  }
  const { system, code } = value.coding;
  if (system !== LOINC || !code) {
    const given = `${system ?? 'no system'}|${code ?? ''}`;
    return warning('code-invalid', `The answer to ${question} is not a LOINC answer code (${given}): ignored`, expression);
  }
  if (terminology.isAnswerOption(question, code) === false) {
    return warning('code-invalid', `${code} is not an answer option of ${question}: ignored`, expression);
  }
  const declined = DECLINED_ANSWERS.has(code);
  return { ...answer, key, declined, positiveCategories: declined ? [] : terminology.positiveCategories(question, code) };
}

/** An answer that rules out the others of a choose-all-that-apply question: declined, or a listed option that is not a need. */
function exclusive(answer: ReviewedAnswer, terminology: ScreeningTerminology): boolean {
  if (answer.declined) return true;
  return answer.value.kind === 'coding' && answer.positiveCategories.length === 0 && terminology.isAnswerOption(answer.question, answer.key) === true;
}

export function reviewAnswers(instrument: ScreeningInstrument, answers: ScreeningAnswer[], terminology: ScreeningTerminology): AnswerReview {
  const issues: ScreeningIssue[] = [];
  const admittedInOrder: ReviewedAnswer[] = [];
  const byQuestion = new Map<string, ReviewedAnswer[]>();
  for (const answer of answers) {
    const admitted = admit(instrument, answer, terminology);
    if ('severity' in admitted) {
      issues.push(admitted);
      continue;
    }
    const same = byQuestion.get(admitted.question) ?? [];
    if (same.some((other) => other.key === admitted.key)) {
      issues.push(information('duplicate', `${admitted.question} = ${describeValue(admitted.value)} is given twice: kept once`, admitted.expression));
      continue;
    }
    byQuestion.set(admitted.question, [...same, admitted]);
    admittedInOrder.push(admitted);
  }

  const kept = new Set<ReviewedAnswer>();
  for (const [question, given] of byQuestion) {
    const multiple = instrumentQuestion(instrument, question)?.multiple === true;
    const conflict = given.length > 1 && (!multiple || given.some((answer) => exclusive(answer, terminology)));
    if (conflict) {
      const ways = given.map((a) => describeValue(a.value)).join('; ');
      issues.push(warning('conflict', `${question} is answered in conflicting ways (${ways}): no finding is derived from it`, given[0].expression));
      continue;
    }
    for (const answer of given) kept.add(answer);
  }
  const reviewed = admittedInOrder.filter((answer) => kept.has(answer));

  for (const answer of reviewed) {
    if (answer.declined) {
      issues.push(information('informational', `${answer.question} was declined (${describeValue(answer.value)}): recorded, no Condition`, answer.expression));
    }
  }
  const rules = applyInstrumentRules(instrument, reviewed, (question) => terminology.questionCategories(question));
  return { answers: reviewed, disputed: rules.disputed, issues: [...issues, ...rules.issues] };
}
