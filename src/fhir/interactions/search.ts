// search-type (GET [type]?..., POST [type]/_search): a searchset Bundle with keyset paging,
// _include/_revinclude, _summary and _elements.
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4';
import { includedResources, revincludedResources } from '../../store/search-includes.ts';
import { estimateCount, searchCount, searchPage, type SearchRow } from '../../store/search-sql.ts';
import { operationOutcome } from '../errors.ts';
import { encodeCursor, parseSearch } from '../search/parse-search.ts';
import type { Include, SearchRequest } from '../search/search-request.ts';
import { selectElements, summarize } from '../search/subset-resource.ts';
import type { Scope } from '../scope.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';

type Keyed = Resource & { id: string };

export function parseSearchFor(scope: Scope, type: string, query: URLSearchParams, strict: boolean): SearchRequest {
  return parseSearch(type, query, scope.services.searchParameters, {
    maxPageSize: scope.services.maxPageSize,
    strict,
    fhirBase: scope.ctx.fhirBase,
  });
}

/** Included resources of the page: _include and _revinclude, then one more round for :iterate. */
async function includes(scope: Scope, request: SearchRequest, matches: Keyed[]): Promise<Keyed[]> {
  const seen = new Set(matches.map((resource) => `${resource.resourceType}/${resource.id}`));
  const added: Keyed[] = [];
  const round = async (sources: Keyed[], wanted: (include: Include) => boolean) => {
    const fresh: Keyed[] = [];
    for (const include of request.includes.filter(wanted)) fresh.push(...(await includedResources(scope.q, include, sources)));
    for (const include of request.revincludes.filter(wanted)) fresh.push(...(await revincludedResources(scope.q, include, sources)));
    const unique = fresh.filter((resource) => {
      const key = `${resource.resourceType}/${resource.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    added.push(...unique);
    return unique;
  };
  const first = await round(matches, () => true);
  if (first.length) await round(first, (include) => include.iterate);
  // Each included resource is decided on its own (its patient, labels, type); hidden ones are left out silently.
  return scope.guard.filter(scope.q, 'read', added);
}

/**
 * Rows of the page (plus one, to tell whether another page exists) that this actor may see.
 * SQL already left out hidden patients (narrowing); rows the per-resource decision still withholds
 * (labels, consent provisions on codes or dates) are skipped and more rows fetched in their place,
 * so pages stay full and no cursor, link or count reflects them.
 */
async function visibleRows(scope: Scope, request: SearchRequest): Promise<SearchRow[]> {
  const wanted = request.count + 1;
  const backwards = request.cursor?.direction === 'previous';
  const kept: SearchRow[] = [];
  let cursor = request.cursor;
  for (let chunk = wanted; ; chunk = Math.min(chunk * 2, 1000)) {
    const rows = await searchPage(scope.q, { ...request, cursor }, chunk);
    const permitted = new Set(await scope.guard.filter(scope.q, 'search-type', rows.map((row) => row.resource)));
    const visible = rows.filter((row) => permitted.has(row.resource));
    if (backwards) kept.unshift(...visible);
    else kept.push(...visible);
    if (kept.length >= wanted || rows.length < chunk) return kept;
    const far = backwards ? rows[0] : rows[rows.length - 1];
    cursor = { direction: backwards ? 'previous' : 'next', values: far.keys };
  }
}

/** The profile's element allow-list first; _elements and _summary can then only take more away. */
function shape(scope: Scope, request: SearchRequest, resource: Resource): Resource {
  const released = scope.guard.redact(resource);
  if (request.elements?.length) return selectElements(released, request.elements);
  if (request.summary === 'true' || request.summary === 'text' || request.summary === 'data') return summarize(released, request.summary);
  return released;
}

export async function search(scope: Scope, request: FhirRequest, type: string): Promise<FhirResponse> {
  const parsed = parseSearchFor(scope, type, request.query, request.handling === 'strict');
  scope.guard.checkSearch(type, request.query, parsed);
  parsed.filters.push(...(await scope.guard.narrowing(scope.q, type, 'search-type', (t, query) => parseSearchFor(scope, t, query, true), parsed.filters)));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
  // Counting a large match set costs more than the page itself, so the total is opt-in
  // (_total=accurate, or the planner's _total=estimate) unless the result fits on one page.
  const countOnly = parsed.summary === 'count' || parsed.count === 0;
  if (parsed.total === 'accurate' || countOnly) bundle.total = await searchCount(scope.q, parsed);
  else if (parsed.total === 'estimate') bundle.total = await estimateCount(scope.q, parsed);

  const base = `${scope.ctx.fhirBase}/${type}`;
  const link = (relation: string, cursor?: string): BundleLink => {
    const params = new URLSearchParams(parsed.used);
    if (cursor) params.set('_cursor', cursor);
    const query = params.toString();
    return { relation, url: query ? `${base}?${query}` : base };
  };

  if (countOnly) {
    bundle.link = [link('self')];
    return { status: 200, resource: bundle };
  }

  const rows = await visibleRows(scope, parsed);
  const backwards = parsed.cursor?.direction === 'previous';
  const more = rows.length > parsed.count;
  // The extra rows sit past the page's far end: the end for a next page, the start for a previous one.
  const page = more ? (backwards ? rows.slice(rows.length - parsed.count) : rows.slice(0, parsed.count)) : rows;
  const hasNext = backwards ? true : more;
  const hasPrevious = backwards ? more : parsed.cursor !== undefined;

  if (parsed.total === undefined && !hasNext && !hasPrevious) bundle.total = page.length;
  bundle.link = [link('self', request.query.get('_cursor') ?? undefined)];
  if (hasNext && page.length) bundle.link.push(link('next', encodeCursor({ direction: 'next', values: page[page.length - 1].keys })));
  if (hasPrevious && page.length) bundle.link.push(link('previous', encodeCursor({ direction: 'previous', values: page[0].keys })));

  const matches = page.map((row) => row.resource as Keyed);
  const included = parsed.includes.length || parsed.revincludes.length ? await includes(scope, parsed, matches) : [];
  const entry = (resource: Resource, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${scope.ctx.fhirBase}/${resource.resourceType}/${resource.id}`,
    resource: shape(scope, parsed, resource),
    search: { mode },
  });
  bundle.entry = [...matches.map((resource) => entry(resource, 'match')), ...included.map((resource) => entry(resource, 'include'))];
  if (parsed.unknown.length) {
    bundle.entry.push({
      resource: operationOutcome(
        parsed.unknown.map((name) => ({ severity: 'warning', code: 'not-supported', diagnostics: `Search parameter '${name}' is not supported and was ignored` })),
      ),
      search: { mode: 'outcome' },
    });
  }
  return { status: 200, resource: bundle };
}
