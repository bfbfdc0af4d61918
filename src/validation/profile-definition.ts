// The JSON format of the hub's profile files (profiles/sdohcc/*.json, profiles/us-core/*.json) and
// its shape check. A profile file states the rules of one StructureDefinition in a compact form the
// validator compiles (profile-compiler.ts); profiles/sdohcc/README.md describes the format with examples.
// Shape errors are thrown at load time (server start), naming the file and the field, so a broken
// profile never silently validates nothing.

export type BindingStrength = 'required' | 'extensible' | 'preferred' | 'example';

export interface BindingDefinition {
  /** Canonical URL of the value set (optionally `|version`). */
  valueSet: string;
  strength: BindingStrength;
}

/** A rule on the elements at `path` (relative to the resource, or to a slice item). */
export interface ElementDefinition {
  /** Dot path of element names; a choice element is written `value[x]`. */
  path: string;
  min?: number;
  /** `'*'` or a number as a string, as in StructureDefinitions. */
  max?: string;
  mustSupport?: boolean;
  /** Exact value (deep equality). */
  fixed?: unknown;
  /** Every property given must be present with that value; arrays match when each item matches some item. */
  pattern?: unknown;
  binding?: BindingDefinition;
  /** Allowed types of a choice element (`occurrence[x]` → `["Period", "dateTime"]`). */
  types?: string[];
  /** Allowed resource types of references (checked on literal references only). */
  targets?: string[];
}

/** How items of a sliced element are assigned to a slice: all given conditions must hold. */
export interface SliceMatch {
  pattern?: unknown;
  /** The item matches at least one of these patterns. */
  patternAnyOf?: unknown[];
  /** A boolean FHIRPath expression evaluated on the item. */
  fhirpath?: string;
}

export interface RuleSet {
  elements?: ElementDefinition[];
  slices?: SliceDefinition[];
}

export interface SliceDefinition extends RuleSet {
  /** The sliced (repeating) element, e.g. `category` or `category.coding`. */
  path: string;
  name: string;
  match: SliceMatch;
  min?: number;
  max?: string;
  mustSupport?: boolean;
  /** Binding of each item in the slice (e.g. the SDOHCC category slice). */
  binding?: BindingDefinition;
}

/**
 * R5-style additional bindings that apply when the resource carries an SDOHCC category (Gravity
 * domain): `byCategory` maps the category code to the value set the element must come from.
 */
export interface CategoryBindingDefinition {
  path: string;
  /** Where the SDOHCC category codings are, e.g. `category` or `category.coding`. */
  categoryPath: string;
  byCategory: Record<string, BindingDefinition>;
}

export interface InvariantDefinition {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  /** FHIRPath, true when the rule holds. Evaluated on the resource, or on each element at `path`. */
  expression: string;
  path?: string;
  /** Why the expression differs from the IG's, when it does. */
  note?: string;
}

export interface ProfileDefinition extends RuleSet {
  url: string;
  version: string;
  name: string;
  title?: string;
  /** The resource type the profile constrains. */
  type: string;
  /** Profiles (canonical, `|version` allowed) whose rules also apply. */
  baseProfiles: string[];
  /** The resource must conform to at least one of these (SDOHCC Condition: either US Core Condition profile). */
  baseProfilesAnyOf?: string[];
  /** The profile every partner write of this type is checked against (at most one per type). */
  partnerWriteDefault?: boolean;
  categoryBindings?: CategoryBindingDefinition[];
  invariants?: InvariantDefinition[];
  /** Where the rules come from. */
  source: string;
  /** IG rules this file does not express, and why. */
  notExpressed?: string[];
}

export class ProfileLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileLoadError';
  }
}

