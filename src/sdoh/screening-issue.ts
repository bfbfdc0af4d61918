// What the screening mapping reports instead of guessing: conflicts, ignored and declined items, positive
// answers that get no Condition. Issues travel with the findings (an OperationOutcome for the caller to
// review); ScreeningInputError is input the mapping cannot work with at all (the FHIR layer answers 422).
import type { OperationOutcomeIssue } from 'fhir/r4';

export interface ScreeningIssue {
  severity: 'warning' | 'information';
  code: OperationOutcomeIssue['code'];
  diagnostics: string;
  /** Where in the input, e.g. `QuestionnaireResponse.item[1].answer[0]`. */
  expression?: string;
}

export class ScreeningInputError extends Error {
  readonly expression?: string;

  constructor(message: string, expression?: string) {
    super(message);
    this.name = 'ScreeningInputError';
    this.expression = expression;
  }
}

export const warning = (code: ScreeningIssue['code'], diagnostics: string, expression?: string): ScreeningIssue => ({
  severity: 'warning',
  code,
  diagnostics,
  ...(expression !== undefined ? { expression } : {}),
});

export const information = (code: ScreeningIssue['code'], diagnostics: string, expression?: string): ScreeningIssue => ({
  severity: 'information',
  code,
  diagnostics,
  ...(expression !== undefined ? { expression } : {}),
});
