// history at instance, type and system level, newest first, with _since, _count and keyset paging.
import type { Bundle, BundleEntry, BundleLink } from 'fhir/r4';
import { countHistory, history as readHistory, type HistoryQuery, type HistoryRow } from '../../store/resource-store.ts';
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
  if (row.resource) entry.resource = scope.guard.redact(row.resource);
  return entry;
}

/**
 * At least `query.limit` versions this actor may see (fewer only at the end), each decided on its
 * own patient and labels; hidden versions and deletions are skipped and the next ones fetched, so
 * a short page never hints at what was left out.
 */
async function visibleHistory(scope: Scope, query: HistoryQuery): Promise<HistoryRow[]> {
  if (!scope.guard.restricted) {
    const rows = await readHistory(scope.q, query);
    await scope.guard.filter(scope.q, 'history-instance', rows.flatMap((row) => (row.resource ? [row.resource] : [])));
    return rows;
  }
  const kept: HistoryRow[] = [];
  let cursor = query.cursor;
  for (let chunk = query.limit; ; chunk = Math.min(chunk * 2, 1000)) {
    const rows = await readHistory(scope.q, { ...query, cursor, limit: chunk });
    const live = rows.filter((row) => row.resource);
    const permitted = new Set(await scope.guard.filter(scope.q, 'history-instance', live.map((row) => row.resource!)));
    const visible = live.filter((row) => permitted.has(row.resource!));
    // Going newer, rows come newest first too; the far end of the walk is rows[0].
    if (query.cursor?.newer) kept.unshift(...visible);
    else kept.push(...visible);
    if (kept.length >= query.limit || rows.length < chunk) return kept;
    const far = query.cursor?.newer ? rows[0] : rows[rows.length - 1];
    cursor = { seq: far.seq, newer: query.cursor?.newer ?? false };
  }
}

export async function history(scope: Scope, request: FhirRequest, target: Target): Promise<FhirResponse> {
  const sinceParam = request.query.get('_since');
  const since = sinceParam ? parseDateRange(sinceParam, '_since').start.toISOString() : undefined;
  const countParam = request.query.get('_count');
  const count = countParam === null ? DEFAULT_PAGE_SIZE : Number(countParam);
  if (!Number.isInteger(count) || count < 1) throw badRequest('_count must be a positive integer', '_count');
  const limit = Math.min(count, scope.services.maxPageSize);
  const cursor = parseCursor(request.query.get('_cursor'));

  const rows = await visibleHistory(scope, { ...target, since, cursor, limit: limit + 1 });
  const more = rows.length > limit;
  const page = more ? (cursor?.newer ? rows.slice(rows.length - limit) : rows.slice(0, limit)) : rows;
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
    // Partner clients get no total: counting the versions they may not see would reveal them.
    total: scope.guard.restricted ? undefined : await countHistory(scope.q, { ...target, since }),
    link: links,
    entry: page.map((row) => entryFor(scope, row)),
  };
  return { status: 200, resource: bundle };
}
