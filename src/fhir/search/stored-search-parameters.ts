// SearchParameter resources stored in the database join the registry at start. (A write through
// this process adds them at commit; see persist.ts.)
import type { SearchParameter } from 'fhir/r4';
import type { Queryable } from '../../store/database.ts';
import type { SearchParameterRegistry } from './search-parameter-registry.ts';

export async function loadStoredSearchParameters(q: Queryable, registry: SearchParameterRegistry): Promise<number> {
  const rows = await q.query<{ content: SearchParameter }>(
    `SELECT content FROM resource WHERE resource_type = 'SearchParameter' AND NOT deleted AND content ->> 'status' = 'active'`,
  );
  for (const row of rows) registry.add(row.content);
  return rows.length;
}