const STRENGTHS = new Set<BindingStrength>(['required', 'extensible', 'preferred', 'example']);
const PATH = /^[a-z][A-Za-z0-9]*(\[x\])?(\.[a-z][A-Za-z0-9]*(\[x\])?)*$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class ShapeChecker {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  fail(where: string, message: string): never {
    throw new ProfileLoadError(`${this.#file}: ${where}: ${message}`);
  }

  string(value: unknown, where: string): string {
    if (typeof value !== 'string' || value.trim() === '') this.fail(where, 'must be a non-empty string');
    return value;
  }

  optionalString(value: unknown, where: string): string | undefined {
    return value === undefined ? undefined : this.string(value, where);
  }

  strings(value: unknown, where: string): string[] {
    if (!Array.isArray(value)) this.fail(where, 'must be an array of strings');
    return value.map((item, i) => this.string(item, `${where}[${i}]`));
  }

  optionalStrings(value: unknown, where: string): string[] | undefined {
    return value === undefined ? undefined : this.strings(value, where);
  }

  min(value: unknown, where: string): number | undefined {
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || (value as number) < 0) this.fail(where, 'must be a non-negative integer');
    return value as number;
  }

  max(value: unknown, where: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^(\*|0|[1-9][0-9]*)$/.test(value)) this.fail(where, `must be '*' or a number as a string`);
    return value;
  }

  path(value: unknown, where: string): string {
    const path = this.string(value, where);
    if (!PATH.test(path)) this.fail(where, `'${path}' is not an element path (names separated by dots, choices as name[x])`);
    return path;
  }

  boolean(value: unknown, where: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(where, 'must be true or false');
    return value;
  }

  binding(value: unknown, where: string): BindingDefinition | undefined {
    if (value === undefined) return undefined;
    if (!isObject(value)) this.fail(where, 'must be an object {valueSet, strength}');
    const strength = value.strength;
    if (typeof strength !== 'string' || !STRENGTHS.has(strength as BindingStrength)) {
      this.fail(`${where}.strength`, 'must be required, extensible, preferred or example');
    }
    return { valueSet: this.string(value.valueSet, `${where}.valueSet`), strength: strength as BindingStrength };
  }

  element(value: unknown, where: string): ElementDefinition {
    if (!isObject(value)) this.fail(where, 'must be an object');
    const element: ElementDefinition = { path: this.path(value.path, `${where}.path`) };
    const min = this.min(value.min, `${where}.min`);
    const max = this.max(value.max, `${where}.max`);
    if (min !== undefined) element.min = min;
    if (max !== undefined) element.max = max;
    if (min !== undefined && max !== undefined && max !== '*' && Number(max) < min) this.fail(where, 'max is below min');
    const mustSupport = this.boolean(value.mustSupport, `${where}.mustSupport`);
    if (mustSupport !== undefined) element.mustSupport = mustSupport;
    if (value.fixed !== undefined) element.fixed = value.fixed;
    if (value.pattern !== undefined) element.pattern = value.pattern;
    const binding = this.binding(value.binding, `${where}.binding`);
    if (binding) element.binding = binding;
    const types = this.optionalStrings(value.types, `${where}.types`);
    if (types) {
      if (!element.path.endsWith('[x]')) this.fail(`${where}.types`, 'only a choice element (name[x]) can restrict types');
      element.types = types;
    }
    const targets = this.optionalStrings(value.targets, `${where}.targets`);
    if (targets) element.targets = targets;
    this.known(value, where, ['path', 'min', 'max', 'mustSupport', 'fixed', 'pattern', 'binding', 'types', 'targets', 'short', 'comment']);
    return element;
  }

  ruleSet(value: Json, where: string): RuleSet {
    const out: RuleSet = {};
    if (value.elements !== undefined) {
      if (!Array.isArray(value.elements)) this.fail(`${where}.elements`, 'must be an array');
      out.elements = value.elements.map((element, i) => this.element(element, `${where}.elements[${i}]`));
    }
    if (value.slices !== undefined) {
      if (!Array.isArray(value.slices)) this.fail(`${where}.slices`, 'must be an array');
      out.slices = value.slices.map((slice, i) => this.slice(slice, `${where}.slices[${i}]`));
    }
    return out;
  }

  slice(value: unknown, where: string): SliceDefinition {
    if (!isObject(value)) this.fail(where, 'must be an object');
    const match = value.match;
    if (!isObject(match) || (match.pattern === undefined && match.patternAnyOf === undefined && match.fhirpath === undefined)) {
      this.fail(`${where}.match`, 'must give a pattern, patternAnyOf and/or a fhirpath');
    }
    if (match.patternAnyOf !== undefined && (!Array.isArray(match.patternAnyOf) || match.patternAnyOf.length === 0)) {
      this.fail(`${where}.match.patternAnyOf`, 'must be a non-empty array of patterns');
    }
    this.known(match, `${where}.match`, ['pattern', 'patternAnyOf', 'fhirpath']);
    const slice: SliceDefinition = {
      ...this.ruleSet(value, where),
      path: this.path(value.path, `${where}.path`),
      name: this.string(value.name, `${where}.name`),
      match: {
        ...(match.pattern !== undefined ? { pattern: match.pattern } : {}),
        ...(Array.isArray(match.patternAnyOf) ? { patternAnyOf: match.patternAnyOf as unknown[] } : {}),
        ...(match.fhirpath !== undefined ? { fhirpath: this.string(match.fhirpath, `${where}.match.fhirpath`) } : {}),
      },
    };
    const min = this.min(value.min, `${where}.min`);
    const max = this.max(value.max, `${where}.max`);
    if (min !== undefined) slice.min = min;
    if (max !== undefined) slice.max = max;
    const mustSupport = this.boolean(value.mustSupport, `${where}.mustSupport`);
    if (mustSupport !== undefined) slice.mustSupport = mustSupport;
    const binding = this.binding(value.binding, `${where}.binding`);
    if (binding) slice.binding = binding;
    this.known(value, where, ['path', 'name', 'match', 'min', 'max', 'mustSupport', 'binding', 'elements', 'slices', 'short', 'comment']);
    return slice;
  }

  categoryBinding(value: unknown, where: string): CategoryBindingDefinition {
    if (!isObject(value)) this.fail(where, 'must be an object');
    if (!isObject(value.byCategory)) this.fail(`${where}.byCategory`, 'must map category codes to bindings');
    const byCategory: Record<string, BindingDefinition> = {};
    for (const [code, binding] of Object.entries(value.byCategory)) {
      byCategory[code] = this.binding(binding, `${where}.byCategory.${code}`) as BindingDefinition;
    }
    this.known(value, where, ['path', 'categoryPath', 'byCategory', 'comment']);
    return { path: this.path(value.path, `${where}.path`), categoryPath: this.path(value.categoryPath, `${where}.categoryPath`), byCategory };
  }

  invariant(value: unknown, where: string): InvariantDefinition {
    if (!isObject(value)) this.fail(where, 'must be an object');
    if (value.severity !== 'error' && value.severity !== 'warning') this.fail(`${where}.severity`, 'must be error or warning');
    const invariant: InvariantDefinition = {
      key: this.string(value.key, `${where}.key`),
      severity: value.severity,
      human: this.string(value.human, `${where}.human`),
      expression: this.string(value.expression, `${where}.expression`),
    };
    if (value.path !== undefined) invariant.path = this.path(value.path, `${where}.path`);
    const note = this.optionalString(value.note, `${where}.note`);
    if (note) invariant.note = note;
    this.known(value, where, ['key', 'severity', 'human', 'expression', 'path', 'note', 'source']);
    return invariant;
  }

  /** Unknown fields are typos (e.g. `mustsupport`): refusing them keeps a rule from being dropped silently. */
  known(value: Json, where: string, allowed: string[]): void {
    for (const name of Object.keys(value)) if (!allowed.includes(name)) this.fail(where, `unknown field '${name}'`);
  }
}

