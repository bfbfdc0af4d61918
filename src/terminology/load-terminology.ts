// Loads the terminology the hub ships (terminology/index.json and the FHIR resources it lists), checks that
// every file has the shape the service relies on and that the files agree with each other, and builds the
// lookup maps. Synchronous and fast (a few milliseconds): it runs once at server start.
import fs from 'node:fs';
import path from 'node:path';
import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptDesignation,
  CodeSystemConceptProperty,
  ConceptMap,
  ValueSet,
  ValueSetComposeInclude,
} from 'fhir/r4';
import { TerminologyLoadError } from './terminology-errors.ts';

/** The repository's terminology/ folder. */
export const DEFAULT_TERMINOLOGY_DIR = path.resolve(import.meta.dirname, '../../terminology');

/** Element a screening-answer mapping depends on: the question (Observation.code) the answer is a value of. */
export const SCREENING_QUESTION_ELEMENT = 'http://hl7.org/fhir/StructureDefinition/Observation#Observation.code';

const HUB_BASE = 'http://cch-fhir-server.example.org/fhir';
/** Extension on the VSAC catalogue entries naming the Gravity activity (condition, procedure...). */
export const GRAVITY_ACTIVITY_EXTENSION = `${HUB_BASE}/StructureDefinition/gravity-activity`;

const EQUIVALENCES = new Set([
  'relatedto', 'equivalent', 'equal', 'wider', 'subsumes', 'narrower', 'specializes', 'inexact', 'unmatched', 'disjoint',
]);
const PROPERTY_TYPES = new Set(['code', 'Coding', 'string', 'integer', 'boolean', 'dateTime', 'decimal']);

export interface IndexEntry {
  file: string;
  resourceType: 'CodeSystem' | 'ValueSet' | 'ConceptMap' | 'Bundle';
  url: string;
  version: string;
  role?: 'vsac-catalogue';
}

export interface LoadedConcept {
  system: string;
  code: string;
  display?: string;
  definition?: string;
  designation: CodeSystemConceptDesignation[];
  /** As in the file, without parent/child (see parents, children). */
  properties: CodeSystemConceptProperty[];
  parents: string[];
  children: string[];
  /** notSelectable = true: a grouper, not for use in data. */
  abstract: boolean;
}

export interface LoadedCodeSystem {
  file: string;
  resource: CodeSystem;
  url: string;
  version: string;
  /** content = complete: a code not listed does not exist. Otherwise the file is a fragment. */
  complete: boolean;
  /** In file order (depth first). */
  concepts: Map<string, LoadedConcept>;
  /** Declared property code → type. */
  propertyTypes: Map<string, string>;
}

export interface LoadedValueSet {
  file: string;
  resource: ValueSet;
}

export interface LoadedConceptMap {
  file: string;
  resource: ConceptMap;
}

/** A value set the hub knows by URL but does not ship (Gravity value sets in NLM VSAC). */
export interface VsacValueSet {
  url: string;
  oid: string;
  title: string;
  /** SDOHCC category code, when the value set belongs to one domain. */
  domain?: string;
  /** Gravity activity: screening-question, screening-answer, condition, goal, procedure, service-request... */
  activity?: string;
}

export interface LoadedTerminology {
  dir: string;
  /** When the files were read (ISO instant); used as the expansion timestamp. */
  loadedAt: string;
  index: IndexEntry[];
  codeSystems: Map<string, LoadedCodeSystem>;
  /** Other identifiers of a code system (urn:oid:…) → its canonical URL. */
  systemAliases: Map<string, string>;
  valueSets: Map<string, LoadedValueSet>;
  conceptMaps: Map<string, LoadedConceptMap>;
  /** By canonical URL and by urn:oid. */
  vsac: Map<string, VsacValueSet>;
}

interface IndexFile {
  files: IndexEntry[];
}

