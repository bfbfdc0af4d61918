// read and vread, with conditional read (If-None-Match, If-Modified-Since → 304).
import { readCurrent, readVersion, type StoredVersion } from '../../store/resource-store.ts';
import { badRequest, gone, notFound } from '../errors.ts';
import { etag, parseEtag } from '../resource-identity.ts';
import type { Scope } from '../scope.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';
import { versionResponse } from '../persist.ts';

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

export async function read(scope: Scope, request: FhirRequest, type: string, id: string): Promise<FhirResponse> {
  const current = await readResource(scope, type, id);
  const response = versionResponse(scope, 200, current);
  delete response.location;
  if (notModified(request, current)) return { ...response, status: 304, resource: undefined };
  return response;
}

export async function vread(scope: Scope, type: string, id: string, versionId: string): Promise<FhirResponse> {
  const number = Number(versionId);
  const version = Number.isInteger(number) && number > 0 ? await readVersion(scope.q, type, id, number) : undefined;
  if (!version) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
  if (version.deleted) throw gone(`${type}/${id}/_history/${versionId} is a deletion`);
  const response = versionResponse(scope, 200, version);
  delete response.location;
  return response;
}
