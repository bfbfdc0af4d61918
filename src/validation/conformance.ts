// Validates every JSON resource in a folder (e.g. the IG's example instances) the way a write
// would be validated, and reports each failure with its paths. Used by `npm run conformance -- DIR`.
// After the R4 schema and reference syntax, each resource is checked against the profiles it claims
// (meta.profile) and their base profiles: profile errors fail the file; profile warnings (unknown
// profiles, codes that could not be checked, extensible binding misses) are printed but do not fail.
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { FhirError } from '../fhir/errors.ts';
import { TerminologyService } from '../terminology/terminology-service.ts';
import { ProfileValidator } from './profile-validator.ts';
import { checkReferenceSyntax } from './reference-syntax.ts';
import { SchemaValidator } from './schema-validator.ts';

export interface ConformanceResult {
  file: string;
  problems: string[];
  /** Profile warnings: reported, not failures. */
  warnings: string[];
}

export interface CheckFolderOptions {
  /** Where warnings go (default: printed to stdout, as `WARN file` blocks); the CLI prints only failures. */
  onWarnings?: (file: string, warnings: string[]) => void;
  /** Profiles folder (default: the repository's profiles/). */
  profilesDir?: string;
}

function printWarnings(file: string, warnings: string[]): void {
  console.log(`WARN ${file}\n  ${warnings.join('\n  ')}`);
}

export function checkFolder(folder: string, options: CheckFolderOptions = {}): ConformanceResult[] {
  const validator = new SchemaValidator();
  const profiles = ProfileValidator.load(TerminologyService.load(), options.profilesDir);
  const onWarnings = options.onWarnings ?? printWarnings;
  const files = fs.readdirSync(folder).filter((name) => name.endsWith('.json') && !name.startsWith('_')).sort();
  return files.map((file) => {
    let resource: Resource;
    try {
      resource = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')) as Resource;
      validator.validate(resource);
      checkReferenceSyntax(resource);
    } catch (error) {
      if (error instanceof FhirError) {
        return { file, problems: error.outcome.issue.map((issue) => `${issue.expression?.[0] ?? ''}: ${issue.diagnostics}`), warnings: [] };
      }
      return { file, problems: [(error as Error).message], warnings: [] };
    }
    const issues = profiles.validate(resource);
    const problems = issues.filter((issue) => issue.severity === 'error').map((issue) => `${issue.expression}: ${issue.diagnostics}`);
    const warnings = issues.filter((issue) => issue.severity === 'warning').map((issue) => `${issue.expression}: ${issue.diagnostics}`);
    if (warnings.length) onWarnings(file, warnings);
    return { file, problems, warnings };
  });
}