function fail(file: string, message: string): never {
  throw new TerminologyLoadError(`terminology/${file}: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(file: string, value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(file, `${what} must be a non-empty string`);
  return value;
}

function readJson(dir: string, file: string): unknown {
  const full = path.join(dir, file);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch {
    fail(file, 'cannot be read');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(file, `is not valid JSON (${(error as Error).message})`);
  }
}

function readIndex(dir: string): IndexEntry[] {
  const index = readJson(dir, 'index.json');
  if (!isObject(index) || !Array.isArray(index.files)) fail('index.json', 'must have a files array');
  const entries = (index as unknown as IndexFile).files;
  const seen = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (!isObject(entry)) fail('index.json', `files[${i}] must be an object`);
    requireString('index.json', entry.file, `files[${i}].file`);
    requireString('index.json', entry.url, `files[${i}].url`);
    requireString('index.json', entry.version, `files[${i}].version`);
    if (!['CodeSystem', 'ValueSet', 'ConceptMap', 'Bundle'].includes(entry.resourceType)) {
      fail('index.json', `files[${i}].resourceType ${String(entry.resourceType)} is not supported`);
    }
    if (entry.file.includes('/') || entry.file.includes('\\')) fail('index.json', `files[${i}].file must be a file name`);
    if (seen.has(entry.file)) fail('index.json', `${entry.file} is listed twice`);
    seen.add(entry.file);
  }
  return entries;
}

function checkMetadata(file: string, resource: Record<string, unknown>, entry: IndexEntry): void {
  if (resource.resourceType !== entry.resourceType) {
    fail(file, `is a ${String(resource.resourceType)}, index.json says ${entry.resourceType}`);
  }
  const url = requireString(file, resource.url, 'url');
  const version = requireString(file, resource.version, 'version');
  if (url !== entry.url) fail(file, `url ${url} differs from index.json (${entry.url})`);
  if (version !== entry.version) fail(file, `version ${version} differs from index.json (${entry.version})`);
  requireString(file, resource.status, 'status');
  requireString(file, resource.date, 'date');
  requireString(file, resource.publisher, 'publisher');
  if (typeof resource.copyright !== 'string' && typeof resource.description !== 'string') {
    fail(file, 'needs copyright or description (licence notes)');
  }
}

const PROPERTY_VALUE_KEY: Record<string, keyof CodeSystemConceptProperty> = {
  code: 'valueCode',
  Coding: 'valueCoding',
  string: 'valueString',
  integer: 'valueInteger',
  boolean: 'valueBoolean',
  dateTime: 'valueDateTime',
  decimal: 'valueDecimal',
};

function loadCodeSystem(file: string, resource: CodeSystem): LoadedCodeSystem {
  if (!['complete', 'fragment'].includes(resource.content)) {
    fail(file, `content ${resource.content} is not supported (complete or fragment)`);
  }
  const propertyTypes = new Map<string, string>();
  for (const declared of resource.property ?? []) {
    requireString(file, declared.code, 'property.code');
    if (!PROPERTY_TYPES.has(declared.type)) fail(file, `property ${declared.code} has unknown type ${declared.type}`);
    if (propertyTypes.has(declared.code)) fail(file, `property ${declared.code} is declared twice`);
    propertyTypes.set(declared.code, declared.type);
  }
  const url = requireString(file, resource.url, 'url');
  const concepts = new Map<string, LoadedConcept>();
  const explicitParents: Array<[string, string]> = [];

  const walk = (list: CodeSystemConcept[] | undefined, parent: string | undefined): void => {
    for (const concept of list ?? []) {
      const code = requireString(file, concept.code, 'concept.code');
      if (concepts.has(code)) fail(file, `concept ${code} appears twice`);
      const properties: CodeSystemConceptProperty[] = [];
      let abstract = false;
      for (const property of concept.property ?? []) {
        const type = propertyTypes.get(property.code) ?? (property.code === 'notSelectable' ? 'boolean' : undefined);
        if (!type) fail(file, `concept ${code} uses undeclared property ${property.code}`);
        const key = PROPERTY_VALUE_KEY[type];
        if (property[key] === undefined) fail(file, `concept ${code} property ${property.code} must have ${String(key)}`);
        if (property.code === 'parent') explicitParents.push([code, property.valueCode ?? '']);
        else if (property.code === 'child') explicitParents.push([property.valueCode ?? '', code]);
        else properties.push(property);
        if (property.code === 'notSelectable' && property.valueBoolean === true) abstract = true;
      }
      concepts.set(code, {
        system: url,
        code,
        display: concept.display,
        definition: concept.definition,
        designation: concept.designation ?? [],
        properties,
        parents: parent ? [parent] : [],
        children: (concept.concept ?? []).map((child) => child.code),
        abstract,
      });
      walk(concept.concept, code);
    }
  };
  walk(resource.concept, undefined);
  if (concepts.size === 0) fail(file, 'has no concepts');
  for (const [child, parent] of explicitParents) {
    const childConcept = concepts.get(child);
    const parentConcept = concepts.get(parent);
    if (!childConcept || !parentConcept) fail(file, `parent/child property names an unknown code (${parent} > ${child})`);
    if (!childConcept.parents.includes(parent)) childConcept.parents.push(parent);
    if (!parentConcept.children.includes(child)) parentConcept.children.push(child);
  }
  if (resource.count !== undefined && resource.count !== concepts.size) {
    fail(file, `count is ${resource.count} but the file has ${concepts.size} concepts`);
  }
  return {
    file,
    resource,
    url,
    version: requireString(file, resource.version, 'version'),
    complete: resource.content === 'complete',
    concepts,
    propertyTypes,
  };
}

function checkDisplay(file: string, where: string, display: string | undefined, concept: LoadedConcept): void {
  if (display === undefined) return;
  const known = [concept.display, ...concept.designation.map((d) => d.value)];
  if (!known.includes(display)) fail(file, `${where}: display "${display}" is not a display of ${concept.system}#${concept.code}`);
}

function checkInclude(file: string, include: ValueSetComposeInclude, loaded: LoadedTerminology, what: string): void {
  if (include.filter?.length) fail(file, `${what}: compose filters are not supported; list the concepts`);
  if (!include.system && !include.valueSet?.length) fail(file, `${what}: needs system or valueSet`);
  for (const url of include.valueSet ?? []) {
    if (!loaded.valueSets.has(url)) fail(file, `${what}: value set ${url} is not shipped`);
  }
  if (!include.system) return;
  const codeSystem = loaded.codeSystems.get(include.system);
  if (include.version && codeSystem && include.version !== codeSystem.version) {
    fail(file, `${what}: pins ${include.system} version ${include.version}, shipped ${codeSystem.version}`);
  }
  if (!include.concept?.length) {
    if (!codeSystem?.complete) fail(file, `${what}: includes all of ${include.system}, which is not shipped complete`);
    return;
  }
  const seen = new Set<string>();
  for (const concept of include.concept) {
    requireString(file, concept.code, `${what} concept.code`);
    if (seen.has(concept.code)) fail(file, `${what}: ${concept.code} is listed twice`);
    seen.add(concept.code);
    if (!codeSystem) continue;
    const known = codeSystem.concepts.get(concept.code);
    if (!known) fail(file, `${what}: ${include.system}#${concept.code} is not in the shipped code system`);
    checkDisplay(file, what, concept.display, known);
  }
}

function checkValueSet(file: string, resource: ValueSet, loaded: LoadedTerminology): void {
  if (!resource.compose?.include?.length) fail(file, 'needs compose.include');
  resource.compose.include.forEach((include, i) => checkInclude(file, include, loaded, `compose.include[${i}]`));
  (resource.compose.exclude ?? []).forEach((exclude, i) => checkInclude(file, exclude, loaded, `compose.exclude[${i}]`));
}

function checkConceptMap(file: string, resource: ConceptMap, loaded: LoadedTerminology): void {
  if (!resource.group?.length) fail(file, 'needs at least one group');
  resource.group.forEach((group, g) => {
    const where = `group[${g}]`;
    const source = loaded.codeSystems.get(requireString(file, group.source, `${where}.source`));
    const target = loaded.codeSystems.get(requireString(file, group.target, `${where}.target`));
    if (!group.element?.length) fail(file, `${where} has no elements`);
    const seen = new Set<string>();
    for (const element of group.element) {
      const code = requireString(file, element.code, `${where}.element.code`);
      if (seen.has(code)) fail(file, `${where}: element ${code} appears twice (put all its targets in one element)`);
      seen.add(code);
      const sourceConcept = source?.concepts.get(code);
      if (source && !sourceConcept) fail(file, `${where}: source code ${code} is not in ${group.source}`);
      if (sourceConcept) checkDisplay(file, `${where} element ${code}`, element.display, sourceConcept);
      if (!element.target?.length) fail(file, `${where}: element ${code} has no target`);
      for (const mapped of element.target) {
        if (!EQUIVALENCES.has(mapped.equivalence)) fail(file, `${where}: ${code} has equivalence ${mapped.equivalence}`);
        if (mapped.equivalence === 'unmatched') continue;
        const targetCode = requireString(file, mapped.code, `${where}: target of ${code}`);
        const targetConcept = target?.concepts.get(targetCode);
        if (target && !targetConcept) fail(file, `${where}: target code ${targetCode} is not in ${group.target}`);
        if (targetConcept) checkDisplay(file, `${where} target ${targetCode}`, mapped.display, targetConcept);
        for (const dependsOn of mapped.dependsOn ?? []) {
          requireString(file, dependsOn.property, `${where}: dependsOn.property`);
          requireString(file, dependsOn.value, `${where}: dependsOn.value`);
          const dependsSystem = dependsOn.system ? loaded.codeSystems.get(dependsOn.system) : undefined;
          if (dependsSystem && !dependsSystem.concepts.has(dependsOn.value)) {
            fail(file, `${where}: dependsOn ${dependsOn.value} is not in ${dependsOn.system}`);
          }
        }
      }
    }
  });
}

function loadVsacCatalogue(file: string, bundle: Bundle, entry: IndexEntry, loaded: LoadedTerminology): void {
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'collection') fail(file, 'must be a collection Bundle');
  if (bundle.identifier?.value !== entry.url) fail(file, `identifier ${bundle.identifier?.value} differs from index.json`);
  for (const [i, item] of (bundle.entry ?? []).entries()) {
    const valueSet = item.resource as ValueSet | undefined;
    if (valueSet?.resourceType !== 'ValueSet') fail(file, `entry[${i}] must be a ValueSet`);
    const url = requireString(file, valueSet.url, `entry[${i}].resource.url`);
    if (valueSet.compose || valueSet.expansion) fail(file, `entry[${i}] (${url}) must not carry content: it is not shipped`);
    const oid = valueSet.identifier?.find((id) => id.system === 'urn:ietf:rfc:3986')?.value;
    if (!oid?.startsWith('urn:oid:')) fail(file, `entry[${i}] (${url}) needs a urn:oid identifier`);
    const domain = valueSet.useContext
      ?.find((context) => context.code.code === 'focus')
      ?.valueCodeableConcept?.coding?.[0]?.code;
    const activity = valueSet.extension?.find((ext) => ext.url === GRAVITY_ACTIVITY_EXTENSION)?.valueCode;
    const info: VsacValueSet = { url, oid: oid.slice('urn:oid:'.length), title: valueSet.title ?? url, domain, activity };
    if (loaded.vsac.has(url)) fail(file, `${url} appears twice`);
    loaded.vsac.set(url, info);
    loaded.vsac.set(oid, info);
  }
}

