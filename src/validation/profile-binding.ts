// Terminology bindings of profiles, checked with the TerminologyService: a code outside a required
// value set is an error, outside an extensible one a warning. A value set the hub cannot expand (a
// Gravity VSAC value set, or one it does not know) is never a silent pass: the element gets a
// warning saying the code was not checked. Small value sets the terminology/ folder does not ship
// may be given with the profiles (profiles/*/value-sets/), and are checked the same way.
import type { ValueSet } from 'fhir/r4';
import { TerminologyError } from '../terminology/terminology-errors.ts';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import type { BindingDefinition } from './profile-definition.ts';
import type { ElementNode } from './profile-element-path.ts';
import { issue, type KeyedIssue } from './profile-issue.ts';

export type ValueSetAvailability = 'shipped' | 'profile-local' | 'vsac-only' | 'unknown';

interface Code {
  system?: string;
  code: string;
}

/** The membership answer, or why there is none. */
type Membership = boolean | { unchecked: string };

/** Answers are pure functions of the loaded terminology, so they are cached; the bound keeps memory flat. */
const MAX_CACHED = 50_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bareUrl(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

/** The codes of a code, Coding or CodeableConcept value; undefined for values that are not coded. */
export function codesOf(value: unknown): Code[] | undefined {
  if (typeof value === 'string') return [{ code: value }];
  if (!isRecord(value)) return undefined;
  if (Array.isArray(value.coding) || (typeof value.text === 'string' && value.code === undefined)) {
    const codings = Array.isArray(value.coding) ? value.coding : [];
    return codings.filter(isRecord).flatMap((c) => (typeof c.code === 'string' ? [{ code: c.code, ...(typeof c.system === 'string' ? { system: c.system } : {}) }] : []));
  }
  if (typeof value.code === 'string') return [{ code: value.code, ...(typeof value.system === 'string' ? { system: value.system } : {}) }];
  return undefined;
}

/** Types a binding applies to: on a choice element (`value[x]`) the other types (Quantity...) are not coded. */
const CODED_TYPES = new Set(['code', 'Coding', 'CodeableConcept']);

function notCoded(node: ElementNode): boolean {
  return node.extensionOnly === true || (node.choiceType !== undefined && !CODED_TYPES.has(node.choiceType));
}

function show(code: Code): string {
  return code.system ? `${code.system}#${code.code}` : `'${code.code}'`;
}

export class BindingChecker {
  readonly #terminology: TerminologyService;
  readonly #local: Map<string, ValueSet>;
  readonly #cache = new Map<string, Membership>();

  constructor(terminology: TerminologyService, localValueSets: Map<string, ValueSet>) {
    this.#terminology = terminology;
    this.#local = localValueSets;
  }

  availability(valueSet: string): ValueSetAvailability {
    const status = this.#terminology.valueSetStatus(valueSet);
    if (status === 'shipped') return 'shipped';
    if (this.#local.has(bareUrl(valueSet))) return 'profile-local';
    return status;
  }

  /** Whether the code is in the value set (cached). */
  contains(valueSet: string, code: Code): Membership {
    const key = `${valueSet}\u0000${code.system ?? ''}\u0000${code.code}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const answer = this.#lookup(valueSet, code);
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    this.#cache.set(key, answer);
    return answer;
  }

  #lookup(valueSet: string, code: Code): Membership {
    const availability = this.availability(valueSet);
    if (availability === 'vsac-only' || availability === 'unknown') return { unchecked: this.#notShippedReason(valueSet, availability) };
    try {
      const request = availability === 'shipped' ? { url: valueSet } : { valueSet: this.#local.get(bareUrl(valueSet)) as ValueSet };
      const result = this.#terminology.validateCode({ ...request, code: code.code, ...(code.system ? { system: code.system } : {}) });
      return result.parameter?.find((p) => p.name === 'result')?.valueBoolean === true;
    } catch (error) {
      if (error instanceof TerminologyError) return { unchecked: error.message };
      throw error;
    }
  }

  #notShippedReason(valueSet: string, availability: 'vsac-only' | 'unknown'): string {
    return availability === 'vsac-only'
      ? `value set ${valueSet} is published only in NLM VSAC (UMLS licence) and is not shipped with this server`
      : `value set ${valueSet} is not shipped with this server`;
  }

  /** Checks one bound value against a binding. */
  check(node: ElementNode, binding: BindingDefinition): KeyedIssue[] {
    if (binding.strength === 'preferred' || binding.strength === 'example' || notCoded(node)) return [];
    const codes = codesOf(node.value);
    if (codes === undefined) return [];
    const availability = this.availability(binding.valueSet);
    if (availability === 'vsac-only' || availability === 'unknown') {
      return [this.#notChecked(node, binding, this.#notShippedReason(binding.valueSet, availability))];
    }
    if (codes.length === 0) {
      if (binding.strength === 'extensible') return []; // text alone is allowed by an extensible binding
      return [issue('error', 'code-invalid', node.path, `No code given: the required binding to ${binding.valueSet} needs a code from it`, `binding|${binding.valueSet}`)];
    }
    const answers = codes.map((code) => this.contains(binding.valueSet, code));
    if (answers.some((answer) => answer === true)) return [];
    const unchecked = answers.find((answer): answer is { unchecked: string } => typeof answer === 'object');
    if (unchecked) return [this.#notChecked(node, binding, unchecked.unchecked)];
    return [this.#miss(node, codes, binding)];
  }

  /**
   * Checks a value against several alternative bindings (e.g. the value sets of each SDOHCC category a
   * resource carries): the code must be in at least one. `label` names each alternative in messages.
   */
  checkAny(node: ElementNode, alternatives: Array<{ binding: BindingDefinition; label: string }>): KeyedIssue[] {
    const checked = alternatives.filter(({ binding }) => binding.strength === 'required' || binding.strength === 'extensible');
    if (checked.length === 0 || notCoded(node)) return [];
    const codes = codesOf(node.value);
    if (codes === undefined || codes.length === 0) return [];
    const notChecked: string[] = [];
    const missed: Array<{ binding: BindingDefinition; label: string }> = [];
    for (const alternative of checked) {
      const answers = codes.map((code) => this.contains(alternative.binding.valueSet, code));
      if (answers.some((answer) => answer === true)) return [];
      if (answers.some((answer) => typeof answer === 'object')) notChecked.push(`${alternative.label}: ${alternative.binding.valueSet}`);
      else missed.push(alternative);
    }
    if (notChecked.length) {
      return [
        issue(
          'warning',
          'informational',
          node.path,
          `Not checked: the value set(s) this code must come from are not shipped with this server (Gravity value sets are published only in NLM VSAC) — ${notChecked.join('; ')}`,
          `category-binding-not-shipped|${notChecked.join(' ')}`,
        ),
      ];
    }
    const required = missed.some(({ binding }) => binding.strength === 'required');
    const list = missed.map(({ label, binding }) => `${label}: ${binding.valueSet} (${binding.strength})`).join('; ');
    return [
      issue(
        required ? 'error' : 'warning',
        'code-invalid',
        node.path,
        `The code ${codes.map(show).join(', ')} is in none of the value sets of the resource's SDOH categories — ${list}`,
        `category-binding|${list}`,
      ),
    ];
  }

  #notChecked(node: ElementNode, binding: BindingDefinition, reason: string): KeyedIssue {
    return issue(
      'warning',
      'informational',
      node.path,
      `Not checked: ${reason}; the code at ${node.path} was not validated against this ${binding.strength} binding`,
      `binding-not-shipped|${binding.valueSet}`,
    );
  }

  #miss(node: ElementNode, codes: Code[], binding: BindingDefinition): KeyedIssue {
    const shown = codes.map(show).join(', ');
    if (binding.strength === 'required') {
      return issue('error', 'code-invalid', node.path, `The code ${shown} is not in the value set ${binding.valueSet} (required binding)`, `binding|${binding.valueSet}`);
    }
    return issue(
      'warning',
      'code-invalid',
      node.path,
      `The code ${shown} is not in the value set ${binding.valueSet} (extensible binding: use a code from it when one applies)`,
      `binding|${binding.valueSet}`,
    );
  }
}
