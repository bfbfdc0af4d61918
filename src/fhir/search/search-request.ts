// The parsed form of a search: filters the store turns into SQL, and the result parameters.
// Types only; parse-search.ts builds it from query parameters.
import type { DatePrefix } from './search-values.ts';

export interface TokenMatch {
  /** undefined: any system; null: no system (`|code`). */
  system?: string | null;
  value?: string;
  /** :text — normalized starts-with on display/text. */
  text?: string;
  /** :of-type — Identifier.type coding. */
  typeSystem?: string;
  typeCode?: string;
}

export interface StringMatch {
  value: string;
  mode: 'start' | 'exact' | 'contains';
}

export interface DateMatch {
  prefix: DatePrefix;
  /** ISO instants of the search value's precision range [start, end). */
  start: string;
  end: string;
}

export interface NumberMatch {
  prefix: DatePrefix;
  /** The value as written, and its implicit-precision range [low, high). */
  value: string;
  low: string;
  high: string;
  /** Quantity only: system and code (or unit) when given. */
  system?: string;
  unit?: string;
}

export interface ReferenceMatch {
  targetType?: string;
  targetId?: string;
  url?: string;
  identifierSystem?: string;
  identifierValue?: string;
}

export interface UriMatch {
  value: string;
  mode: 'equals' | 'below' | 'above';
}

export interface CompositeMatch {
  first: TokenMatch;
  second: { token?: TokenMatch; number?: NumberMatch; date?: DateMatch; string?: string };
}

export type IndexMatch =
  | { table: 'search_token'; anyOf: TokenMatch[] }
  | { table: 'search_string'; anyOf: StringMatch[] }
  | { table: 'search_date'; anyOf: DateMatch[] }
  | { table: 'search_number'; anyOf: NumberMatch[] }
  | { table: 'search_quantity'; anyOf: NumberMatch[] }
  | { table: 'search_reference'; anyOf: ReferenceMatch[] }
  | { table: 'search_uri'; anyOf: UriMatch[] }
  | { table: 'search_composite'; anyOf: CompositeMatch[] };

export type Filter =
  | { kind: 'id'; ids: string[] }
  | { kind: 'lastUpdated'; anyOf: DateMatch[] }
  /** Resources with an index row of `code` matching any of the alternatives (or none, when negated: :not). */
  | { kind: 'index'; code: string; match: IndexMatch; negate?: boolean }
  | { kind: 'missing'; table: string; code: string; missing: boolean }
  /** `code.param=...`: resources whose reference `code` points at a `targetType` matching `inner`. */
  | { kind: 'chain'; code: string; targetType: string; inner: Filter[] }
  /** `_has:Source:code:param=...`: resources that a matching `sourceType` references through `code`. */
  | { kind: 'has'; sourceType: string; code: string; inner: Filter[] }
  | { kind: 'or'; anyOf: Filter[] }
  | { kind: 'and'; allOf: Filter[] }
  /** Access narrowing: resources linked through one of the reference parameters `codes` to one of `patients`. */
  | { kind: 'compartment'; codes: string[]; patients: string[] };

export type SortKey =
  | { kind: 'column'; column: 'id' | 'last_updated'; descending: boolean }
  | { kind: 'param'; table: 'search_token' | 'search_string' | 'search_date' | 'search_number' | 'search_quantity' | 'search_uri'; code: string; descending: boolean };

export interface Include {
  sourceType: string;
  /** A reference parameter code of sourceType, or '*' for all of them. */
  code: string;
  targetType?: string;
  iterate: boolean;
}

export interface SearchCursor {
  /** Sort-key values (null where a resource had none) of the row the page starts after or before. */
  values: (string | null)[];
  direction: 'next' | 'previous';
}

export interface SearchRequest {
  resourceType: string;
  filters: Filter[];
  sort: SortKey[];
  count: number;
  /** undefined: a total only when it costs nothing (the whole result fits on this page). */
  total?: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'text' | 'data' | 'count' | 'false';
  elements?: string[];
  includes: Include[];
  revincludes: Include[];
  cursor?: SearchCursor;
  /** The parameters understood, for the self link. */
  used: [string, string][];
  /** Parameters not understood (ignored and reported unless strict). */
  unknown: string[];
}

export const DEFAULT_PAGE_SIZE = 20;
