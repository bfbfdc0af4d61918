// Resolving the search criteria of conditional create, update, patch and delete (and of
// conditional references in transactions) to the matching resources.
import type { Resource } from 'fhir/r4';
import { searchPage } from '../store/search-sql.ts';
import { badRequest } from './errors.ts';
import { parseSearchFor } from './interactions/search.ts';
import type { Scope } from './scope.ts';

/**
 * Up to two matches (enough to tell none, one and several). Unknown parameters are an error
 * here, never ignored: ignoring one would widen the match, and a conditional delete or update
 * would then touch resources the caller did not mean.
 */
export async function findMatches(scope: Scope, type: string, criteria: string, expression: string): Promise<Resource[]> {
  const query = new URLSearchParams(criteria.replace(/^\?/, ''));
  if ([...query.keys()].length === 0) throw badRequest('Conditional criteria must not be empty', expression);
  const request = parseSearchFor(scope, type, query, true);
  if (request.cursor || request.summary || request.includes.length || request.revincludes.length) {
    throw badRequest('Conditional criteria must be search filters', expression);
  }
  scope.guard.checkSearch(type, query, request);
  // A partner's criteria only see what it may see: an invisible match must act like no match.
  request.filters.push(...(await scope.guard.narrowing(scope.q, type, 'search-type', (t, q) => parseSearchFor(scope, t, q, true))));
  request.count = 2;
  const rows = await searchPage(scope.q, request, 2);
  return scope.guard.filter(scope.q, 'search-type', rows.map((row) => row.resource));
}

/**
 * Serializes conditional creates with the same criteria until the transaction ends, so two
 * identical If-None-Exist requests racing each other create one resource, not two.
 */
export async function lockCriteria(scope: Scope, type: string, criteria: string): Promise<void> {
  const normalized = [...new URLSearchParams(criteria.replace(/^\?/, ''))].map(([k, v]) => `${k}=${v}`).sort().join('&');
  await scope.q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${type}?${normalized}`]);
}
