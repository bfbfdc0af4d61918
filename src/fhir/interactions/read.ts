// read and vread, with conditional read (If-None-Match, If-Modified-Since → 304).
import { readCurrent, readVersion, type StoredVersion } from '../../store/resource-store.ts';
import { badRequest, gone, notFound } from '../errors.ts';
import { etag, parseEtag } from '../resource-identity.ts';
import type { Scope } from '../scope.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';
import { versionResponse } from '../persist.ts';
import { parseSearchFor } from './search.ts';

export async function readResource(scope: Scope, type: string, id: string): Promise<StoredVersion> {
  const current = await readCurrent(scope.q, type, id);
  if (!current) throw notFound(`${type}/${id} is not known`);
  if (current.deleted) {
    throw gone(`${type}/${id} was deleted`, { ETag: etag(current.versionId) });
  }
  return current;
}

function notModified(request: FhirRequest, version: StoredVersion): boolean {
  if (request.ifNoneMatch) {
    if (request.ifNoneMatch.trim() === '*') return true;
    return request.ifNoneMatch.split(',').some((tag) => parseEtag(tag, 'If-None-Match') === version.versionId);
  }
  if (request.ifModifiedSince) {
    const since = Date.parse(request.ifModifiedSince);
    if (Number.isNaN(since)) throw badRequest('If-Modified-Since must be an HTTP date', 'If-Modified-Since');
    // HTTP dates have whole seconds: compare at that precision.
    return Math.floor(Date.parse(version.lastUpdated) / 1000) <= Math.floor(since / 1000);
  }
  return false;
}

/**
 * The current version if this actor may see it. What it may not see (including a deleted resource,
 * whose tombstone says nothing about its patient) gets the same 404 as an unknown id.
 */
export async function readVisible(scope: Scope, type: string, id: string): Promise<StoredVersion> {
  if (!scope.guard.restricted) return readResource(scope, type, id);
  const current = await readCurrent(scope.q, type, id);
  const visible =
    current?.resource &&
    (await scope.guard.permits(scope.q, 'read', current.resource)) &&
    (await scope.guard.withinScopes(scope.q, type, id, (t, query) => parseSearchFor(scope, t, query, true)));
  if (!current || !visible) throw notFound(`${type}/${id} is not known`);
  return current;
}

export async function read(scope: Scope, request: FhirRequest, type: string, id: string): Promise<FhirResponse> {
  const current = await readVisible(scope, type, id);
  const response = versionResponse(scope, 200, current);
  delete response.location;
  if (notModified(request, current)) return { ...response, status: 304, resource: undefined };
  return response;
}

export async function vread(scope: Scope, type: string, id: string, versionId: string): Promise<FhirResponse> {
  const number = Number(versionId);
  let version = Number.isInteger(number) && number > 0 ? await readVersion(scope.q, type, id, number) : undefined;
  if (scope.guard.restricted) {
    // The resource as it is now must be visible, and so must the version asked for, judged on its own patient and labels.
    const visible = await readVisible(scope, type, id).then(() => true, () => false);
    if (!visible || !version?.resource || !(await scope.guard.permits(scope.q, 'vread', version.resource))) version = undefined;
  }
  if (!version) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
  if (version.deleted) throw gone(`${type}/${id}/_history/${versionId} is a deletion`);
  const response = versionResponse(scope, 200, version);
  delete response.location;
  return response;
}
