// Turns a SearchRequest into SQL over the current-version table and the search index tables.
// Each filter becomes `r.id IN (SELECT id FROM search_x WHERE resource_type = … AND code = … AND …)`
// so PostgreSQL drives the query from the index of the most selective filter.
import type { Resource } from 'fhir/r4';
import type { Queryable, SqlValue } from './database.ts';
import type {
  CompositeMatch, DateMatch, Filter, IndexMatch, NumberMatch, ReferenceMatch, SearchRequest, SortKey, StringMatch, TokenMatch, UriMatch,
} from '../fhir/search/search-request.ts';
import { toInstant } from './resource-store.ts';

export class Params {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const like = (value: string) => value.replace(/[\\%_]/g, (ch) => `\\${ch}`);

function tokenSql(m: TokenMatch, p: Params, system = 's.system', value = 's.value'): string {
  const parts: string[] = [];
  if (m.text !== undefined) parts.push(`s.text LIKE ${p.add(`${like(m.text)}%`)}`);
  if (m.value !== undefined) parts.push(`${value} = ${p.add(m.value)}`);
  if (m.system === null) parts.push(`${system} IS NULL`);
  else if (m.system !== undefined) parts.push(`${system} = ${p.add(m.system)}`);
  if (m.typeCode !== undefined) parts.push(`s.type_code = ${p.add(m.typeCode)}`);
  if (m.typeSystem !== undefined) parts.push(`s.type_system = ${p.add(m.typeSystem)}`);
  return parts.length ? parts.join(' AND ') : 'true';
}

function stringSql(m: StringMatch, p: Params): string {
  if (m.mode === 'exact') return `s.exact = ${p.add(m.value)}`;
  if (m.mode === 'contains') return `s.value LIKE ${p.add(`%${like(m.value)}%`)}`;
  return `s.value LIKE ${p.add(`${like(m.value)}%`)}`;
}

/** Target range [low, high) against the search range [start, end), per the prefix (R4 §3.1.1.4.5). */
function rangeSql(m: { prefix: DateMatch['prefix']; start: string; end: string }, low: string, high: string, p: Params, cast: string): string {
  const start = () => `${p.add(m.start)}::${cast}`;
  const end = () => `${p.add(m.end)}::${cast}`;
  switch (m.prefix) {
    case 'eq': return `(${low} >= ${start()} AND ${high} <= ${end()})`;
    case 'ne': return `NOT (${low} >= ${start()} AND ${high} <= ${end()})`;
    case 'gt': return `${high} > ${end()}`;
    case 'lt': return `${low} < ${start()}`;
    case 'ge': return `${high} > ${start()}`;
    case 'le': return `${low} < ${end()}`;
    case 'sa': return `${low} >= ${end()}`;
    case 'eb': return `${high} <= ${start()}`;
    case 'ap': return `(${low} < ${end()} AND ${high} > ${start()})`;
  }
}

/**
 * An instant column (a point, not a range) against the search range [start, end), compared
 * directly so that an index on the column serves every prefix.
 */
function instantSql(m: DateMatch, column: string, p: Params): string {
  const start = () => `${p.add(m.start)}::timestamptz`;
  const end = () => `${p.add(m.end)}::timestamptz`;
  switch (m.prefix) {
    case 'eq': case 'ap': return `(${column} >= ${start()} AND ${column} < ${end()})`;
    case 'ne': return `(${column} < ${start()} OR ${column} >= ${end()})`;
    case 'gt': case 'sa': return `${column} >= ${end()}`;
    case 'lt': case 'eb': return `${column} < ${start()}`;
    case 'ge': return `${column} >= ${start()}`;
    case 'le': return `${column} < ${end()}`;
  }
}

/** Approximate dates: the search range widened by 10% of its distance from now, at least a day. */
function approximate(m: DateMatch): DateMatch {
  if (m.prefix !== 'ap') return m;
  const now = Date.now();
  const start = Date.parse(m.start);
  const end = Date.parse(m.end);
  const margin = Math.max(86_400_000, 0.1 * Math.abs(now - (start + end) / 2));
  return { prefix: 'ap', start: new Date(start - margin).toISOString(), end: new Date(end + margin).toISOString() };
}

/** Numbers: eq/ne/ap use the value's implicit precision range; the ordering prefixes its exact value. */
function numberSql(m: NumberMatch, low: string, high: string, p: Params): string {
  const v = () => `${p.add(m.value)}::numeric`;
  switch (m.prefix) {
    case 'eq': return `(${low} >= ${p.add(m.low)}::numeric AND ${high} < ${p.add(m.high)}::numeric)`;
    case 'ne': return `NOT (${low} >= ${p.add(m.low)}::numeric AND ${high} < ${p.add(m.high)}::numeric)`;
    case 'gt': return `${high} > ${v()}`;
    case 'lt': return `${low} < ${v()}`;
    case 'ge': return `${high} >= ${v()}`;
    case 'le': return `${low} <= ${v()}`;
    case 'sa': return `${low} > ${v()}`;
    case 'eb': return `${high} < ${v()}`;
    case 'ap': {
      const margin = Math.abs(Number(m.value)) * 0.1;
      return `(${low} <= ${p.add(String(Number(m.value) + margin))}::numeric AND ${high} >= ${p.add(String(Number(m.value) - margin))}::numeric)`;
    }
  }
}

function quantitySql(m: NumberMatch, p: Params, low = 's.low', high = 's.high', system = 's.system', code = 's.unit_code', unit: string | undefined = 's.unit'): string {
  const parts = [numberSql(m, low, high, p)];
  if (m.system) parts.push(`${system} = ${p.add(m.system)}`);
  if (m.unit) {
    const u = p.add(m.unit);
    parts.push(m.system || !unit ? `${code} = ${u}` : `(${code} = ${u} OR ${unit} = ${u})`);
  }
  return parts.join(' AND ');
}

function referenceSql(m: ReferenceMatch, p: Params): string {
  const parts: string[] = [];
  if (m.url !== undefined) parts.push(`s.url = ${p.add(m.url)}`);
  if (m.targetId !== undefined) parts.push(`s.target_id = ${p.add(m.targetId)}`);
  if (m.targetType !== undefined) parts.push(`s.target_type = ${p.add(m.targetType)}`);
  if (m.identifierValue !== undefined) parts.push(`s.identifier_value = ${p.add(m.identifierValue)}`);
  if (m.identifierSystem !== undefined) parts.push(`s.identifier_system = ${p.add(m.identifierSystem)}`);
  return parts.length ? parts.join(' AND ') : 'false';
}

function uriSql(m: UriMatch, p: Params): string {
  if (m.mode === 'below') return `(s.value = ${p.add(m.value)} OR s.value LIKE ${p.add(`${like(m.value.replace(/\/+$/, ''))}/%`)})`;
  if (m.mode === 'above') {
    const v = p.add(m.value);
    return `(s.value = ${v} OR ${v} LIKE replace(replace(replace(rtrim(s.value, '/'), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '/%')`;
  }
  return `s.value = ${p.add(m.value)}`;
}

function compositeSql(m: CompositeMatch, p: Params): string {
  const parts = [tokenSql(m.first, p, 's.c1_system', 's.c1_value')];
  const second = m.second;
  if (second.token) parts.push(tokenSql(second.token, p, 's.c2_system', 's.c2_value'));
  if (second.number) parts.push(quantitySql(second.number, p, 's.c2_number_low', 's.c2_number_high', 's.c2_system', 's.c2_value', undefined));
  if (second.date) parts.push(rangeSql(approximate(second.date), 's.c2_date_low', 's.c2_date_high', p, 'timestamptz'));
  if (second.string !== undefined) parts.push(`s.c2_value LIKE ${p.add(`${like(second.string)}%`)}`);
  return parts.join(' AND ');
}

function matchSql(match: IndexMatch, p: Params): string {
  const alternatives: string[] = (() => {
    switch (match.table) {
      case 'search_token': return match.anyOf.map((m) => tokenSql(m, p));
      case 'search_string': return match.anyOf.map((m) => stringSql(m, p));
      case 'search_date': return match.anyOf.map((m) => rangeSql(approximate(m), 's.low', 's.high', p, 'timestamptz'));
      case 'search_number': return match.anyOf.map((m) => numberSql(m, 's.low', 's.high', p));
      case 'search_quantity': return match.anyOf.map((m) => quantitySql(m, p));
      case 'search_reference': return match.anyOf.map((m) => referenceSql(m, p));
      case 'search_uri': return match.anyOf.map((m) => uriSql(m, p));
      case 'search_composite': return match.anyOf.map((m) => compositeSql(m, p));
    }
  })();
  return alternatives.length === 1 ? alternatives[0] : `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

/** Filters whose matches come straight from an index table (which holds live resources only). */
function drivesFromIndex(filter: Filter): boolean {
  return (filter.kind === 'index' && !filter.negate) || filter.kind === 'chain' || filter.kind === 'has' || (filter.kind === 'missing' && !filter.missing);
}

/**
 * SQL selecting the ids of live resources of `type` that satisfy all `filters`. Index rows exist
 * only for current, undeleted versions, so when a filter can supply the ids the resource table is
 * left out (it only matters for _lastUpdated or when no filter narrows anything).
 */
export function idsSql(type: string, filters: Filter[], p: Params, fromResource = false): string {
  const driver = filters.find(drivesFromIndex);
  if (driver && !fromResource && !filters.some((filter) => filter.kind === 'lastUpdated')) {
    const rest = filters.filter((filter) => filter !== driver).map((filter) => filterSql(type, filter, 'x', p));
    // DISTINCT: a resource can match through several of its index rows.
    return `SELECT DISTINCT x.id FROM (${filterIdsSql(type, driver, p)}) x${rest.length ? ` WHERE ${rest.join(' AND ')}` : ''}`;
  }
  const where = filters.map((filter) => filterSql(type, filter, 'r', p));
  return `SELECT r.id FROM resource r WHERE r.resource_type = ${p.add(type)} AND NOT r.deleted${where.map((w) => ` AND ${w}`).join('')}`;
}

/** The ids a filter that drives from an index table selects (see drivesFromIndex). */
function filterIdsSql(type: string, filter: Filter, p: Params): string {
  switch (filter.kind) {
    case 'index':
      return `SELECT s.id FROM ${filter.match.table} s WHERE s.resource_type = ${p.add(type)} AND s.code = ${p.add(filter.code)} AND ${matchSql(filter.match, p)}`;
    case 'missing':
      return `SELECT s.id FROM ${filter.table} s WHERE s.resource_type = ${p.add(type)} AND s.code = ${p.add(filter.code)}`;
    case 'chain':
      return `SELECT s.id FROM search_reference s WHERE s.resource_type = ${p.add(type)} AND s.code = ${p.add(filter.code)}
        AND s.target_type = ${p.add(filter.targetType)} AND s.target_id IN (${idsSql(filter.targetType, filter.inner, p)})`;
    case 'has':
      return `SELECT s.target_id AS id FROM search_reference s WHERE s.resource_type = ${p.add(filter.sourceType)} AND s.code = ${p.add(filter.code)}
        AND s.target_type = ${p.add(type)} AND s.id IN (${idsSql(filter.sourceType, filter.inner, p)})`;
    default:
      throw new Error(`${filter.kind} does not drive from an index`);
  }
}

/**
 * Negations (:not, :missing=true) as a correlated anti-join: PostgreSQL probes each candidate
 * through the (resource_type, id) index instead of hashing every row of the parameter.
 */
function notExists(table: string, type: string, code: string, alias: string, p: Params, match?: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${table} s WHERE s.resource_type = ${p.add(type)} AND s.id = ${alias}.id AND s.code = ${p.add(code)}${match ? ` AND ${match}` : ''})`;
}

/** A boolean SQL expression: does resource `alias` (of `type`) satisfy the filter? */
export function filterSql(type: string, filter: Filter, alias: string, p: Params): string {
  switch (filter.kind) {
    case 'id':
      return `${alias}.id = ANY(${p.add(filter.ids)}::text[])`;
    case 'lastUpdated': {
      const alternatives = filter.anyOf.map((m) => instantSql(approximate(m), `${alias}.last_updated`, p));
      return alternatives.length === 1 ? alternatives[0] : `(${alternatives.join(' OR ')})`;
    }
    case 'index':
      if (filter.negate) return notExists(filter.match.table, type, filter.code, alias, p, matchSql(filter.match, p));
      return `${alias}.id IN (${filterIdsSql(type, filter, p)})`;
    case 'missing':
      if (filter.missing) return notExists(filter.table, type, filter.code, alias, p);
      return `${alias}.id IN (${filterIdsSql(type, filter, p)})`;
    case 'chain':
    case 'has':
      return `${alias}.id IN (${filterIdsSql(type, filter, p)})`;
    case 'or':
      return `(${filter.anyOf.map((f) => filterSql(type, f, alias, p)).join(' OR ')})`;
    case 'and':
      return filter.allOf.length ? `(${filter.allOf.map((f) => filterSql(type, f, alias, p)).join(' AND ')})` : 'true';
    case 'compartment':
      return `${alias}.id IN (SELECT s.id FROM search_reference s WHERE s.resource_type = ${p.add(type)} AND s.code = ANY(${p.add(filter.codes)}::text[])
        AND s.target_type = 'Patient' AND s.target_id = ANY(${p.add(filter.patients)}::text[]))`;
  }
}

const CAST: Record<string, string> = { search_date: 'timestamptz', search_number: 'numeric', search_quantity: 'numeric' };

/** The value candidate `m` sorts by for one key: min ascending, max descending; NULL when it has none. */
function sortValueSql(key: SortKey, type: string, p: Params): { sql: string; cast: string; nullable: boolean } {
  if (key.kind === 'column' && key.column === 'id') return { sql: 'm.id', cast: 'text', nullable: false };
  if (key.kind === 'column') return { sql: `(SELECT rr.last_updated FROM resource rr WHERE rr.resource_type = ${type} AND rr.id = m.id)`, cast: 'timestamptz', nullable: false };
  const column = key.table === 'search_date' ? (key.descending ? 'high' : 'low') : key.table === 'search_number' || key.table === 'search_quantity' ? 'low' : 'value';
  const aggregate = key.descending ? 'max' : 'min';
  return {
    sql: `(SELECT ${aggregate}(s.${column}) FROM ${key.table} s WHERE s.resource_type = ${type} AND s.id = m.id AND s.code = ${p.add(key.code)})`,
    cast: CAST[key.table] ?? 'text',
    nullable: true,
  };
}

/**
 * Rows after (or before) the cursor in the sort order, NULLs last in either direction.
 * Built from the last key back: key i decides unless equal, then the later keys decide.
 */
function keysetSql(sort: SortKey[], values: (string | null)[], after: boolean, keys: { cast: string; nullable: boolean }[], p: Params): string {
  let condition = 'false'; // past the last key (id) nothing is "equal", so ties cannot pass
  for (let i = sort.length - 1; i >= 0; i--) {
    const k = `page.k${i}`;
    const v = values[i];
    const forward = sort[i].descending ? !after : after;
    const op = forward ? '>' : '<';
    if (v !== null && !keys[i].nullable) {
      // A key that is never NULL (id, _lastUpdated) gets a plain range, which PostgreSQL can use as an
      // index condition: paging through a whole type (Bulk export) then costs one page per page, not a
      // scan from the start of the type each time.
      const value = `${p.add(v)}::${keys[i].cast}`;
      condition = condition === 'false' ? `${k} ${op} ${value}` : `(${k} ${op} ${value} OR (${k} = ${value} AND ${condition}))`;
    } else if (v === null) {
      // Among NULLs only later keys decide; going backwards, every non-NULL comes before.
      condition = after ? `(${k} IS NULL AND ${condition})` : `(${k} IS NOT NULL OR (${k} IS NULL AND ${condition}))`;
    } else {
      const value = `${p.add(v)}::${keys[i].cast}`;
      const beyond = after ? `${k} ${op} ${value} OR ${k} IS NULL` : `${k} ${op} ${value}`;
      condition = `(${beyond} OR (${k} = ${value} AND ${condition}))`;
    }
  }
  return condition;
}

export interface SearchRow {
  resource: Resource;
  /** Values of the sort keys, for the paging cursor. */
  keys: (string | null)[];
}

/** The SQL of one search page, with its parameters and the casts of its sort keys. */
export function searchPageSql(request: SearchRequest, limit: number, bodies: 'json' | 'text' = 'json'): { sql: string; params: SqlValue[]; casts: string[] } {
  const p = new Params();
  const type = p.add(request.resourceType);
  const keys = request.sort.map((key) => sortValueSql(key, type, p));
  const previous = request.cursor?.direction === 'previous';
  const keyset = request.cursor ? `WHERE ${keysetSql(request.sort, request.cursor.values, !previous, keys, p)}` : '';
  const order = request.sort
    .map((key, i) => `page.k${i} ${key.descending !== previous ? 'DESC' : 'ASC'} NULLS ${previous ? 'FIRST' : 'LAST'}`)
    .join(', ');
  // Ids and sort keys first, the page cut, and only then the page's resource bodies: sorting
  // thousands of matches moves short keys, not whole resources. The candidates come from the
  // resource table (one row per resource, in primary-key order), so for a common filter
  // PostgreSQL can walk the key and stop when the page is full.
  const candidates = `SELECT m.id, ${keys.map((key, i) => `${key.sql} AS k${i}`).join(', ')} FROM (${idsSql(request.resourceType, request.filters, p, true)}) m`;
  const page = `SELECT * FROM (${candidates}) page ${keyset} ORDER BY ${order} LIMIT ${p.add(limit)}`;
  const sql = `SELECT r.content${bodies === 'text' ? '::text' : ''} AS content, page.* FROM (${page}) page JOIN resource r ON r.resource_type = ${type} AND r.id = page.id ORDER BY ${order}`;
  return { sql, params: p.values, casts: keys.map((key) => key.cast) };
}

/** One page (plus one row, to tell whether another page exists) in the requested order. */
export async function searchPage(q: Queryable, request: SearchRequest, limit: number): Promise<SearchRow[]> {
  const { sql, params, casts } = searchPageSql(request, limit);
  const rows = await q.query<Record<string, unknown> & { content: Resource }>(sql, params);
  const page = rows.map((row) => ({
    resource: row.content,
    keys: request.sort.map((_key, i) => keyText(row[`k${i}`], casts[i])),
  }));
  return request.cursor?.direction === 'previous' ? page.reverse() : page;
}

/**
 * One page with each resource as the JSON text PostgreSQL stores, not parsed: for writers that copy
 * resources out unchanged (an unrestricted Bulk export), parsing and re-serializing is most of the cost.
 */
export async function searchPageText(q: Queryable, request: SearchRequest, limit: number): Promise<{ text: string; keys: (string | null)[] }[]> {
  if (request.cursor?.direction === 'previous') throw new Error('searchPageText pages forward only');
  const { sql, params, casts } = searchPageSql(request, limit, 'text');
  const rows = await q.query<Record<string, unknown> & { content: string }>(sql, params);
  return rows.map((row) => ({ text: row.content, keys: request.sort.map((_key, i) => keyText(row[`k${i}`], casts[i])) }));
}

function keyText(value: unknown, cast: string): string | null {
  if (value === null || value === undefined) return null;
  if (cast === 'timestamptz') return String(value) === 'infinity' || String(value) === '-infinity' ? String(value) : toInstant(String(value));
  return String(value);
}

/** The planner's estimate of the number of matches: instant, but only as good as the statistics. */
export async function estimateCount(q: Queryable, request: SearchRequest): Promise<number> {
  const p = new Params();
  const rows = await q.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${idsSql(request.resourceType, request.filters, p)}`, p.values);
  const plan = rows[0]['QUERY PLAN'];
  const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: { 'Plan Rows': number } }[];
  return Math.round(parsed[0].Plan['Plan Rows']);
}

/** The SQL of an exact count of a search's matches (_total=accurate), with its parameters. */
export function searchCountSql(request: SearchRequest): { sql: string; params: SqlValue[] } {
  const p = new Params();
  return { sql: `SELECT count(*)::int AS n FROM (${idsSql(request.resourceType, request.filters, p)}) matches`, params: p.values };
}

export async function searchCount(q: Queryable, request: SearchRequest): Promise<number> {
  const { sql, params } = searchCountSql(request);
  const rows = await q.query<{ n: number }>(sql, params);
  return rows[0].n;
}
