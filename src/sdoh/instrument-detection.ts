// Which instrument a screening is. In order: the caller's `instrument` input; the QuestionnaireResponse's
// questionnaire (an IG Questionnaire URL, or any canonical naming the LOINC panel, e.g. http://loinc.org/q/96777-8);
// a panel code on a group item or a panel Observation; else the smallest instrument holding every answered
// question the hub knows (88122-7 + 88123-5 alone is the Hunger Vital Sign, also asked within AHC HRSN).
import { ScreeningInputError } from './screening-issue.ts';
import { findInstrument, KNOWN_QUESTION_CODES, SCREENING_INSTRUMENTS, type ScreeningInstrument } from './screening-instruments.ts';

export interface InstrumentHints {
  /** The caller's explicit choice (id, panel code or Questionnaire URL) and where it was given. */
  named?: { value: string; expression: string };
  questionnaire?: string;
  panelCodes: string[];
  questionCodes: string[];
  /** Where to point when nothing identifies the instrument. */
  expression: string;
}

const names = SCREENING_INSTRUMENTS.map((i) => `${i.id} (${i.panel.code})`).join(', ');

function byQuestionnaire(url: string): ScreeningInstrument | undefined {
  return (
    findInstrument(url) ??
    SCREENING_INSTRUMENTS.find((instrument) => new RegExp(`(^|[^0-9-])${instrument.panel.code}($|[^0-9-])`).test(url.split('|')[0]))
  );
}

export function detectInstrument(hints: InstrumentHints): ScreeningInstrument {
  if (hints.named) {
    const named = findInstrument(hints.named.value);
    if (!named) throw new ScreeningInputError(`Unknown screening instrument '${hints.named.value}'; known: ${names}`, hints.named.expression);
    return named;
  }
  const fromQuestionnaire = hints.questionnaire ? byQuestionnaire(hints.questionnaire) : undefined;
  if (fromQuestionnaire) return fromQuestionnaire;
  const fromPanel = SCREENING_INSTRUMENTS.find((instrument) => hints.panelCodes.includes(instrument.panel.code));
  if (fromPanel) return fromPanel;
  const known = [...new Set(hints.questionCodes.filter((code) => KNOWN_QUESTION_CODES.has(code)))];
  const what = hints.questionnaire ? `Questionnaire ${hints.questionnaire} is not a screening instrument the hub maps` : 'No screening instrument named';
  if (known.length === 0) {
    throw new ScreeningInputError(`${what}, and no answered question belongs to one (known: ${names})`, hints.expression);
  }
  const candidates = SCREENING_INSTRUMENTS.filter((instrument) => known.every((code) => instrument.questions.some((q) => q.code === code)));
  if (candidates.length === 0) {
    throw new ScreeningInputError(
      `${what}, and the answered questions (${known.join(', ')}) do not all belong to one instrument; name it with the 'instrument' parameter`,
      hints.expression,
    );
  }
  return candidates.reduce((smallest, next) => (next.questions.length < smallest.questions.length ? next : smallest));
}
