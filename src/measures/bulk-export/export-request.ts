// What a Bulk Data kick-off asks for (SMART Bulk Data 2.0, export.md), checked at kick-off so that
// every error is a 400 (or 403) to the client rather than a failed job: `_type`, `_since`,
// `_typeFilter` (one search per entry, through the server's own search parser and the client's
// disclosure profile) and `_outputFormat`. Parameters the hub does not support (`patient`,
// `includeAssociatedData`, `_elements`) are refused, as the spec asks of unsupported parameters
// without `Prefer: handling=lenient`.
import { badRequest } from '../../fhir/errors.ts';
import type { OperationInput } from '../../fhir/operations/operation.ts';
import { isPatientLinked } from '../../fhir/patient-links.ts';
import type { FhirRequest } from '../../fhir/types.ts';
import { R4_RESOURCE_TYPES } from '../../validation/r4-resource-types.ts';

export type ExportLevel = 'system' | 'patient' | 'group';

/** The stored form of a kick-off (bulk_export_job.request). */
export interface ExportRequest {
  level: ExportLevel;
  /** Group/[id]/$export: the Group's id. */
  groupId?: string;
  /** `_type`; undefined: every type the client may receive. */
  types?: string[];
  /** `_since` as an instant. */
  since?: string;
  /** `_typeFilter` queries by type (several for one type are alternatives). */
  typeFilters: Record<string, string[]>;
  outputFormat: string;
  /** The kick-off URL, echoed in the manifest's `request`. */
  requestUrl: string;
  /** The public base (scheme://host[:port]) the client called, for the status and file URLs. */
  publicBase: string;
}

/** application/fhir+ndjson and its two abbreviations (export.md, `_outputFormat`). */
export const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
/** Search result parameters: "SHALL NOT be used as _typeFilter criteria" (export.md). */
const RESULT_PARAMETERS = ['_sort', '_include', '_revinclude', '_elements', '_summary', '_count', '_total', '_cursor', '_contained', '_containedType', '_format', '_pretty'];
const UNSUPPORTED = ['patient', 'includeAssociatedData', '_elements'];
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Every value of a parameter: from the query string and from a POSTed Parameters body, comma lists split. */
function values(request: FhirRequest, input: OperationInput, name: string): string[] {
  const fromBody = name.startsWith('_') ? input.all(name).map((parameter) => parameter.valueString ?? parameter.valueInstant ?? parameter.valueCode) : [];
  return [...request.query.getAll(name), ...fromBody].filter((value): value is string => typeof value === 'string');
}

export function parseExportRequest(request: FhirRequest, input: OperationInput, level: ExportLevel, where: { groupId?: string; fhirBase: string }): ExportRequest {
  for (const name of UNSUPPORTED) {
    if (request.query.has(name) || input.all(name).length) throw badRequest(`Parameter '${name}' is not supported by this server's $export`, name, 'not-supported');
  }
  const formats = values(request, input, '_outputFormat');
  if (formats.length > 1) throw badRequest(`_outputFormat may be given once`, '_outputFormat');
  const outputFormat = formats[0] ?? 'application/fhir+ndjson';
  if (!OUTPUT_FORMATS.includes(outputFormat)) {
    throw badRequest(`_outputFormat '${outputFormat}' is not supported (${OUTPUT_FORMATS.join(', ')})`, '_outputFormat', 'not-supported');
  }

  const requested = values(request, input, '_type').flatMap((value) => value.split(',')).map((type) => type.trim()).filter(Boolean);
  for (const type of requested) {
    if (!R4_RESOURCE_TYPES.includes(type)) throw badRequest(`_type '${type}' is not a FHIR R4 resource type`, '_type');
    if (level !== 'system' && !isPatientLinked(type)) throw badRequest(`_type '${type}' is not patient data: a ${level}-level export holds the patient compartment only`, '_type');
  }

  const sinceValues = values(request, input, '_since');
  if (sinceValues.length > 1) throw badRequest('_since may be given once', '_since');
  const since = sinceValues[0];
  if (since !== undefined && (!INSTANT.test(since) || Number.isNaN(Date.parse(since)))) throw badRequest('_since must be a FHIR instant (e.g. 2026-01-01T00:00:00Z)', '_since');

  const typeFilters: Record<string, string[]> = {};
  for (const filter of values(request, input, '_typeFilter')) {
    const mark = filter.indexOf('?');
    const type = mark < 0 ? filter : filter.slice(0, mark);
    if (!R4_RESOURCE_TYPES.includes(type) || mark < 0) throw badRequest(`_typeFilter '${filter}' must be [type]?[search query]`, '_typeFilter');
    const query = new URLSearchParams(filter.slice(mark + 1));
    for (const name of query.keys()) {
      if (RESULT_PARAMETERS.includes(name.split(':')[0])) throw badRequest(`_typeFilter may not use the result parameter '${name}'`, '_typeFilter');
    }
    (typeFilters[type] ??= []).push(query.toString());
  }

  const query = request.query.toString();
  const path = request.path;
  return {
    level,
    ...(where.groupId ? { groupId: where.groupId } : {}),
    ...(requested.length ? { types: [...new Set(requested)] } : {}),
    ...(since ? { since: new Date(since).toISOString() } : {}),
    typeFilters,
    outputFormat,
    requestUrl: `${where.fhirBase}/${path}${query ? `?${query}` : ''}`,
    publicBase: where.fhirBase.replace(/\/fhir$/, ''),
  };
}
