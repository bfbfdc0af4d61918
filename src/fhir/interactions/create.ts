// create (POST [type]), with conditional create (If-None-Exist).
import type { Resource } from 'fhir/r4';
import { findMatches, lockCriteria } from '../conditional.ts';
import { preconditionFailed } from '../errors.ts';
import { checkResource, persistVersion, versionResponse } from '../persist.ts';
import { newId } from '../resource-identity.ts';
import { readCurrent } from '../../store/resource-store.ts';
import type { Scope } from '../scope.ts';
import type { FhirResponse } from '../types.ts';

/**
 * Creates `body` as a new `type` with a server-assigned id (any id in the body is ignored, as
 * the spec allows). With `ifNoneExist`, an existing single match is returned with 200 instead.
 */
export async function create(scope: Scope, type: string, body: unknown, ifNoneExist?: string, id = newId()): Promise<FhirResponse> {
  const resource = checkResource(scope, body, type);
  if (ifNoneExist) {
    await lockCriteria(scope, type, ifNoneExist);
    const matches = await findMatches(scope, type, ifNoneExist, 'If-None-Exist');
    if (matches.length > 1) throw preconditionFailed(`If-None-Exist matched more than one ${type}`);
    if (matches.length === 1) {
      const existing = await readCurrent(scope.q, type, (matches[0] as Resource & { id: string }).id);
      if (existing) return versionResponse(scope, 200, existing);
    }
  }
  const version = await persistVersion(scope, type, id, resource, undefined);
  return versionResponse(scope, 201, version);
}
