// Validates every JSON resource in a folder (e.g. the IG's example instances) the way a write
// would be validated, and reports each failure with its paths. Used by `npm run conformance -- DIR`.
import fs from 'node:fs';
import path from 'node:path';
import { FhirError } from '../fhir/errors.ts';
import { checkReferenceSyntax } from './reference-syntax.ts';
import { SchemaValidator } from './schema-validator.ts';

export interface ConformanceResult {
  file: string;
  problems: string[];
}

export function checkFolder(folder: string): ConformanceResult[] {
  const validator = new SchemaValidator();
  const files = fs.readdirSync(folder).filter((name) => name.endsWith('.json') && !name.startsWith('_')).sort();
  return files.map((file) => {
    try {
      const resource = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8'));
      validator.validate(resource);
      checkReferenceSyntax(resource);
      return { file, problems: [] };
    } catch (error) {
      if (error instanceof FhirError) {
        return { file, problems: error.outcome.issue.map((issue) => `${issue.expression?.[0] ?? ''}: ${issue.diagnostics}`) };
      }
      return { file, problems: [(error as Error).message] };
    }
  });
}
