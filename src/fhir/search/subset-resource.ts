// FHIR R4 `_summary` and `_elements` (http://hl7.org/fhir/R4/search.html#summary): a trimmed copy of a
// resource, tagged SUBSETTED so that nobody mistakes it for the whole resource (e.g. PUTs it back).
// Which elements are summary, backbone or choice comes from r4-summary-elements.json (derived from
// the R4 StructureDefinitions); mandatory ones from the validator's r4-required-elements.json.
import type { Coding, Resource } from 'fhir/r4';
import summaryElements from './r4-summary-elements.json' with { type: 'json' };
import requiredElements from '../../validation/r4-required-elements.json' with { type: 'json' };
import type { SummaryDefinition } from './derive-summary-elements.ts';

export type SummaryMode = 'true' | 'text' | 'data';

export const SUBSETTED: Readonly<Coding> = Object.freeze({
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
});

// The type names a choice key can end with (`valueQuantity`). Matching `value[x]` by prefix alone would
// be wrong: SubstanceAmount has both amount[x] and amountType. r4-summary-elements.test.ts checks this
// list against the StructureDefinitions.
export const CHOICE_TYPE_SUFFIXES: ReadonlySet<string> = new Set([
  'Address', 'Age', 'Annotation', 'Attachment', 'Base64Binary', 'Boolean', 'Canonical', 'Code', 'CodeableConcept',
  'Coding', 'ContactDetail', 'ContactPoint', 'Contributor', 'Count', 'DataRequirement', 'Date', 'DateTime', 'Decimal',
  'Distance', 'Dosage', 'Duration', 'Expression', 'HumanName', 'Id', 'Identifier', 'Instant', 'Integer', 'Markdown',
  'Meta', 'Money', 'Oid', 'ParameterDefinition', 'Period', 'PositiveInt', 'Quantity', 'Range', 'Ratio', 'Reference',
  'RelatedArtifact', 'SampledData', 'Signature', 'String', 'Time', 'Timing', 'TriggerDefinition', 'UnsignedInt', 'Uri',
  'Url', 'UsageContext', 'Uuid',
]);

type JsonObject = { [key: string]: unknown };

const SUMMARY = summaryElements as Record<string, SummaryDefinition>;
const REQUIRED = requiredElements as Record<string, string[]>;

// Kept by every mode: without them the result could not be identified or versioned.
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

/** Whether JSON key `key` (without its `_`) is element `element`; `value[x]` matches valueQuantity etc. */
function isElement(key: string, element: string): boolean {
  if (!element.endsWith('[x]')) return key === element;
  const prefix = element.slice(0, -3);
  return key.startsWith(prefix) && CHOICE_TYPE_SUFFIXES.has(key.slice(prefix.length));
}

/** The element among `elements` that JSON key `key` holds, if any; `_birthDate` follows `birthDate`. */
function elementOf(key: string, elements: readonly string[]): string | undefined {
  const name = key.startsWith('_') ? key.slice(1) : key;
  return elements.find((element) => isElement(name, element));
}

interface Trim {
  removed: boolean;
}

/** Top-level elements `keep` (plus ALWAYS), each kept whole. */
function pickTopLevel(source: JsonObject, keep: readonly string[], trim: Trim): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (ALWAYS.has(key.startsWith('_') ? key.slice(1) : key) || elementOf(key, keep)) result[key] = structuredClone(value);
    else trim.removed = true;
  }
  return result;
}

/**
 * The summary elements of `source`, described by schema definition `definition`. Backbone elements are
 * summarized in turn; complex datatype values (HumanName, CodeableConcept...) are kept whole, as most
 * servers do (HAPI among them): their non-summary parts (e.g. HumanName.extension) are small, and
 * cutting inside them would leave e.g. a Coding without its extensions for little gain.
 */