/** Reads index.json and every file it lists from `dir` (default: the repository's terminology/). */
export function loadTerminology(dir: string = DEFAULT_TERMINOLOGY_DIR): LoadedTerminology {
  const loaded: LoadedTerminology = {
    dir,
    loadedAt: new Date().toISOString(),
    index: readIndex(dir),
    codeSystems: new Map(),
    systemAliases: new Map(),
    valueSets: new Map(),
    conceptMaps: new Map(),
    vsac: new Map(),
  };
  const pending: Array<() => void> = [];
  for (const entry of loaded.index) {
    const resource = readJson(dir, entry.file);
    if (!isObject(resource)) fail(entry.file, 'must be a JSON object');
    if (entry.resourceType === 'Bundle') {
      if (entry.role !== 'vsac-catalogue') fail(entry.file, 'a Bundle must have role vsac-catalogue in index.json');
      loadVsacCatalogue(entry.file, resource as unknown as Bundle, entry, loaded);
      continue;
    }
    checkMetadata(entry.file, resource, entry);
    if (entry.resourceType === 'CodeSystem') {
      if (loaded.codeSystems.has(entry.url)) fail(entry.file, `a second file for code system ${entry.url}`);
      const codeSystem = loadCodeSystem(entry.file, resource as unknown as CodeSystem);
      loaded.codeSystems.set(entry.url, codeSystem);
      for (const identifier of codeSystem.resource.identifier ?? []) {
        if (identifier.value && identifier.value !== entry.url) loaded.systemAliases.set(identifier.value, entry.url);
      }
    } else if (entry.resourceType === 'ValueSet') {
      if (loaded.valueSets.has(entry.url)) fail(entry.file, `a second file for value set ${entry.url}`);
      const valueSet = resource as unknown as ValueSet;
      loaded.valueSets.set(entry.url, { file: entry.file, resource: valueSet });
      pending.push(() => checkValueSet(entry.file, valueSet, loaded));
    } else {
      if (loaded.conceptMaps.has(entry.url)) fail(entry.file, `a second file for concept map ${entry.url}`);
      const conceptMap = resource as unknown as ConceptMap;
      loaded.conceptMaps.set(entry.url, { file: entry.file, resource: conceptMap });
      pending.push(() => checkConceptMap(entry.file, conceptMap, loaded));
    }
  }
  // Cross-file checks run once everything is loaded, whatever the order of index.json.
  for (const check of pending) check();
  for (const url of loaded.valueSets.keys()) {
    if (loaded.vsac.has(url)) throw new TerminologyLoadError(`${url} is both shipped and listed as VSAC-only`);
  }
  return loaded;
}
