// update (PUT [type]/[id]), update-as-create, versioned update (If-Match) and conditional update.
import type { Resource } from 'fhir/r4';
import { findMatches, lockCriteria } from '../conditional.ts';
import { badRequest, preconditionFailed } from '../errors.ts';
import { checkResource, lockCurrent, persistVersion, versionResponse } from '../persist.ts';
import { newId, parseEtag, requireId } from '../resource-identity.ts';
import type { Scope } from '../scope.ts';
import type { FhirResponse } from '../types.ts';

/** Fails with 412 unless the current version is the one `ifMatch` names. */
export function checkIfMatch(ifMatch: string | undefined, currentVersion: number | undefined, what: string): void {
  if (ifMatch === undefined) return;
  const wanted = parseEtag(ifMatch, 'If-Match');
  if (currentVersion !== wanted) {
    throw preconditionFailed(`${what} is at version ${currentVersion ?? 'none'}, not ${wanted} (If-Match)`);
  }
}

export async function update(scope: Scope, type: string, id: string, body: unknown, ifMatch?: string): Promise<FhirResponse> {
  const resource = checkResource(scope, body, type);
  if (resource.id === undefined) throw badRequest('The resource must have an id matching the URL', `${type}.id`);
  if (resource.id !== id) throw badRequest(`Body id '${resource.id}' does not match URL id '${id}'`, `${type}.id`);
  return storeUpdate(scope, type, id, resource, ifMatch);
}

async function storeUpdate(scope: Scope, type: string, id: string, resource: Resource, ifMatch?: string): Promise<FhirResponse> {
  requireId(id);
  const current = await lockCurrent(scope, type, id);
  await scope.guard.requireVisible(scope.q, type, id, current?.resource);
  checkIfMatch(ifMatch, current && !current.deleted ? current.versionId : undefined, `${type}/${id}`);
  const version = await persistVersion(scope, type, id, resource, current);
  // 201 when this created the resource (update-as-create, or after a delete).
  return versionResponse(scope, current && !current.deleted ? 200 : 201, version);
}

/** PUT [type]?criteria: no match creates, one match updates it, several are a 412. */
export async function conditionalUpdate(scope: Scope, type: string, criteria: string, body: unknown, ifMatch?: string): Promise<FhirResponse> {
  const resource = checkResource(scope, body, type);
  await lockCriteria(scope, type, criteria);
  const matches = await findMatches(scope, type, criteria, `${type}?${criteria}`);
  if (matches.length > 1) throw preconditionFailed(`The criteria matched more than one ${type}`);
  const target = (matches[0] as (Resource & { id: string }) | undefined)?.id;
  if (target && resource.id !== undefined && resource.id !== target) {
    throw badRequest(`Body id '${resource.id}' does not match the resource the criteria found`, `${type}.id`);
  }
  const id = target ?? resource.id ?? newId();
  return storeUpdate(scope, type, id, resource, ifMatch);
}
