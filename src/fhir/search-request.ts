// Parses a search's query parameters into a SearchRequest for the store.
// This is the minimal search of the core server: _id, _lastUpdated and identifier, with _count,
// _sort, _total, _summary=count and keyset paging. Full search replaces it.
import { badRequest, FhirError, type IssueInput } from './errors.ts';
import { parseDateRange } from './date-range.ts';
import { fhirSchema } from '../validation/fhir-schema.ts';

export type DatePrefix = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'sa' | 'eb' | 'ap';

export type SearchFilter =
  | { kind: 'id'; ids: string[] }
  | { kind: 'lastUpdated'; prefix: DatePrefix; start: Date; end: Date }
  | { kind: 'identifier'; many: boolean; any: { system?: string; value?: string; noSystem?: boolean }[] };

export type SortKey = { column: 'id' | 'last_updated'; descending: boolean };

export interface SearchCursor {
  /** Sort-key values of the row the page starts after (next) or before (previous). */
  values: string[];
  direction: 'next' | 'previous';
}

export interface SearchRequest {
  resourceType: string;
  filters: SearchFilter[];
  sort: SortKey[];
  count: number;
  total: 'none' | 'estimate' | 'accurate';
  summaryCount: boolean;
  cursor?: SearchCursor;
  /** The parameters that were understood, for the self link. */
  used: [string, string][];
  /** Parameters that were not understood (ignored unless the search is strict). */
  unknown: string[];
}

export const DEFAULT_PAGE_SIZE = 20;
const PREFIXES = new Set(['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap']);
const RESULT_PARAMS = new Set(['_count', '_sort', '_total', '_summary', '_cursor', '_format', '_pretty']);

export interface ParseOptions {
  maxPageSize: number;
  /** Unknown parameters are an error (Prefer: handling=strict, and always for conditional interactions). */
  strict: boolean;
}

function hasArrayIdentifier(resourceType: string): boolean | undefined {
  const property = (fhirSchema().definitions[resourceType]?.properties as Record<string, { type?: string }> | undefined)?.identifier;
  return property ? property.type === 'array' : undefined;
}

export function parseSearchRequest(resourceType: string, query: URLSearchParams, options: ParseOptions): SearchRequest {
  const request: SearchRequest = {
    resourceType,
    filters: [],
    sort: [],
    count: DEFAULT_PAGE_SIZE,
    total: 'accurate',
    summaryCount: false,
    used: [],
    unknown: [],
  };
  for (const [rawName, value] of query) {
    const [name, modifier] = rawName.split(':', 2);
    const expression = `${resourceType}?${rawName}`;
    if (modifier !== undefined && !RESULT_PARAMS.has(name)) {
      request.unknown.push(rawName);
      continue;
    }
    switch (name) {
      case '_id':
        request.filters.push({ kind: 'id', ids: value.split(',').filter(Boolean) });
        break;
      case '_lastUpdated': {
        const prefix = PREFIXES.has(value.slice(0, 2)) ? (value.slice(0, 2) as DatePrefix) : 'eq';
        const range = parseDateRange(PREFIXES.has(value.slice(0, 2)) ? value.slice(2) : value, expression);
        request.filters.push({ kind: 'lastUpdated', prefix, ...range });
        break;
      }
      case 'identifier': {
        const many = hasArrayIdentifier(resourceType);
        if (many === undefined) {
          request.unknown.push(rawName);
          continue;
        }
        const any = value.split(',').map((token) => {
          const bar = token.indexOf('|');
          if (bar < 0) return { value: token };
          const system = token.slice(0, bar);
          const code = token.slice(bar + 1) || undefined;
          return system ? { system, value: code } : { value: code, noSystem: true };
        });
        request.filters.push({ kind: 'identifier', many, any });
        break;
      }
      case '_count': {
        const count = Number(value);
        if (!Number.isInteger(count) || count < 0) throw badRequest(`_count must be a non-negative integer`, expression);
        request.count = Math.min(count, options.maxPageSize);
        break;
      }
      case '_sort':
        for (const key of value.split(',')) {
          const descending = key.startsWith('-');
          const param = descending ? key.slice(1) : key;
          if (param !== '_id' && param !== '_lastUpdated') throw badRequest(`Sorting by '${param}' is not supported`, expression);
          request.sort.push({ column: param === '_id' ? 'id' : 'last_updated', descending });
        }
        break;
      case '_total':
        if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw badRequest(`_total must be none, estimate or accurate`, expression);
        request.total = value;
        break;
      case '_summary':
        if (value !== 'count') {
          request.unknown.push(rawName);
          continue;
        }
        request.summaryCount = true;
        break;
      case '_cursor':
        request.cursor = decodeCursor(value);
        continue; // not part of the self link's criteria
      case '_format':
      case '_pretty':
        continue;
      default:
        request.unknown.push(rawName);
        continue;
    }
    request.used.push([rawName, value]);
  }
  if (!request.sort.some((key) => key.column === 'id')) request.sort.push({ column: 'id', descending: false });
  if (options.strict && request.unknown.length) {
    const issues: IssueInput[] = request.unknown.map((name) => ({
      code: 'not-supported',
      diagnostics: `Unknown or unsupported search parameter '${name}' for ${resourceType}`,
      expression: `${resourceType}?${name}`,
    }));
    throw new FhirError(400, issues);
  }
  return request;
}

export function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'next' ? 'n' : 'p', ...cursor.values])).toString('base64url');
}

function decodeCursor(token: string): SearchCursor {
  try {
    const [direction, ...values] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as string[];
    if ((direction === 'n' || direction === 'p') && values.every((value) => typeof value === 'string')) {
      return { direction: direction === 'n' ? 'next' : 'previous', values };
    }
  } catch {
    // fall through
  }
  throw badRequest('Invalid _cursor', '_cursor');
}
