// search-type (GET [type]?..., POST [type]/_search): a searchset Bundle with keyset paging,
// _include/_revinclude, _summary and _elements.
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4';
import { includedResources, revincludedResources } from '../../store/search-includes.ts';
import { estimateCount, searchCount, searchPage } from '../../store/search-sql.ts';
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
  return added;
}

function shape(request: SearchRequest, resource: Resource): Resource {
  if (request.elements?.length) return selectElements(resource, request.elements);
  if (request.summary === 'true' || request.summary === 'text' || request.summary === 'data') return summarize(resource, request.summary);
  return resource;
}

export async function search(scope: Scope, request: FhirRequest, type: string): Promise<FhirResponse> {
  const parsed = parseSearchFor(scope, type, request.query, request.handling === 'strict');
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

  const rows = await searchPage(scope.q, parsed, parsed.count + 1);
  const backwards = parsed.cursor?.direction === 'previous';
  const more = rows.length > parsed.count;
  // The extra row sits past the page's far end: the end for a next page, the start for a previous one.
  const page = more ? (backwards ? rows.slice(1) : rows.slice(0, parsed.count)) : rows;
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
    resource: shape(parsed, resource),
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
