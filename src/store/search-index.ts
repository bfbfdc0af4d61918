// Writes a resource's search index rows: the old rows are deleted and the new ones inserted in
// one statement (one round trip), inside the caller's transaction.
import type { IndexRows } from '../fhir/search/index-rows.ts';
import type { Queryable, SqlValue } from './database.ts';

/** Table and typed columns of each row kind, as jsonb_to_recordset needs them. */
const TABLES: Record<keyof IndexRows, { table: string; columns: [string, string][] }> = {
  token: { table: 'search_token', columns: [['code', 'text'], ['system', 'text'], ['value', 'text'], ['text', 'text'], ['type_system', 'text'], ['type_code', 'text']] },
  string: { table: 'search_string', columns: [['code', 'text'], ['value', 'text'], ['exact', 'text']] },
  date: { table: 'search_date', columns: [['code', 'text'], ['low', 'timestamptz'], ['high', 'timestamptz']] },
  number: { table: 'search_number', columns: [['code', 'text'], ['low', 'numeric'], ['high', 'numeric']] },
  quantity: { table: 'search_quantity', columns: [['code', 'text'], ['system', 'text'], ['unit_code', 'text'], ['unit', 'text'], ['low', 'numeric'], ['high', 'numeric']] },
  reference: { table: 'search_reference', columns: [['code', 'text'], ['target_type', 'text'], ['target_id', 'text'], ['url', 'text'], ['identifier_system', 'text'], ['identifier_value', 'text']] },
  uri: { table: 'search_uri', columns: [['code', 'text'], ['value', 'text']] },
  composite: {
    table: 'search_composite',
    columns: [['code', 'text'], ['c1_system', 'text'], ['c1_value', 'text'], ['c2_system', 'text'], ['c2_value', 'text'], ['c2_number_low', 'numeric'], ['c2_number_high', 'numeric'], ['c2_date_low', 'timestamptz'], ['c2_date_high', 'timestamptz']],
  },
};

export const SEARCH_TABLES = Object.values(TABLES).map((entry) => entry.table);

export interface IndexedResource {
  resourceType: string;
  id: string;
  /** undefined removes the resource from the index (delete). */
  rows: IndexRows | undefined;
  /** False for a brand-new resource: there are no old rows to delete. */
  replace: boolean;
}

/** Replaces the index rows of one or more resources of the same type in one statement. */
export async function writeSearchIndex(q: Queryable, resourceType: string, resources: IndexedResource[]): Promise<void> {
  if (resources.length === 0) return;
  const params: SqlValue[] = [resourceType];
  const statements: string[] = [];
  const replaced = resources.filter((resource) => resource.replace).map((resource) => resource.id);
  if (replaced.length) {
    const ids = `$${params.push(replaced)}::text[]`;
    for (const { table } of Object.values(TABLES)) statements.push(`DELETE FROM ${table} WHERE resource_type = $1 AND id = ANY(${ids})`);
  }
  for (const [kind, { table, columns }] of Object.entries(TABLES) as [keyof IndexRows, (typeof TABLES)[keyof IndexRows]][]) {
    const rows = resources.flatMap((resource) => (resource.rows?.[kind] ?? []).map((row) => ({ ...row, id: resource.id })));
    if (rows.length === 0) continue;
    const names = columns.map(([name]) => name).join(', ');
    const typed = [['id', 'text'], ...columns].map(([name, type]) => `${name} ${type}`).join(', ');
    statements.push(
      `INSERT INTO ${table} (resource_type, id, ${names}) SELECT $1, id, ${names} FROM jsonb_to_recordset($${params.push(JSON.stringify(rows))}::jsonb) AS x(${typed})`,
    );
  }
  if (statements.length === 0) return;
  // Data-modifying CTEs all run, against one snapshot: the deletes never see the inserted rows.
  const [last, ...rest] = statements.reverse();
  const sql = rest.length ? `WITH ${rest.map((statement, i) => `s${i} AS (${statement})`).join(', ')} ${last}` : last;
  await q.query(sql, params);
}
