// The one result type of profile validation: what failed, how badly, and where (a FHIRPath with
// array indexes, e.g. `Task.status` or `Consent.category[0]`), so the FHIR layer can turn each
// issue into an OperationOutcome issue without knowing anything about profiles.

export type ProfileIssueSeverity = 'error' | 'warning' | 'information';

export type ProfileIssueCode = 'invariant' | 'required' | 'value' | 'code-invalid' | 'structure' | 'not-found' | 'informational';

export interface ProfileIssue {
  severity: ProfileIssueSeverity;
  code: ProfileIssueCode;
  diagnostics: string;
  /** FHIRPath of the failing element, e.g. Task.status or Consent.category[0]. */
  expression: string;
}

/**
 * An issue as the checks produce it: `key` says which rule fired independently of the profile that
 * stated it, so a rule a derived profile repeats from its base (e.g. the same binding) is reported once.
 */
export interface KeyedIssue extends ProfileIssue {
  key: string;
}

export function issue(severity: ProfileIssueSeverity, code: ProfileIssueCode, expression: string, diagnostics: string, key?: string): KeyedIssue {
  return { severity, code, expression, diagnostics, key: key ?? `${code}|${diagnostics}` };
}

/** Drops repeats (same severity, code, element and rule key) and strips the internal key. */
export function dedupeIssues(issues: KeyedIssue[]): ProfileIssue[] {
  const seen = new Set<string>();
  const out: ProfileIssue[] = [];
  for (const { key, ...rest } of issues) {
    const id = `${rest.severity}|${rest.expression}|${key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(rest);
  }
  return out;
}
