// The terminology operations ($lookup, $expand, $validate-code, $translate, $subsumes) over the code systems,
// value sets and concept maps shipped in terminology/. Pure: no I/O after loading, no database. Answers are
// FHIR R4 Parameters / ValueSet resources; failures are the typed errors of terminology-errors.ts, which the
// FHIR layer turns into OperationOutcomes.
//
// Code systems other than the SDOHCC temporary codes and the R4 task codes are shipped as fragments (only the
// codes the hub uses), so "not found" there means "not known to the hub", and messages say so.
import type {
  CodeSystemConceptProperty,
  Coding,
  ConceptMap,
  ConceptMapGroupElementTarget,
  Parameters,
  ParametersParameter,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetExpansionContains,
} from 'fhir/r4';
import {
  loadTerminology,
  SCREENING_QUESTION_ELEMENT,
  type LoadedCodeSystem,
  type LoadedConcept,
  type LoadedTerminology,
  type VsacValueSet,
} from './load-terminology.ts';
import {
  TerminologyInvalidRequest,
  TerminologyNotFound,
  TerminologyNotShipped,
} from './terminology-errors.ts';

export const ICD_10_CM = 'http://hl7.org/fhir/sid/icd-10-cm';

export interface LookupRequest {
  system: string;
  code: string;
  version?: string;
  /** Property codes to return (R4 `property`); all when absent. */
  property?: string[];
}

export interface ExpandRequest {
  /** Canonical URL (optionally `|version`) of a shipped value set. */
  url?: string;
  /** Or a value set given inline. */
  valueSet?: ValueSet;
  /** Case-insensitive substring of the display or the code. */
  filter?: string;
  count?: number;
  offset?: number;
}

export interface ValidateCodeRequest {
  url?: string;
  valueSet?: ValueSet;
  system?: string;
  code: string;
  display?: string;
}

export interface TranslateDependency {
  /** The element the mapping depends on, e.g. SCREENING_QUESTION_ELEMENT. */
  element: string;
  system?: string;
  code: string;
}

export interface TranslateRequest {
  /** A concept map URL; when absent every shipped map whose groups fit is used. */
  url?: string;
  /** Value set URLs the concept maps must be declared for. */
  source?: string;
  target?: string;
  /** Only groups mapping into this code system. */
  targetSystem?: string;
  system: string;
  code: string;
  /** Date of service (YYYY-MM-DD): ICD-10-CM targets not valid on that date are left out. */
  date?: string;
  dependency?: TranslateDependency[];
  /** Map from target back to source. */
  reverse?: boolean;
}

export interface SubsumesRequest {
  system: string;
  codeA: string;
  codeB: string;
}

export type ValueSetStatus = 'shipped' | 'vsac-only' | 'unknown';

interface ExpansionEntry {
  system: string;
  code: string;
  display?: string;
  abstract: boolean;
}

/** Equivalence read the other way round (R4 ConceptMap: read from target to source). */
const REVERSED_EQUIVALENCE: Partial<Record<ConceptMapGroupElementTarget['equivalence'], ConceptMapGroupElementTarget['equivalence']>> = {
  wider: 'narrower',
  narrower: 'wider',
  subsumes: 'specializes',
  specializes: 'subsumes',
};

/** The ICD-10-CM subset covers FY2026; later dates of service fall in a fiscal year it does not describe. */
const ICD_COVERED_THROUGH = '2026-09-30';

function parameters(parameter: ParametersParameter[]): Parameters {
  return { resourceType: 'Parameters', parameter };
}

function splitCanonical(canonical: string): { url: string; version?: string } {
  const bar = canonical.indexOf('|');
  return bar < 0 ? { url: canonical } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) };
}

function key(system: string, code: string): string {
  return `${system}|${code}`;
}

function propertyValue(property: CodeSystemConceptProperty): Omit<ParametersParameter, 'name'> {
  if (property.valueCode !== undefined) return { valueCode: property.valueCode };
  if (property.valueCoding !== undefined) return { valueCoding: property.valueCoding };
  if (property.valueString !== undefined) return { valueString: property.valueString };
  if (property.valueInteger !== undefined) return { valueInteger: property.valueInteger };
  if (property.valueBoolean !== undefined) return { valueBoolean: property.valueBoolean };
  if (property.valueDateTime !== undefined) return { valueDateTime: property.valueDateTime };
  return { valueDecimal: property.valueDecimal };
}

