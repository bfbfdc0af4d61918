// Turns a SearchRequest into SQL over the current-version table, with keyset paging.
import type { Resource } from 'fhir/r4';
import type { Queryable, SqlValue } from './database.ts';
import type { SearchFilter, SearchRequest, SortKey } from '../fhir/search-request.ts';
import { toInstant } from './resource-store.ts';

export interface SearchRow {
  resource: Resource;
  /** Values of the sort keys, for the paging cursor. */
  keys: string[];
}

class Params {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function filterSql(filter: SearchFilter, p: Params): string {
  switch (filter.kind) {
    case 'id':
      return `id = ANY(${p.add(filter.ids)}::text[])`;
    case 'lastUpdated': {
      // Bind only the bounds the comparison uses: PostgreSQL rejects unused parameters.
      const start = () => p.add(filter.start.toISOString());
      const end = () => p.add(filter.end.toISOString());
      switch (filter.prefix) {
        case 'eq':
          return `(last_updated >= ${start()} AND last_updated < ${end()})`;
        case 'ne':
          return `(last_updated < ${start()} OR last_updated >= ${end()})`;
        case 'lt':
        case 'eb':
          return `last_updated < ${start()}`;
        case 'le':
          return `last_updated < ${end()}`;
        case 'gt':
        case 'sa':
          return `last_updated >= ${end()}`;
        case 'ge':
          return `last_updated >= ${start()}`;
        case 'ap':
          // "approximately": the range widened by a day on each side.
          return `(last_updated >= ${start()}::timestamptz - interval '1 day' AND last_updated < ${end()}::timestamptz + interval '1 day')`;
      }
      break;
    }
    case 'identifier': {
      const alternatives = filter.any.map((token) => {
        if (token.noSystem) {
          const elements = filter.many ? `jsonb_array_elements(content -> 'identifier')` : `jsonb_build_array(content -> 'identifier')`;
          return `EXISTS (SELECT 1 FROM ${elements} AS e WHERE e ->> 'value' = ${p.add(token.value ?? '')} AND NOT e ? 'system')`;
        }
        const wanted: Record<string, string> = {};
        if (token.system) wanted.system = token.system;
        if (token.value) wanted.value = token.value;
        return `content -> 'identifier' @> ${p.add(JSON.stringify(filter.many ? [wanted] : wanted))}::jsonb`;
      });
      return `(${alternatives.join(' OR ')})`;
    }
  }
  throw new Error('unreachable');
}

function whereSql(request: SearchRequest, p: Params): string {
  const clauses = [`resource_type = ${p.add(request.resourceType)}`, 'NOT deleted'];
  for (const filter of request.filters) clauses.push(filterSql(filter, p));
  return clauses.join(' AND ');
}

/** Rows strictly after `values` in the order of `sort` (or strictly before, for a previous page). */
function keysetSql(sort: SortKey[], values: string[], after: boolean, p: Params): string {
  const parts: string[] = [];
  for (let i = 0; i < sort.length; i++) {
    const equal = sort.slice(0, i).map((key, j) => `${key.column} = ${p.add(values[j])}`);
    const forward = sort[i].descending ? !after : after;
    equal.push(`${sort[i].column} ${forward ? '>' : '<'} ${p.add(values[i])}`);
    parts.push(`(${equal.join(' AND ')})`);
  }
  return `(${parts.join(' OR ')})`;
}

/** One page (plus one row, to tell whether another page exists) in the requested order. */
export async function searchPage(q: Queryable, request: SearchRequest, limit: number): Promise<SearchRow[]> {
  const p = new Params();
  let where = whereSql(request, p);
  const previous = request.cursor?.direction === 'previous';
  if (request.cursor) where += ` AND ${keysetSql(request.sort, request.cursor.values, !previous, p)}`;
  const order = request.sort
    .map((key) => `${key.column} ${key.descending !== previous ? 'DESC' : 'ASC'}`)
    .join(', ');
  const rows = await q.query<{ content: Resource; id: string; last_updated: string }>(
    `SELECT content, id, last_updated FROM resource WHERE ${where} ORDER BY ${order} LIMIT ${p.add(limit)}`,
    p.values,
  );
  const page = rows.map((row) => ({
    resource: row.content,
    keys: request.sort.map((key) => (key.column === 'id' ? row.id : toInstant(row.last_updated))),
  }));
  return previous ? page.reverse() : page;
}

export async function searchCount(q: Queryable, request: SearchRequest): Promise<number> {
  const p = new Params();
  const rows = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE ${whereSql(request, p)}`, p.values);
  return rows[0].n;
}
