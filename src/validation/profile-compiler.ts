// Compiles one profile definition (profile-definition.ts) into a list of checks, once, at load time:
// element paths are resolved against the R4 model (a misspelt element fails the load), FHIRPath
// invariants (and any FHIRPath slice conditions) are compiled with fhirpath.js and the R4 model, and
// bindings go to the BindingChecker. Checking a resource then only walks its JSON and runs the closures.
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4/index.js';
import type { Resource } from 'fhir/r4';
import { codesOf, type BindingChecker } from './profile-binding.ts';
import type {
  BindingDefinition,
  CategoryBindingDefinition,
  ElementDefinition,
  InvariantDefinition,
  ProfileDefinition,
  RuleSet,
  SliceDefinition,
} from './profile-definition.ts';
import { childNodes, fhirPathName, resolveModelPath, selectNodes, type ElementNode } from './profile-element-path.ts';
import { issue, type KeyedIssue } from './profile-issue.ts';
import { deepEqual, describePattern, matchesPattern } from './profile-pattern.ts';
import { referenceTargetType } from './profile-reference-target.ts';

export const SDOHCC_CODES = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';

/** Runs on the context nodes (the resource, or the items of a slice) and appends issues. */
type Check = (contexts: ElementNode[], out: KeyedIssue[]) => void;

export interface CompiledProfile {
  url: string;
  version: string;
  name: string;
  type: string;
  baseProfiles: string[];
  baseProfilesAnyOf: string[];
  partnerWriteDefault: boolean;
  /** Issues of this profile's own rules (not its base profiles'). */
  check(resource: Resource): KeyedIssue[];
}

type Evaluate = (value: unknown) => unknown[];

/** Parsing is the slow part of fhirpath.js and profiles repeat expressions (slice conditions): parse each once. */
const compiledExpressions = new Map<string, Evaluate>();

function compileFhirPath(expression: string, base: string | undefined): Evaluate {
  const key = `${base ?? ''}\u0000${expression}`;
  let evaluate = compiledExpressions.get(key);
  if (!evaluate) {
    const compiled = fhirpath.compile(base ? { base, expression } : expression, r4Model);
    evaluate = (value) => compiled(value as object) as unknown[];
    compiledExpressions.set(key, evaluate);
  }
  return evaluate;
}

/**
 * Splits `A implies B` at a top-level `implies` (outside parentheses and strings); undefined when the
 * expression has none or several.
 */
export function splitImplies(expression: string): [string, string] | undefined {
  let depth = 0;
  let quoted = false;
  const found: number[] = [];
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (depth === 0 && expression.startsWith('implies', i) && /\s/.test(expression[i - 1] ?? '') && /\s/.test(expression[i + 7] ?? '')) found.push(i);
  }
  if (found.length !== 1) return undefined;
  return [expression.slice(0, found[0]).trim(), expression.slice(found[0] + 'implies'.length).trim()];
}

/**
 * Most invariants are `condition implies rule` and the condition rarely holds (e.g. "code is
 * make-contact"): evaluating the rule only when it does saves most of the cost. Same verdict: a false
 * or empty condition makes `implies` true or empty, both a pass.
 */
function compileInvariant(expression: string, base: string | undefined): Evaluate {
  const whole = compileFhirPath(expression, base); // also checks the whole expression parses
  const parts = splitImplies(expression);
  if (!parts) return whole;
  const condition = compileFhirPath(parts[0], base);
  const rule = compileFhirPath(parts[1], base);
  return (value) => {
    const holds = condition(value);
    return holds.length === 1 && holds[0] === true ? rule(value) : [true];
  };
}

function join(prefix: string, path: string): string {
  return prefix && path ? `${prefix}.${path}` : prefix || path;
}

function splitParent(path: string): { parent: string; last: string } {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? { parent: '', last: path } : { parent: path.slice(0, dot), last: path.slice(dot + 1) };
}

function maxOf(max: string | undefined): number {
  return max === undefined || max === '*' ? Infinity : Number(max);
}

class ProfileCompiler {
  readonly #definition: ProfileDefinition;
  readonly #bindings: BindingChecker;
  readonly #label: string;

  constructor(definition: ProfileDefinition, bindings: BindingChecker) {
    this.#definition = definition;
    this.#bindings = bindings;
    this.#label = definition.name;
  }

