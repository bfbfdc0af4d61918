// The write path shared by create, update, patch and delete: check, stamp meta, append a version.
import type { Resource } from 'fhir/r4';
import { readCurrent, writeVersion, type StoredVersion } from '../store/resource-store.ts';
import { POLICY_TYPES } from '../store/policy-epoch.ts';
import { writeSearchIndex } from '../store/search-index.ts';
import { extractIndexRows } from './search/index-rows.ts';
import { loadStoredSearchParameters } from './search/stored-search-parameters.ts';
import { checkReferenceSyntax } from '../validation/reference-syntax.ts';
import { badRequest, conflict, FhirError } from './errors.ts';
import { isPartner } from '../policy/actor.ts';
import type { Scope } from './scope.ts';
import type { FhirResponse } from './types.ts';

/** Validates a body meant to be stored as `type` (400 with every problem and its path). */
export function checkResource(scope: Scope, body: unknown, type: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object', type, 'structure');
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType !== type) {
    throw badRequest(`resourceType '${String(resourceType)}' does not match the URL's type '${type}'`, 'resourceType', 'structure');
  }
  scope.services.validator.validate(body);
  checkReferenceSyntax(body as Resource);
  checkProfiles(scope, body as Resource);
  return body as Resource;
}

/**
 * The profiles the resource claims in meta.profile and, for partner writes of Task, ServiceRequest,
 * Consent and Procedure, their SDOHCC profile: errors are a 422 with one issue per problem; warnings
 * and information (extensible bindings, value sets not shipped, must-support gaps) go out with the
 * successful response.
 */
function checkProfiles(scope: Scope, resource: Resource): void {
  const issues = scope.services.profileValidator.validate(resource, { enforceDefault: isPartner(scope.ctx.actor) });
  if (issues.length === 0) return;
  const asInput = issues.map((issue) => ({ severity: issue.severity, code: issue.code, diagnostics: issue.diagnostics, expression: issue.expression }));
  if (issues.some((issue) => issue.severity === 'error')) throw new FhirError(422, asInput);
  scope.warnings.push(...asInput);
}

/** The current version, locked for the rest of the transaction. */
export const lockCurrent = (scope: Scope, type: string, id: string) => readCurrent(scope.q, type, id, true);

/**
 * Appends version previous+1 of type/id: the resource (with id and meta set by the server) or,
 * when `resource` is undefined, a delete tombstone.
 */
export async function persistVersion(
  scope: Scope,
  type: string,
  id: string,
  resource: Resource | undefined,
  previous: StoredVersion | undefined,
): Promise<StoredVersion> {
  // The policy sees the final resource before anything is written (after patching, placeholders resolved).
  await scope.guard.checkWrite(scope.q, type, previous?.deleted ? undefined : previous?.resource, resource && ({ ...resource, id } as Resource));
  const versionId = (previous?.versionId ?? 0) + 1;
  const lastUpdated = new Date().toISOString();
  let stored: Resource | undefined;
  if (resource) {
    // Server-owned fields first and last word: the body's own id and meta versions are replaced.
    const { resourceType: _type, id: _bodyId, meta, ...content } = resource;
    stored = { resourceType: type, id, meta: { ...meta, versionId: String(versionId), lastUpdated }, ...content } as Resource;
  }
  const version: StoredVersion = { resourceType: type, id, versionId, lastUpdated, deleted: !stored, resource: stored, author: scope.ctx.actor.organization };
  try {
    await writeVersion(scope.q, version);
  } catch (error) {
    // Two writers created the same new id at once: the loser's version clashes on the unique key.
    if ((error as { code?: string }).code === '23505') throw conflict(`Concurrent write to ${type}/${id}; retry`);
    throw error;
  }
  // Cached policy facts built on this type are stale once this commits (the epoch is bumped at the
  // end of the transaction, see Scope.policyWrites).
  if (POLICY_TYPES.has(type)) scope.policyWrites.add(type);
  // What features do in this same transaction (referral steps, subscription events, payer Groups).
  for (const hook of scope.services.writeHooks) await hook(scope, { type, id, previous, stored, versionId });
  // The search index follows the current version, in the same transaction.
  const rows = stored ? extractIndexRows(scope.services.searchParameters, stored) : undefined;
  await writeSearchIndex(scope.q, type, [{ resourceType: type, id, rows, replace: previous !== undefined }]);
  if (type === 'SearchParameter') trackSearchParameter(scope);
  return version;
}

/** A SearchParameter written at runtime is searchable (for resources written after it) once committed. */
function trackSearchParameter(scope: Scope): void {
  scope.afterCommit(async (db) => {
    await loadStoredSearchParameters(db, scope.services.searchParameters);
  });
}

/** The response for a stored version: Location with _history, ETag, Last-Modified and the body. */
export function versionResponse(scope: Scope, status: number, version: StoredVersion): FhirResponse {
  return {
    status,
    resource: version.resource,
    location: `${scope.ctx.fhirBase}/${version.resourceType}/${version.id}/_history/${version.versionId}`,
    versionId: String(version.versionId),
    lastModified: version.lastUpdated,
  };
}