function booleanProperty(concept: LoadedConcept, code: string): boolean | undefined {
  return concept.properties.find((p) => p.code === code)?.valueBoolean;
}

function dateProperty(concept: LoadedConcept, code: string): string | undefined {
  return concept.properties.find((p) => p.code === code)?.valueDateTime?.slice(0, 10);
}

function checkDate(date: string | undefined): string | undefined {
  if (date === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(date) || Number.isNaN(Date.parse(date.slice(0, 10)))) {
    throw new TerminologyInvalidRequest(`date must be YYYY-MM-DD, got "${date}"`);
  }
  return date.slice(0, 10);
}

/**
 * Whether a code may be used on a date of service. Only concepts with a `billable` property (ICD-10-CM) are
 * restricted: without a date, the FY2026 status; with one, also `effective` (not before) and `header-since`
 * (a former billable code turned header is usable before that date).
 */
function usableOn(concept: LoadedConcept, date: string | undefined): boolean {
  const billable = booleanProperty(concept, 'billable');
  if (billable === undefined) return true;
  if (date === undefined) return billable;
  const effective = dateProperty(concept, 'effective');
  if (effective && date < effective) return false;
  const headerSince = dateProperty(concept, 'header-since');
  if (headerSince) return date < headerSince;
  return billable;
}

/** X12 claims carry ICD-10-CM codes without the dot (Z5941); FHIR codings carry it (Z59.41). */
function icdWithDot(code: string): string {
  const trimmed = code.trim().toUpperCase();
  return trimmed.length > 3 && !trimmed.includes('.') ? `${trimmed.slice(0, 3)}.${trimmed.slice(3)}` : trimmed;
}

export class TerminologyService {
  readonly #data: LoadedTerminology;
  readonly #expansions = new Map<string, ExpansionEntry[]>();

  constructor(data: LoadedTerminology) {
    this.#data = data;
  }

  /** Loads the shipped terminology (default: the repository's terminology/ folder). */
  static load(dir?: string): TerminologyService {
    return new TerminologyService(loadTerminology(dir));
  }

  get data(): LoadedTerminology {
    return this.#data;
  }

  // ------------------------------------------------------------------ value set catalogue

  /** True when the value set is shipped (can be expanded and validated against). */
  valueSetKnown(url: string): boolean {
    return this.valueSetStatus(url) === 'shipped';
  }

