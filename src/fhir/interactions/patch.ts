// patch (PATCH [type]/[id]) with JSON Patch, versioned with If-Match.
import type { Resource } from 'fhir/r4';
import { badRequest, gone, notFound } from '../errors.ts';
import { applyJsonPatch, parsePatchDocument } from '../json-patch.ts';
import { checkResource, lockCurrent, persistVersion, versionResponse } from '../persist.ts';
import type { Scope } from '../scope.ts';
import type { FhirResponse } from '../types.ts';
import { checkIfMatch } from './update.ts';

export async function patch(scope: Scope, type: string, id: string, body: unknown, ifMatch?: string): Promise<FhirResponse> {
  const operations = parsePatchDocument(body);
  const current = await lockCurrent(scope, type, id);
  await scope.guard.requireVisible(scope.q, type, id, current?.resource);
  if (!current) throw notFound(`${type}/${id} is not known`);
  if (current.deleted || !current.resource) throw gone(`${type}/${id} was deleted`);
  checkIfMatch(ifMatch, current.versionId, `${type}/${id}`);
  const patched = applyJsonPatch(current.resource, operations) as Resource;
  if (patched?.resourceType !== type || patched.id !== id) {
    throw badRequest('A patch may not change resourceType or id', `${type}.id`);
  }
  const resource = checkResource(scope, patched, type);
  const version = await persistVersion(scope, type, id, resource, current);
  return versionResponse(scope, 200, version);
}
