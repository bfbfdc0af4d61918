// Searches run by billing as the system (queue jobs) or behind a hub-only gate: the same search
// engine as HTTP, without the partner narrowing (callers are already the hub).
import type { Resource } from 'fhir/r4';
import { parseSearchFor } from '../fhir/interactions/search.ts';
import type { Scope } from '../fhir/scope.ts';
import { searchPage } from '../store/search-sql.ts';

/** Up to `limit` matches of `query` (FHIR search parameters) among current `type` resources. */
export async function searchResources<T extends Resource>(scope: Scope, type: string, query: Record<string, string>, limit = 5000): Promise<T[]> {
  const request = parseSearchFor(scope, type, new URLSearchParams(query), true);
  const rows = await searchPage(scope.q, request, limit);
  return rows.map((row) => row.resource as T);
}
