// Element paths of the profile files (`statusReason.text`, `effective[x]`, `category.coding`):
// selecting the values at a path in a resource, each with its FHIRPath including array indexes
// (`Task.input[1].valueReference`), and checking at load time that a path exists in the R4 model.
//
// Selection walks the JSON directly rather than through fhirpath.js: the issues must name the exact
// failing array item, which FHIRPath results do not carry, and a walk is much cheaper per element.
import { createRequire } from 'node:module';

export interface ElementNode {
  value: unknown;
  /** FHIRPath of the value, with indexes on repeating elements. */
  path: string;
  /** For a choice element (`value[x]`): the type of the value, e.g. `Reference`, `dateTime`. */
  choiceType?: string;
  /** A primitive present only through its `_name` sibling (extensions, no value). */
  extensionOnly?: boolean;
}

const PRIMITIVES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown',
  'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

/** `valueDateTime` with prefix `value` → `dateTime`; `valueReference` → `Reference`. */
export function choiceTypeOf(key: string, prefix: string): string {
  const suffix = key.slice(prefix.length);
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVES.has(lower) ? lower : suffix;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function push(out: ElementNode[], value: unknown, path: string, extra: Partial<ElementNode> = {}): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (item !== null && item !== undefined) out.push({ value: item, path: `${path}[${i}]`, ...extra });
    });
  } else if (value !== undefined && value !== null) {
    out.push({ value, path, ...extra });
  }
}

/** The values of one element name under `node` (a choice name ends in `[x]`). */
export function childNodes(node: ElementNode, segment: string): ElementNode[] {
  const record = node.value;
  if (!isRecord(record)) return [];
  const out: ElementNode[] = [];
  if (segment.endsWith('[x]')) {
    const prefix = segment.slice(0, -3);
    for (const key of Object.keys(record)) {
      if (key.length > prefix.length && key.startsWith(prefix) && /[A-Z]/.test(key.charAt(prefix.length))) {
        push(out, record[key], `${node.path}.${key}`, { choiceType: choiceTypeOf(key, prefix) });
      }
    }
    return out;
  }
  const value = record[segment];
  if (value !== undefined) {
    push(out, value, `${node.path}.${segment}`);
  } else if (record[`_${segment}`] !== undefined) {
    // A primitive carried only by extensions (e.g. data-absent-reason) is present for cardinality.
    push(out, record[`_${segment}`], `${node.path}.${segment}`, { extensionOnly: true });
  }
  return out;
}

/** All values at a dot path under the given nodes. */
export function selectNodes(nodes: ElementNode[], path: string): ElementNode[] {
  if (path === '') return nodes;
  let current = nodes;
  for (const segment of path.split('.')) {
    const next: ElementNode[] = [];
    for (const node of current) next.push(...childNodes(node, segment));
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/** `effective[x]` → `effective` (the FHIRPath name of a missing choice element). */
export function fhirPathName(segment: string): string {
  return segment.endsWith('[x]') ? segment.slice(0, -3) : segment;
}

// ------------------------------------------------------------------ R4 model (load-time checks)

interface R4Model {
  path2Type: Record<string, string>;
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
}

const require = createRequire(import.meta.url);
let model: R4Model | undefined;

function r4Model(): R4Model {
  model ??= {
    path2Type: require('fhirpath/fhir-context/r4/path2Type.json') as Record<string, string>,
    choiceTypePaths: require('fhirpath/fhir-context/r4/choiceTypePaths.json') as Record<string, string[]>,
    pathsDefinedElsewhere: require('fhirpath/fhir-context/r4/pathsDefinedElsewhere.json') as Record<string, string>,
  };
  return model;
}

/** Elements every element or resource has, looked up on these base types. */
const INHERITED_FROM = ['Element', 'BackboneElement', 'DomainResource', 'Resource'];

export interface ModelElement {
  /** Path to hand fhirpath.js as the `base` of an expression evaluated on this element. */
  base: string;
  /** For a choice element: its allowed types (FHIR spelling: `dateTime`, `Reference`). */
  choiceTypes?: string[];
}

function typeSpelling(modelName: string): string {
  const lower = modelName.charAt(0).toLowerCase() + modelName.slice(1);
  return PRIMITIVES.has(lower) ? lower : modelName;
}

/**
 * Resolves `path` under `type` (a resource or data type) in the R4 model. Throws with the first
 * unknown segment, so a profile file with a misspelt element fails at load time.
 */
export function resolveModelPath(type: string, path: string): ModelElement {
  const { path2Type, choiceTypePaths, pathsDefinedElsewhere } = r4Model();
  let current = type; // a model path: a type name or a backbone element path such as Task.output
  let base = type;
  let choiceTypes: string[] | undefined;
  if (path === '') return { base };
  const segments = path.split('.');
  segments.forEach((segment, index) => {
    const name = fhirPathName(segment);
    const candidates = [`${current}.${name}`, ...INHERITED_FROM.map((t) => `${t}.${name}`)];
    const found = candidates.find((candidate) => path2Type[candidate] !== undefined || choiceTypePaths[candidate] !== undefined);
    if (!found) throw new Error(`'${segment}' is not an element of ${current} (in ${type}.${path})`);
    const choices = choiceTypePaths[found];
    if (segment.endsWith('[x]') !== Boolean(choices)) {
      throw new Error(choices ? `'${name}' is a choice element: write '${name}[x]'` : `'${name}' is not a choice element: write '${name}'`);
    }
    base = `${base}.${name}`;
    if (choices) {
      choiceTypes = choices.map(typeSpelling);
      if (index < segments.length - 1) throw new Error(`cannot step into the choice element '${segment}' (in ${type}.${path})`);
      return;
    }
    const elementType = path2Type[found];
    const elsewhere = pathsDefinedElsewhere[found];
    if (elsewhere) current = elsewhere;
    else if (elementType === 'BackboneElement' || elementType === 'Element') current = found;
    else current = elementType;
  });
  return { base, ...(choiceTypes ? { choiceTypes } : {}) };
}
