// SearchParameter resources stored in the database join the registry: at start, and again every
// few seconds while requests arrive, so that every server process indexes and searches with the
// same parameters (a write through this process also updates it at commit; see persist.ts).
import type { SearchParameter } from 'fhir/r4';
import type { Queryable } from '../../store/database.ts';
import type { SearchParameterRegistry } from './search-parameter-registry.ts';

const REFRESH_MS = 5_000;
const checkedAt = new WeakMap<SearchParameterRegistry, number>();

export async function loadStoredSearchParameters(q: Queryable, registry: SearchParameterRegistry): Promise<number> {
  const rows = await q.query<{ content: SearchParameter }>(
    `SELECT content FROM resource WHERE resource_type = 'SearchParameter' AND NOT deleted AND content ->> 'status' = 'active'`,
  );
  registry.setStored(rows.map((row) => row.content));
  checkedAt.set(registry, Date.now());
  return rows.length;
}

/** Reloads the stored SearchParameters when the last look is older than a few seconds. */
export async function refreshStoredSearchParameters(q: Queryable, registry: SearchParameterRegistry): Promise<void> {
  if (Date.now() - (checkedAt.get(registry) ?? 0) < REFRESH_MS) return;
  checkedAt.set(registry, Date.now()); // one refresh at a time, even under concurrent requests
  await loadStoredSearchParameters(q, registry);
}