  /** shipped; vsac-only (known Gravity VSAC value set, NOT shipped: callers must warn, not validate); unknown. */
  valueSetStatus(url: string): ValueSetStatus {
    const { url: bare } = splitCanonical(url);
    if (this.#data.valueSets.has(bare)) return 'shipped';
    if (this.#data.vsac.has(bare)) return 'vsac-only';
    return 'unknown';
  }

  /** The VSAC catalogue entry for a canonical URL or urn:oid, if the value set is one of Gravity's. */
  vsacValueSet(url: string): VsacValueSet | undefined {
    return this.#data.vsac.get(splitCanonical(url).url);
  }

  // ------------------------------------------------------------------ $lookup

  lookup(request: LookupRequest): Parameters {
    const codeSystem = this.#codeSystem(request.system);
    if (request.version !== undefined && request.version !== codeSystem.version) {
      throw new TerminologyNotFound(`${codeSystem.url} version ${request.version} is not available (shipped: ${codeSystem.version})`);
    }
    const concept = codeSystem.concepts.get(request.code);
    if (!concept) throw new TerminologyNotFound(this.#unknownCodeMessage(codeSystem, request.code));
    const wanted = request.property?.length ? new Set(request.property) : undefined;
    const out: ParametersParameter[] = [
      { name: 'name', valueString: codeSystem.resource.title ?? codeSystem.resource.name ?? codeSystem.url },
      { name: 'version', valueString: codeSystem.version },
      { name: 'display', valueString: concept.display ?? concept.code },
    ];
    for (const designation of concept.designation) {
      out.push({
        name: 'designation',
        part: [
          ...(designation.language ? [{ name: 'language', valueCode: designation.language }] : []),
          ...(designation.use ? [{ name: 'use', valueCoding: designation.use }] : []),
          { name: 'value', valueString: designation.value },
        ],
      });
    }
    const properties: Array<[string, Omit<ParametersParameter, 'name'>]> = [];
    if (concept.definition) properties.push(['definition', { valueString: concept.definition }]);
    for (const property of concept.properties) properties.push([property.code, propertyValue(property)]);
    for (const parent of concept.parents) properties.push(['parent', { valueCode: parent }]);
    for (const child of concept.children) properties.push(['child', { valueCode: child }]);
    for (const [code, value] of properties) {
      if (wanted && !wanted.has(code)) continue;
      out.push({ name: 'property', part: [{ name: 'code', valueCode: code }, { name: 'value', ...value }] });
    }
    return parameters(out);
  }

  // ------------------------------------------------------------------ $subsumes

  subsumes(request: SubsumesRequest): Parameters {
    const codeSystem = this.#codeSystem(request.system);
    for (const code of [request.codeA, request.codeB]) {
      if (!codeSystem.concepts.has(code)) throw new TerminologyNotFound(this.#unknownCodeMessage(codeSystem, code));
    }
    let outcome: 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed' = 'not-subsumed';
    if (request.codeA === request.codeB) outcome = 'equivalent';
    else if (this.#ancestors(codeSystem, request.codeB).has(request.codeA)) outcome = 'subsumes';
    else if (this.#ancestors(codeSystem, request.codeA).has(request.codeB)) outcome = 'subsumed-by';
    return parameters([{ name: 'outcome', valueCode: outcome }]);
  }

  // ------------------------------------------------------------------ $expand

  expand(request: ExpandRequest): ValueSet {
    const valueSet = this.#requestedValueSet(request.url, request.valueSet);
    const offset = request.offset ?? 0;
    const count = request.count;
    if (!Number.isInteger(offset) || offset < 0) throw new TerminologyInvalidRequest(`offset must be a non-negative integer, got ${offset}`);
    if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
      throw new TerminologyInvalidRequest(`count must be a non-negative integer, got ${count}`);
    }
    let entries = this.#expansion(valueSet);
    const filter = request.filter?.trim().toLowerCase();
    if (filter) {
      entries = entries.filter((e) => e.code.toLowerCase().includes(filter) || (e.display ?? '').toLowerCase().includes(filter));
    }
    const page = entries.slice(offset, count === undefined ? undefined : offset + count);
    const parameter = [
      ...(request.filter !== undefined ? [{ name: 'filter', valueString: request.filter }] : []),
      ...(count !== undefined ? [{ name: 'count', valueInteger: count }] : []),
      ...(request.offset !== undefined ? [{ name: 'offset', valueInteger: offset }] : []),
    ];
    const contains: ValueSetExpansionContains[] = page.map((e) => ({
      system: e.system,
      code: e.code,
      ...(e.display !== undefined ? { display: e.display } : {}),
      ...(e.abstract ? { abstract: true } : {}),
    }));
    return {
      resourceType: 'ValueSet',
      ...(valueSet.id ? { id: valueSet.id } : {}),
      ...(valueSet.url ? { url: valueSet.url } : {}),
      ...(valueSet.version ? { version: valueSet.version } : {}),
      ...(valueSet.name ? { name: valueSet.name } : {}),
      ...(valueSet.title ? { title: valueSet.title } : {}),
      status: valueSet.status,
      expansion: {
        timestamp: this.#data.loadedAt,
        total: entries.length,
        offset,
        ...(parameter.length ? { parameter } : {}),
        ...(contains.length ? { contains } : {}),
      },
    };
  }

  // ------------------------------------------------------------------ $validate-code

  validateCode(request: ValidateCodeRequest): Parameters {
    const valueSet = this.#requestedValueSet(request.url, request.valueSet);
    if (!request.code) throw new TerminologyInvalidRequest('code is required');
    const label = valueSet.url ?? 'the given value set';
    const system = request.system === undefined ? undefined : this.#canonicalSystem(request.system);
    const found = this.#expansion(valueSet).filter((e) => e.code === request.code && (system === undefined || e.system === system));
    if (found.length > 1) {
      throw new TerminologyInvalidRequest(`Code '${request.code}' is in ${label} in several code systems; give the system`);
    }
    const shown = system ? `${system}#${request.code}` : `'${request.code}'`;
    if (found.length === 0) {
      let message = `The code ${shown} is not in the value set ${label}`;
      const codeSystem = system ? this.#data.codeSystems.get(system) : undefined;
      if (codeSystem && !codeSystem.concepts.has(request.code)) message += `; ${this.#unknownCodeMessage(codeSystem, request.code)}`;
      return parameters([
        { name: 'result', valueBoolean: false },
        { name: 'message', valueString: message },
      ]);
    }
    const entry = found[0];
    const concept = this.#data.codeSystems.get(entry.system)?.concepts.get(entry.code);
    const display = entry.display ?? concept?.display;
    const out: ParametersParameter[] = [];
    if (request.display !== undefined && display !== undefined) {
      const known = [display, concept?.display, ...(concept?.designation.map((d) => d.value) ?? [])]
        .filter((d): d is string => d !== undefined)
        .map((d) => d.trim().toLowerCase());
      if (!known.includes(request.display.trim().toLowerCase())) {
        return parameters([
          { name: 'result', valueBoolean: false },
          { name: 'message', valueString: `Wrong display "${request.display}" for ${entry.system}#${entry.code}: should be "${display}"` },
          { name: 'display', valueString: display },
        ]);
      }
    }
    out.push({ name: 'result', valueBoolean: true });
    if (display !== undefined) out.push({ name: 'display', valueString: display });
    return parameters(out);
  }

  // ------------------------------------------------------------------ $translate

  translate(request: TranslateRequest): Parameters {
    const date = checkDate(request.date);
    const system = this.#canonicalSystem(request.system);
    const targetSystem = request.targetSystem === undefined ? undefined : this.#canonicalSystem(request.targetSystem);
    const maps = this.#conceptMapsFor(request);
    const matches: ParametersParameter[] = [];
    const notes: string[] = [];
    let needDependency = 0;
    let notValidOnDate = 0;
    for (const map of maps) {
      for (const group of map.group ?? []) {
        const from = request.reverse ? group.target : group.source;
        const to = request.reverse ? group.source : group.target;
        if (from !== system || (targetSystem !== undefined && to !== targetSystem) || !to) continue;
        if (request.reverse) {
          for (const element of group.element) {
            for (const mapped of element.target ?? []) {
              if (mapped.code !== request.code || mapped.equivalence === 'unmatched') continue;
              if (!this.#dependenciesHold(mapped, request.dependency, false)) continue;
              matches.push(this.#match(REVERSED_EQUIVALENCE[mapped.equivalence] ?? mapped.equivalence, to, element.code ?? '', element.display, map.url));
            }
          }
          continue;
        }
        const element = group.element.find((e) => e.code === request.code);
        if (!element) continue;
        for (const mapped of element.target ?? []) {
          if (mapped.equivalence === 'unmatched') {
            notes.push(`${map.url}: no ${to} code for ${system}#${request.code}${mapped.comment ? ` (${mapped.comment})` : ''}`);
            continue;
          }
          if (!this.#dependenciesHold(mapped, request.dependency, true)) {
            needDependency++;
            continue;
          }
          const targetConcept = this.#data.codeSystems.get(to)?.concepts.get(mapped.code ?? '');
          if (targetConcept && !usableOn(targetConcept, date)) {
            notValidOnDate++;
            continue;
          }
          matches.push(this.#match(mapped.equivalence, to, mapped.code ?? '', mapped.display ?? targetConcept?.display, map.url));
        }
        // A header that was still billable on the date of service stays as it is.
        const sourceConcept = this.#data.codeSystems.get(system)?.concepts.get(request.code);
        if (date && to === system && sourceConcept && usableOn(sourceConcept, date) && !usableOn(sourceConcept, undefined)) {
          matches.unshift(this.#match('equal', system, request.code, sourceConcept.display, map.url));
          notes.push(`${system}#${request.code} was valid on ${date}: keep it for that date of service`);
        }
      }
    }
    if (needDependency) {
      notes.push(`${needDependency} mapping(s) hold only with a dependency, e.g. the screening question (element ${SCREENING_QUESTION_ELEMENT})`);
    }
    if (notValidOnDate) notes.push(`${notValidOnDate} target code(s) not valid ${date ? `on ${date}` : 'in FY2026'} were left out`);
    if (date && date > ICD_COVERED_THROUGH && (system === ICD_10_CM || matches.some((m) => this.#matchSystem(m) === ICD_10_CM))) {
      notes.push(`ICD-10-CM codes are checked against FY2026; ${date} falls after ${ICD_COVERED_THROUGH} (FY2027), which this server does not describe`);
    }
    const out: ParametersParameter[] = [{ name: 'result', valueBoolean: matches.length > 0 }];
    if (matches.length === 0) notes.unshift(`No mapping for ${system}#${request.code}`);
    if (notes.length) out.push({ name: 'message', valueString: notes.join('. ') });
    out.push(...matches);
    return parameters(out);
  }

  // ------------------------------------------------------------------ billing helper

  /**
   * True when `code` is an ICD-10-CM Z code of the shipped subset that is billable (FY2026 status, or on the
   * date of service when given). Accepts the code with or without its dot (claims drop it). Codes outside the
   * subset are false: the hub cannot vouch for them.
   */
  isBillableZCode(code: string, date?: string): boolean {
    const day = checkDate(date);
    const normalized = icdWithDot(code);
    if (!normalized.startsWith('Z')) return false;
    const concept = this.#data.codeSystems.get(ICD_10_CM)?.concepts.get(normalized);
    if (!concept || booleanProperty(concept, 'billable') === undefined) return false;
    return usableOn(concept, day);
  }

  // ------------------------------------------------------------------ internals

  #canonicalSystem(system: string): string {
    const { url } = splitCanonical(system);
    return this.#data.systemAliases.get(url) ?? url;
  }

  #codeSystem(system: string): LoadedCodeSystem {
    const url = this.#canonicalSystem(system);
    const codeSystem = this.#data.codeSystems.get(url);
    if (codeSystem) return codeSystem;
    const swapped = url.startsWith('https://') ? `http://${url.slice(8)}` : url.startsWith('http://') ? `https://${url.slice(7)}` : undefined;
    const hint = swapped && this.#data.codeSystems.has(swapped) ? ` (did you mean ${swapped}?)` : '';
    throw new TerminologyNotFound(`Code system ${url} is not known to this server${hint}`);
  }

  #unknownCodeMessage(codeSystem: LoadedCodeSystem, code: string): string {
    return codeSystem.complete
      ? `Unknown code '${code}' in code system ${codeSystem.url}`
      : `Code '${code}' is not in this server's subset of ${codeSystem.url} (version ${codeSystem.version})`;
  }

  #ancestors(codeSystem: LoadedCodeSystem, code: string): Set<string> {
    const out = new Set<string>();
    const queue = [...(codeSystem.concepts.get(code)?.parents ?? [])];
    while (queue.length) {
      const next = queue.shift() as string;
      if (out.has(next)) continue;
      out.add(next);
      queue.push(...(codeSystem.concepts.get(next)?.parents ?? []));
    }
    return out;
  }

  #valueSet(canonical: string): ValueSet {
    const { url, version } = splitCanonical(canonical);
    const loaded = this.#data.valueSets.get(url);
    if (!loaded) {
      if (this.#data.vsac.has(url)) throw new TerminologyNotShipped(url);
      throw new TerminologyNotFound(`Value set ${url} is not known to this server`);
    }
    if (version !== undefined && version !== loaded.resource.version) {
      throw new TerminologyNotFound(`Value set ${url} version ${version} is not available (shipped: ${loaded.resource.version})`);
    }
    return loaded.resource;
  }

  #requestedValueSet(url: string | undefined, inline: ValueSet | undefined): ValueSet {
    if (url !== undefined) return this.#valueSet(url);
    if (inline !== undefined) {
      if (inline.resourceType !== 'ValueSet') throw new TerminologyInvalidRequest('valueSet must be a ValueSet resource');
      return inline;
    }
    throw new TerminologyInvalidRequest('Give a value set url or an inline valueSet');
  }

  #expansion(valueSet: ValueSet, stack: string[] = []): ExpansionEntry[] {
    const cacheKey = valueSet.url && this.#data.valueSets.get(valueSet.url)?.resource === valueSet ? valueSet.url : undefined;
    if (cacheKey) {
      const cached = this.#expansions.get(cacheKey);
      if (cached) return cached;
    }
    if (valueSet.url && stack.includes(valueSet.url)) {
      throw new TerminologyInvalidRequest(`Value set ${valueSet.url} includes itself (${[...stack, valueSet.url].join(' > ')})`);
    }
    const inner = valueSet.url ? [...stack, valueSet.url] : stack;
    if (!valueSet.compose?.include?.length) {
      throw new TerminologyInvalidRequest(`Value set ${valueSet.url ?? '(inline)'} has no compose to expand`);
    }
    const result = new Map<string, ExpansionEntry>();
    for (const include of valueSet.compose.include) {
      for (const entry of this.#includeEntries(include, inner)) {
        if (!result.has(key(entry.system, entry.code))) result.set(key(entry.system, entry.code), entry);
      }
    }
    for (const exclude of valueSet.compose.exclude ?? []) {
      for (const entry of this.#includeEntries(exclude, inner)) result.delete(key(entry.system, entry.code));
    }
    const entries = [...result.values()];
    if (cacheKey) this.#expansions.set(cacheKey, entries);
    return entries;
  }

  #includeEntries(include: ValueSetComposeInclude, stack: string[]): ExpansionEntry[] {
    if (include.filter?.length) throw new TerminologyInvalidRequest('Value set compose filters are not supported');
    let entries: ExpansionEntry[] | undefined;
    if (include.system) {
      const system = this.#canonicalSystem(include.system);
      const codeSystem = this.#data.codeSystems.get(system);
      if (include.concept?.length) {
        entries = include.concept.map((c) => {
          const concept = codeSystem?.concepts.get(c.code);
          return { system, code: c.code, display: c.display ?? concept?.display, abstract: concept?.abstract ?? false };
        });
      } else {
        if (!codeSystem) throw new TerminologyNotFound(`Code system ${system} is not known to this server`);
        if (!codeSystem.complete) {
          throw new TerminologyInvalidRequest(`Cannot include all of ${system}: this server ships only a subset of it`);
        }
        entries = [...codeSystem.concepts.values()].map((c) => ({ system, code: c.code, display: c.display, abstract: c.abstract }));
      }
    }
    for (const url of include.valueSet ?? []) {
      const imported = this.#expansion(this.#valueSet(url), stack);
      if (entries === undefined) {
        entries = imported;
      } else {
        const keep = new Set(imported.map((e) => key(e.system, e.code)));
        entries = entries.filter((e) => keep.has(key(e.system, e.code)));
      }
    }
    return entries ?? [];
  }

  #conceptMapsFor(request: TranslateRequest): ConceptMap[] {
    if (request.url !== undefined) {
      const { url, version } = splitCanonical(request.url);
      const loaded = this.#data.conceptMaps.get(url);
      if (!loaded) throw new TerminologyNotFound(`Concept map ${url} is not known to this server`);
      if (version !== undefined && version !== loaded.resource.version) {
        throw new TerminologyNotFound(`Concept map ${url} version ${version} is not available (shipped: ${loaded.resource.version})`);
      }
      return [loaded.resource];
    }
    return [...this.#data.conceptMaps.values()]
      .map((loaded) => loaded.resource)
      .filter((map) => {
        const source = map.sourceUri ?? map.sourceCanonical;
        const target = map.targetUri ?? map.targetCanonical;
        const wantSource = request.reverse ? request.target : request.source;
        const wantTarget = request.reverse ? request.source : request.target;
        return (wantSource === undefined || source === wantSource) && (wantTarget === undefined || target === wantTarget);
      });
  }

  /** Every dependsOn of the target is matched by a given dependency. In reverse, dependencies are optional. */
  #dependenciesHold(mapped: ConceptMapGroupElementTarget, given: TranslateDependency[] | undefined, required: boolean): boolean {
    const needs = mapped.dependsOn ?? [];
    if (needs.length === 0) return true;
    if (!given?.length) return !required;
    return needs.every((need) =>
      given.some(
        (dep) =>
          dep.element === need.property &&
          dep.code === need.value &&
          (need.system === undefined || dep.system === undefined || this.#canonicalSystem(dep.system) === need.system),
      ),
    );
  }

  #match(equivalence: string, system: string, code: string, display: string | undefined, source: string | undefined): ParametersParameter {
    const concept: Coding = { system, code, ...(display !== undefined ? { display } : {}) };
    return {
      name: 'match',
      part: [
        { name: 'equivalence', valueCode: equivalence },
        { name: 'concept', valueCoding: concept },
        ...(source ? [{ name: 'source', valueUri: source }] : []),
      ],
    };
  }

  #matchSystem(match: ParametersParameter): string | undefined {
    return match.part?.find((p) => p.name === 'concept')?.valueCoding?.system;
  }
}
