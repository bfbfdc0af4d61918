// delete (DELETE [type]/[id]) as a versioned tombstone, and conditional delete.
import type { Resource } from 'fhir/r4';
import { findMatches } from '../conditional.ts';
import { notFound, preconditionFailed } from '../errors.ts';
import { lockCurrent, persistVersion } from '../persist.ts';
import type { Scope } from '../scope.ts';
import type { FhirResponse } from '../types.ts';
import { checkIfMatch } from './update.ts';

/**
 * Writes a tombstone version; a later read is 410 Gone and history keeps every version.
 * Deleting an already deleted resource succeeds without a new version; an unknown id is a 404.
 */
export async function deleteResource(scope: Scope, type: string, id: string, ifMatch?: string): Promise<FhirResponse> {
  const current = await lockCurrent(scope, type, id);
  await scope.guard.requireVisible(scope.q, type, id, current?.resource);
  if (!current) throw notFound(`${type}/${id} is not known`);
  if (current.deleted) return { status: 204, versionId: String(current.versionId) };
  checkIfMatch(ifMatch, current.versionId, `${type}/${id}`);
  const version = await persistVersion(scope, type, id, undefined, current);
  return { status: 204, versionId: String(version.versionId) };
}

/** DELETE [type]?criteria: one match is deleted, none is a no-op 204, several are a 412. */
export async function conditionalDelete(scope: Scope, type: string, criteria: string): Promise<FhirResponse> {
  const matches = await findMatches(scope, type, criteria, `${type}?${criteria}`);
  if (matches.length > 1) throw preconditionFailed(`The criteria matched more than one ${type}`);
  if (matches.length === 0) return { status: 204 };
  return deleteResource(scope, type, (matches[0] as Resource & { id: string }).id);
}
