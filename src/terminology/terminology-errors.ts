// Errors of the terminology service. They carry no HTTP status: the FHIR layer maps them to
// OperationOutcomes (not-found → 404, not-supported → 422, invalid → 400).

export type TerminologyIssue = 'not-found' | 'not-supported' | 'invalid';

export class TerminologyError extends Error {
  /** The OperationOutcome issue code this error stands for. */
  readonly issue: TerminologyIssue;

  constructor(issue: TerminologyIssue, message: string) {
    super(message);
    this.name = new.target.name;
    this.issue = issue;
  }
}

/** An unknown code system, value set, concept map, or code (in $lookup). */
export class TerminologyNotFound extends TerminologyError {
  constructor(message: string) {
    super('not-found', message);
  }
}

/**
 * A value set the hub knows by name but does not ship (a Gravity value set that lives only in NLM VSAC and needs
 * a UMLS licence): callers should warn "not validated" rather than pretend to validate.
 */
export class TerminologyNotShipped extends TerminologyError {
  readonly url: string;

  constructor(url: string) {
    super('not-supported', `Value set ${url} is published only in NLM VSAC (UMLS licence) and is not shipped with this server: codes cannot be checked against it`);
    this.url = url;
  }
}

/** A request the service cannot answer as asked (bad paging values, an ambiguous code...). */
export class TerminologyInvalidRequest extends TerminologyError {
  constructor(message: string) {
    super('invalid', message);
  }
}

/** A terminology file that is missing, malformed or inconsistent with index.json or the other files. */
export class TerminologyLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TerminologyLoadError';
  }
}
