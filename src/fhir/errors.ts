// The one error type of the server: an HTTP status plus the OperationOutcome that explains it.
// src/http/error-handler.ts is the one place that turns it into a response.
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueCode = OperationOutcomeIssue['code'];

export interface IssueInput {
  severity?: OperationOutcomeIssue['severity'];
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath of the failing element, e.g. `Patient.name[0].given`. */
  expression?: string;
}

export function operationOutcome(issues: IssueInput[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((issue) => ({
      severity: issue.severity ?? 'error',
      code: issue.code,
      diagnostics: issue.diagnostics,
      ...(issue.expression ? { expression: [issue.expression] } : {}),
    })),
  };
}

export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  readonly headers: Record<string, string>;

  constructor(status: number, issues: IssueInput | IssueInput[], headers: Record<string, string> = {}) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((issue) => issue.diagnostics).join('; '));
    this.status = status;
    this.outcome = operationOutcome(list);
    this.headers = headers;
  }
}

export const badRequest = (diagnostics: string, expression?: string, code: IssueCode = 'invalid') =>
  new FhirError(400, { code, diagnostics, expression });
export const notFound = (diagnostics: string) => new FhirError(404, { code: 'not-found', diagnostics });
export const gone = (diagnostics: string, headers: Record<string, string> = {}) =>
  new FhirError(410, { code: 'deleted', diagnostics }, headers);
export const conflict = (diagnostics: string) => new FhirError(409, { code: 'conflict', diagnostics });
export const preconditionFailed = (diagnostics: string) => new FhirError(412, { code: 'conflict', diagnostics });
export const forbidden = (diagnostics: string) => new FhirError(403, { code: 'forbidden', diagnostics });