function pickSummary(source: JsonObject, definition: string, trim: Trim, topLevel: boolean): JsonObject {
  const entry = SUMMARY[definition];
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (topLevel && ALWAYS.has(key.startsWith('_') ? key.slice(1) : key)) {
      result[key] = structuredClone(value);
      continue;
    }
    const element = entry && elementOf(key, entry.summary);
    if (!element) {
      trim.removed = true;
      continue;
    }
    const backbone = entry.backbone?.[element];
    if (!backbone || key.startsWith('_')) {
      result[key] = structuredClone(value);
      continue;
    }
    const picked = pickBackbone(value, backbone, trim);
    if (picked === undefined) trim.removed = true;
    else result[key] = picked;
  }
  return result;
}

/** A backbone element's value (one object or an array of them), or undefined if nothing is left: FHIR allows no empty objects or arrays. */
function pickBackbone(value: unknown, definition: string, trim: Trim): unknown {
  const one = (item: unknown): unknown => {
    if (!isObject(item)) return structuredClone(item); // not valid FHIR; leave it as it was
    const picked = pickSummary(item, definition, trim, false);
    return Object.keys(picked).length ? picked : undefined;
  };
  if (!Array.isArray(value)) return one(value);
  const items = value.map(one).filter((item) => item !== undefined);
  if (items.length < value.length) trim.removed = true;
  return items.length ? items : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Adds the SUBSETTED tag to `result.meta` (which is already a copy) unless it is there. */
function markSubsetted(result: JsonObject): void {
  const meta: JsonObject = isObject(result.meta) ? result.meta : {};
  const tags = Array.isArray(meta.tag) ? (meta.tag as Coding[]) : [];
  if (tags.some((tag) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code)) return;
  result.meta = { ...meta, tag: [...tags, { ...SUBSETTED }] };
}

function finish(result: JsonObject, subsetted: boolean): Resource {
  if (subsetted) markSubsetted(result);
  return result as unknown as Resource;
}

/**
 * `_summary=true | text | data` applied to one resource; returns a new object and leaves `resource` alone.
 * - true: the elements marked isSummary (recursively through backbone elements), plus resourceType/id/meta.
 *   Strictly isSummary, as R4 words it ("solely of ... elements marked summary"): the four top-level
 *   mandatory elements that are not summary (Appointment.participant, AuditEvent.agent/source,
 *   Provenance.agent) are left out, and so is modifierExtension (summary only inside backbone elements).
 * - text: text, id, meta and the top-level mandatory elements.
 * - data: everything but text; always tagged, since R4 counts it as a subset.
 */
export function summarize(resource: Resource, mode: SummaryMode): Resource {
  const source = resource as unknown as JsonObject;
  const type = String(source.resourceType);
  const trim: Trim = { removed: false };
  switch (mode) {
    case 'true':
      return finish(pickSummary(source, type, trim, true), trim.removed);
    case 'text':
      return finish(pickTopLevel(source, ['text', ...(REQUIRED[type] ?? [])], trim), trim.removed);
    case 'data':
      return finish(Object.fromEntries(Object.entries(structuredClone(source)).filter(([key]) => key !== 'text')), true);
    default: {
      const unknown: never = mode;
      throw new Error(`unknown _summary mode ${String(unknown)}`);
    }
  }
}

/**
 * `_elements=a,b,...`: the listed top-level elements plus resourceType, id, meta and the mandatory
 * top-level elements (R4: servers SHOULD return those whether asked or not). A choice element may be
 * named `value` or `value[x]`; a concrete key (`valueQuantity`) also works. Unknown names, including
 * paths below the top level (`name.family`, which R4 does not define), are ignored.
 */
export function selectElements(resource: Resource, elements: string[]): Resource {
  const source = resource as unknown as JsonObject;
  const type = String(source.resourceType);
  const choices = SUMMARY[type]?.choices ?? [];
  const keep = elements
    .map((name) => name.trim())
    .filter((name) => name !== '' && !name.includes('.'))
    // Only a real choice element widens `status` to `statusXxx`: MedicinalProductAuthorization has both status and statusDate.
    .map((name) => (!name.endsWith('[x]') && choices.includes(`${name}[x]`) ? `${name}[x]` : name));
  const trim: Trim = { removed: false };
  return finish(pickTopLevel(source, [...keep, ...(REQUIRED[type] ?? [])], trim), trim.removed);
}
