// history at instance, type and system level, newest first, with _since, _count and keyset paging.
import type { Bundle, BundleEntry, BundleLink } from 'fhir/r4';
import { countHistory, history as readHistory, type HistoryRow } from '../../store/resource-store.ts';
import { badRequest } from '../errors.ts';
import { parseDateRange } from '../date-range.ts';
import { DEFAULT_PAGE_SIZE } from '../search/search-request.ts';
import { etag } from '../resource-identity.ts';
import type { Scope } from '../scope.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';

interface Target {
  resourceType?: string;
  id?: string;
}

function parseCursor(value: string | null): { seq: number; newer: boolean } | undefined {
  if (value === null) return undefined;
  const match = /^([on])(\d+)$/.exec(value);
  if (!match) throw badRequest('Invalid _cursor', '_cursor');
  return { seq: Number(match[2]), newer: match[1] === 'n' };
}

/**
 * One history entry. The store keeps no request method, so it is inferred as HAPI does:
 * POST for a first version, PUT for later ones (201 when it re-created a deleted resource), DELETE for tombstones.
 */
function entryFor(scope: Scope, row: HistoryRow): BundleEntry {
  const url = `${row.resourceType}/${row.id}`;
  const first = row.versionId === 1;
  const entry: BundleEntry = {
    fullUrl: `${scope.ctx.fhirBase}/${url}`,
    request: { method: row.deleted ? 'DELETE' : first ? 'POST' : 'PUT', url: first ? row.resourceType : url },
    response: { status: row.deleted ? '204' : row.created ? '201' : '200', etag: etag(row.versionId), lastModified: row.lastUpdated },
  };
  if (row.resource) entry.resource = row.resource;
  return entry;
}

export async function history(scope: Scope, request: FhirRequest, target: Target): Promise<FhirResponse> {
  const sinceParam = request.query.get('_since');
  const since = sinceParam ? parseDateRange(sinceParam, '_since').start.toISOString() : undefined;
  const countParam = request.query.get('_count');
  const count = countParam === null ? DEFAULT_PAGE_SIZE : Number(countParam);
  if (!Number.isInteger(count) || count < 1) throw badRequest('_count must be a positive integer', '_count');
  const limit = Math.min(count, scope.services.maxPageSize);
  const cursor = parseCursor(request.query.get('_cursor'));

  const rows = await readHistory(scope.q, { ...target, since, cursor, limit: limit + 1 });
  const more = rows.length > limit;
  const page = more ? (cursor?.newer ? rows.slice(1) : rows.slice(0, limit)) : rows;
  const hasOlder = cursor?.newer ? true : more;
  const hasNewer = cursor?.newer ? more : cursor !== undefined;

  const path = [target.resourceType, target.id, '_history'].filter(Boolean).join('/');
  const link = (relation: string, cursorValue?: string): BundleLink => {
    const params = new URLSearchParams();
    if (sinceParam) params.set('_since', sinceParam);
    if (countParam !== null) params.set('_count', String(limit));
    if (cursorValue) params.set('_cursor', cursorValue);
    const query = params.toString();
    return { relation, url: `${scope.ctx.fhirBase}/${path}${query ? `?${query}` : ''}` };
  };
  const links = [link('self', request.query.get('_cursor') ?? undefined)];
  if (hasOlder && page.length) links.push(link('next', `o${page[page.length - 1].seq}`));
  if (hasNewer && page.length) links.push(link('previous', `n${page[0].seq}`));

  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    total: await countHistory(scope.q, { ...target, since }),
    link: links,
    entry: page.map((row) => entryFor(scope, row)),
  };
  return { status: 200, resource: bundle };
}
