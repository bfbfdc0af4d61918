// search-type (GET [type]?..., POST [type]/_search) returning a searchset Bundle with keyset paging.
import type { Bundle, BundleLink } from 'fhir/r4';
import { searchCount, searchPage } from '../../store/search-sql.ts';
import { operationOutcome } from '../errors.ts';
import { encodeCursor, parseSearchRequest } from '../search-request.ts';
import type { Scope } from '../scope.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';

export async function search(scope: Scope, request: FhirRequest, type: string): Promise<FhirResponse> {
  const parsed = parseSearchRequest(type, request.query, {
    maxPageSize: scope.services.maxPageSize,
    strict: request.handling === 'strict',
  });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
  if (parsed.total !== 'none' || parsed.summaryCount) bundle.total = await searchCount(scope.q, parsed);

  const base = `${scope.ctx.fhirBase}/${type}`;
  const criteria = new URLSearchParams(parsed.used);
  const link = (relation: string, cursor?: string): BundleLink => {
    const params = new URLSearchParams(criteria);
    if (cursor) params.set('_cursor', cursor);
    const query = params.toString();
    return { relation, url: query ? `${base}?${query}` : base };
  };

  if (parsed.summaryCount || parsed.count === 0) {
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

  bundle.link = [link('self', request.query.get('_cursor') ?? undefined)];
  if (hasNext && page.length) bundle.link.push(link('next', encodeCursor({ direction: 'next', values: page[page.length - 1].keys })));
  if (hasPrevious && page.length) bundle.link.push(link('previous', encodeCursor({ direction: 'previous', values: page[0].keys })));
  bundle.entry = page.map((row) => ({
    fullUrl: `${base}/${row.resource.id}`,
    resource: row.resource,
    search: { mode: 'match' },
  }));
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
