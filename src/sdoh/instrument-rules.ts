// Rules an instrument sets across its questions, checked so that an inconsistent screening is reported rather
// than turned into a finding:
// - Hunger Vital Sign: 88124-3 "Food insecurity risk" is At risk (LA19952-3) exactly when 88122-7 or 88123-5 is
//   Often true or Sometimes true (IG Questionnaire SDOHCC-QuestionnaireHungerVitalSign, calculatedExpression).
// - AHC HRSN interpersonal safety: the four HITS items score 1 (Never) to 5 (Frequently); their total 95614-4
//   is positive from 11 (CMS AHC tool). The items are never positive one by one.
import { describeValue, numericValue } from './screening-answer.ts';
import type { ReviewedAnswer } from './answer-review.ts';
import { warning, type ScreeningIssue } from './screening-issue.ts';
import { AHC_HRSN, HUNGER_VITAL_SIGN, type ScreeningInstrument } from './screening-instruments.ts';

const HVS_ITEMS = ['88122-7', '88123-5'];
const HVS_RISK = '88124-3';
const HVS_NO_RISK = 'LA19983-8';

const SAFETY_ITEMS = ['95618-5', '95617-7', '95616-9', '95615-1'];
const SAFETY_TOTAL = '95614-4';
const SAFETY_POSITIVE_FROM = 11;
const HITS_SCORE: Record<string, number> = { 'LA6270-8': 1, 'LA10066-1': 2, 'LA10082-8': 3, 'LA16644-9': 4, 'LA6482-9': 5 };

export interface RuleOutcome {
  /** Questions whose answers must not become Conditions. */
  disputed: Set<string>;
  issues: ScreeningIssue[];
}

const codeOf = (answer: ReviewedAnswer | undefined) => (answer?.value.kind === 'coding' ? answer.value.coding.code : undefined);

function hungerVitalSign(answers: ReviewedAnswer[], outcome: RuleOutcome): void {
  const risk = answers.find((a) => a.question === HVS_RISK);
  if (!risk || risk.declined) return;
  const items = answers.filter((a) => HVS_ITEMS.includes(a.question));
  const answeredItems = items.filter((a) => !a.declined);
  const itemsPositive = answeredItems.some((a) => a.positiveCategories.length > 0);
  const itemsNegative = answeredItems.length === HVS_ITEMS.length && !itemsPositive;
  const riskPositive = risk.positiveCategories.length > 0;
  const riskNegative = codeOf(risk) === HVS_NO_RISK;
  if ((riskNegative && itemsPositive) || (riskPositive && itemsNegative)) {
    for (const code of [...HVS_ITEMS, HVS_RISK]) outcome.disputed.add(code);
    const itemsSay = items.map((a) => `${a.question} is ${describeValue(a.value)}`).join(' and ');
    outcome.issues.push(
      warning(
        'conflict',
        `Hunger Vital Sign answers conflict: ${HVS_RISK} is ${describeValue(risk.value)} but ${itemsSay}; no food insecurity Condition is derived`,
        risk.expression,
      ),
    );
  }
}

function interpersonalSafety(answers: ReviewedAnswer[], outcome: RuleOutcome, positiveCategories: (question: string) => string[]): void {
  const items = SAFETY_ITEMS.map((code) => answers.find((a) => a.question === code));
  const scores = items.map((answer) => (answer ? HITS_SCORE[codeOf(answer) ?? ''] : undefined));
  const sum = scores.every((score) => score !== undefined) ? scores.reduce((a, b) => a! + b!, 0)! : undefined;
  const total = answers.find((a) => a.question === SAFETY_TOTAL);
  if (!total) {
    if (sum !== undefined && sum >= SAFETY_POSITIVE_FROM) {
      outcome.issues.push(
        warning(
          'business-rule',
          `The interpersonal safety items add up to ${sum} (positive from ${SAFETY_POSITIVE_FROM}) but no total ${SAFETY_TOTAL} ` +
            'was given; intimate partner violence is not auto-coded: refer for clinician review',
          items[0]?.expression,
        ),
      );
    }
    return;
  }
  const score = numericValue(total.value);
  if (score === undefined) {
    if (total.declined) return;
    outcome.disputed.add(SAFETY_TOTAL);
    outcome.issues.push(warning('value', `${SAFETY_TOTAL} must be a number, got ${describeValue(total.value)}`, total.expression));
    return;
  }
  if (sum !== undefined && sum !== score) {
    for (const code of [...SAFETY_ITEMS, SAFETY_TOTAL]) outcome.disputed.add(code);
    outcome.issues.push(warning('conflict', `Interpersonal safety total ${SAFETY_TOTAL} is ${score} but its items add up to ${sum}`, total.expression));
    return;
  }
  if (score >= SAFETY_POSITIVE_FROM) total.positiveCategories = positiveCategories(SAFETY_TOTAL);
}

/** Applies the instrument's cross-question rules; may mark the safety total positive. */
export function applyInstrumentRules(
  instrument: ScreeningInstrument,
  answers: ReviewedAnswer[],
  positiveCategories: (question: string) => string[],
): RuleOutcome {
  const outcome: RuleOutcome = { disputed: new Set(), issues: [] };
  if (instrument === HUNGER_VITAL_SIGN) hungerVitalSign(answers, outcome);
  if (instrument === AHC_HRSN) interpersonalSafety(answers, outcome, positiveCategories);
  return outcome;
}