/** Checks the shape of a parsed profile file and returns it typed. */
export function parseProfileDefinition(file: string, value: unknown): ProfileDefinition {
  const check: ShapeChecker = new ShapeChecker(file); // annotated: lets check.fail() narrow types
  if (!isObject(value)) check.fail('file', 'must be a JSON object');
  const url = check.string(value.url, 'url');
  if (url.includes('|')) check.fail('url', 'must not carry a version (use the version field)');
  const definition: ProfileDefinition = {
    ...check.ruleSet(value, 'profile'),
    url,
    version: check.string(value.version, 'version'),
    name: check.string(value.name, 'name'),
    type: check.string(value.type, 'type'),
    baseProfiles: check.strings(value.baseProfiles, 'baseProfiles'),
    source: check.string(value.source, 'source'),
  };
  const title = check.optionalString(value.title, 'title');
  if (title) definition.title = title;
  const anyOf = check.optionalStrings(value.baseProfilesAnyOf, 'baseProfilesAnyOf');
  if (anyOf) definition.baseProfilesAnyOf = anyOf;
  const partnerWriteDefault = check.boolean(value.partnerWriteDefault, 'partnerWriteDefault');
  if (partnerWriteDefault) definition.partnerWriteDefault = true;
  if (value.categoryBindings !== undefined) {
    if (!Array.isArray(value.categoryBindings)) check.fail('categoryBindings', 'must be an array');
    definition.categoryBindings = value.categoryBindings.map((binding, i) => check.categoryBinding(binding, `categoryBindings[${i}]`));
  }
  if (value.invariants !== undefined) {
    if (!Array.isArray(value.invariants)) check.fail('invariants', 'must be an array');
    definition.invariants = value.invariants.map((invariant, i) => check.invariant(invariant, `invariants[${i}]`));
  }
  const notExpressed = check.optionalStrings(value.notExpressed, 'notExpressed');
  if (notExpressed) definition.notExpressed = notExpressed;
  check.known(value, 'profile', [
    'url', 'version', 'name', 'title', 'type', 'status', 'description', 'baseProfiles', 'baseProfilesAnyOf', 'partnerWriteDefault',
    'elements', 'slices', 'categoryBindings', 'invariants', 'source', 'notExpressed',
  ]);
  return definition;
}