  compile(): Check[] {
    const definition = this.#definition;
    return [
      ...this.#ruleSet(definition, ''),
      ...(definition.categoryBindings ?? []).map((binding) => this.#categoryBinding(binding)),
      ...(definition.invariants ?? []).map((invariant) => this.#invariant(invariant)),
    ];
  }

  #ruleSet(rules: RuleSet, prefix: string): Check[] {
    return [
      ...(rules.elements ?? []).map((element) => this.#element(element, prefix)),
      ...(rules.slices ?? []).map((slice) => this.#slice(slice, prefix)),
    ];
  }

  #resolve(prefix: string, path: string, what: string): ReturnType<typeof resolveModelPath> {
    try {
      return resolveModelPath(this.#definition.type, join(prefix, path));
    } catch (error) {
      throw new Error(`${what}: ${(error as Error).message}`);
    }
  }

  #element(element: ElementDefinition, prefix: string): Check {
    const model = this.#resolve(prefix, element.path, `element '${join(prefix, element.path)}'`);
    for (const type of element.types ?? []) {
      if (!model.choiceTypes?.includes(type)) {
        throw new Error(`element '${join(prefix, element.path)}': type '${type}' is not one of ${model.choiceTypes?.join(', ')}`);
      }
    }
    const { parent, last } = splitParent(element.path);
    const name = fhirPathName(last);
    const label = this.#label;
    const ruleKey = join(prefix, element.path);
    const min = element.min ?? 0;
    const max = maxOf(element.max);
    const valueChecks = this.#valueChecks(element, ruleKey);
    return (contexts, out) => {
      for (const owner of selectNodes(contexts, parent)) {
        const children = childNodes(owner, last);
        const at = `${owner.path}.${name}`;
        if (children.length < min) {
          out.push(issue('error', 'required', at, `Missing required element '${name}': ${label} requires at least ${min}`, `min|${ruleKey}`));
        } else if (children.length === 0 && element.mustSupport) {
          out.push(issue('information', 'informational', at, `Must-support element '${name}' is absent (${label}): send it when the data exists`, `ms|${ruleKey}`));
        }
        if (children.length > max) {
          out.push(issue('error', 'structure', children[max].path, `Too many '${name}': ${label} allows at most ${max}`, `max|${ruleKey}`));
        }
        for (const child of children) for (const check of valueChecks) check(child, out);
      }
    };
  }

  /** Fixed value, pattern, choice types, reference targets and binding of each value of an element. */
  #valueChecks(element: ElementDefinition, ruleKey: string): Array<(node: ElementNode, out: KeyedIssue[]) => void> {
    const label = this.#label;
    const checks: Array<(node: ElementNode, out: KeyedIssue[]) => void> = [];
    if (element.fixed !== undefined) {
      const fixed = element.fixed;
      checks.push((node, out) => {
        if (node.extensionOnly || !deepEqual(node.value, fixed)) {
          out.push(issue('error', 'value', node.path, `Value must be exactly ${describePattern(fixed)} (${label})`, `fixed|${ruleKey}`));
        }
      });
    }
    if (element.pattern !== undefined) {
      const pattern = element.pattern;
      checks.push((node, out) => {
        if (!matchesPattern(node.value, pattern)) {
          out.push(issue('error', 'value', node.path, `Value must match ${describePattern(pattern)} (${label})`, `pattern|${ruleKey}`));
        }
      });
    }
    if (element.types) {
      const types = element.types;
      checks.push((node, out) => {
        if (node.choiceType && !types.includes(node.choiceType)) {
          out.push(issue('error', 'structure', node.path, `Type ${node.choiceType} is not allowed here: ${label} allows ${types.join(', ')}`, `types|${ruleKey}`));
        }
      });
    }
    if (element.targets) {
      const targets = element.targets;
      checks.push((node, out) => {
        const target = referenceTargetType(node.value);
        if (target && !targets.includes(target)) {
          out.push(issue('error', 'value', node.path, `Reference to ${target} is not allowed here: ${label} allows ${targets.join(', ')}`, `targets|${ruleKey}`));
        }
      });
    }
    if (element.binding) {
      const binding = element.binding;
      checks.push((node, out) => out.push(...this.#bindings.check(node, binding)));
    }
    return checks;
  }

  #slice(slice: SliceDefinition, prefix: string): Check {
    const where = `slice '${slice.name}' on '${join(prefix, slice.path)}'`;
    const model = this.#resolve(prefix, slice.path, where);
    let condition: Evaluate | undefined;
    if (slice.match.fhirpath) {
      try {
        condition = compileFhirPath(slice.match.fhirpath, model.base);
      } catch (error) {
        throw new Error(`${where}: FHIRPath does not compile: ${(error as Error).message}`);
      }
    }
    const pattern = slice.match.pattern;
    const anyOf = slice.match.patternAnyOf;
    const matches = (node: ElementNode): boolean => {
      if (pattern !== undefined && !matchesPattern(node.value, pattern)) return false;
      if (anyOf !== undefined && !anyOf.some((each) => matchesPattern(node.value, each))) return false;
      if (!condition) return true;
      try {
        const result = condition(node.value);
        return result.length === 1 && result[0] === true;
      } catch {
        return false;
      }
    };
    const inner = this.#ruleSet(slice, join(prefix, slice.path));
    const binding: BindingDefinition | undefined = slice.binding;
    const { parent, last } = splitParent(slice.path);
    const name = fhirPathName(last);
    const label = this.#label;
    const ruleKey = `${join(prefix, slice.path)}:${slice.name}`;
    const min = slice.min ?? 0;
    const max = maxOf(slice.max);
    const described = [
      ...(pattern !== undefined ? [describePattern(pattern)] : []),
      ...(anyOf !== undefined ? [`one of ${anyOf.map(describePattern).join(' | ')}`] : []),
      ...(slice.match.fhirpath ? [slice.match.fhirpath] : []),
    ].join(' and ');
    return (contexts, out) => {
      for (const owner of selectNodes(contexts, parent)) {
        const matched = childNodes(owner, last).filter(matches);
        const at = `${owner.path}.${name}`;
        if (matched.length < min) {
          out.push(
            issue('error', 'required', at, `Slice '${slice.name}' of '${name}' needs at least ${min} item(s) matching ${described} (${label}); found ${matched.length}`, `slice-min|${ruleKey}`),
          );
        } else if (matched.length === 0 && slice.mustSupport) {
          out.push(issue('information', 'informational', at, `Must-support slice '${slice.name}' of '${name}' is absent (${label})`, `ms|${ruleKey}`));
        }
        if (matched.length > max) {
          out.push(issue('error', 'structure', matched[max].path, `Slice '${slice.name}' of '${name}' allows at most ${max} item(s) (${label})`, `slice-max|${ruleKey}`));
        }
        for (const item of matched) {
          if (binding) out.push(...this.#bindings.check(item, binding));
          for (const check of inner) check([item], out);
        }
      }
    };
  }

  #categoryBinding(definition: CategoryBindingDefinition): Check {
    this.#resolve('', definition.path, `categoryBindings '${definition.path}'`);
    this.#resolve('', definition.categoryPath, `categoryBindings '${definition.categoryPath}'`);
    return (contexts, out) => {
      const domains = new Set<string>();
      for (const node of selectNodes(contexts, definition.categoryPath)) {
        for (const code of codesOf(node.value) ?? []) if (code.system === SDOHCC_CODES) domains.add(code.code);
      }
      const seen = new Set<string>();
      const alternatives: Array<{ binding: BindingDefinition; label: string }> = [];
      for (const domain of domains) {
        const binding = definition.byCategory[domain];
        if (!binding || seen.has(binding.valueSet)) continue;
        seen.add(binding.valueSet);
        alternatives.push({ binding, label: domain });
      }
      if (alternatives.length === 0) return;
      for (const node of selectNodes(contexts, definition.path)) out.push(...this.#bindings.checkAny(node, alternatives));
    };
  }

  #invariant(invariant: InvariantDefinition): Check {
    const where = `invariant ${invariant.key}`;
    const model = this.#resolve('', invariant.path ?? '', where);
    const base = invariant.path ? model.base : undefined;
    let evaluate: Evaluate;
    try {
      evaluate = compileInvariant(invariant.expression, base);
    } catch (error) {
      throw new Error(`${where}: FHIRPath does not compile: ${(error as Error).message}`);
    }
    const label = this.#label;
    return (contexts, out) => {
      const nodes = invariant.path ? selectNodes(contexts, invariant.path) : contexts;
      for (const node of nodes) {
        let result: unknown[];
        try {
          result = evaluate(node.value);
        } catch (error) {
          out.push(issue('warning', 'informational', node.path, `${invariant.key} could not be evaluated (${label}): ${(error as Error).message}`, `inv-error|${invariant.key}`));
          continue;
        }
        // FHIRPath invariants hold unless they evaluate to false; an empty result is not a failure.
        if (result.length === 1 && result[0] === false) {
          out.push(issue(invariant.severity, 'invariant', node.path, `${invariant.key}: ${invariant.human} (${label})`, `inv|${invariant.key}`));
        }
      }
    };
  }
}

export function compileProfile(definition: ProfileDefinition, bindings: BindingChecker): CompiledProfile {
  const checks = new ProfileCompiler(definition, bindings).compile();
  return {
    url: definition.url,
    version: definition.version,
    name: definition.name,
    type: definition.type,
    baseProfiles: definition.baseProfiles,
    baseProfilesAnyOf: definition.baseProfilesAnyOf ?? [],
    partnerWriteDefault: definition.partnerWriteDefault === true,
    check(resource) {
      const out: KeyedIssue[] = [];
      const root: ElementNode[] = [{ value: resource, path: resource.resourceType }];
      for (const check of checks) check(root, out);
      return out;
    },
  };
}
