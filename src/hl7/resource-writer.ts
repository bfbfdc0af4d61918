// Writes of the mappers through the engine's interactions (validation, policy, search index, outbox
// events all apply), made idempotent: a resource is found by its business identifier (or id), the
// mapper builds the new content from what is stored, and nothing is written when the content is the
// same. That is what makes re-processing a message change nothing.
import type { Bundle, Identifier, Resource } from 'fhir/r4';
import { findMatches, lockCriteria } from '../fhir/conditional.ts';
import { create } from '../fhir/interactions/create.ts';
import { update } from '../fhir/interactions/update.ts';
import { dispatch, parseRoute } from '../fhir/router.ts';
import type { Scope } from '../fhir/scope.ts';
import { canonicalJson, identifierCriteria } from '../sdoh/finding-identifiers.ts';
import { readCurrent } from '../store/resource-store.ts';

export interface Written<T extends Resource> {
  resource: T & { id: string };
  /** Whether this call stored a new version. */
  changed: boolean;
}

/** Content without the server-owned id and meta, for comparison. */
const content = (resource: Resource): string => {
  const { id: _id, meta, ...rest } = resource;
  return canonicalJson({ ...rest, profile: meta?.profile ?? [] });
};

/** The current resource with this identifier (locked against a concurrent create of the same one). */
export async function findByIdentifier<T extends Resource>(scope: Scope, type: string, identifier: Identifier): Promise<(T & { id: string }) | undefined> {
  const criteria = identifierCriteria(identifier);
  await lockCriteria(scope, type, criteria);
  const [match] = await findMatches(scope, type, criteria, `${type}.identifier`);
  return match as (T & { id: string }) | undefined;
}

export async function readById<T extends Resource>(scope: Scope, type: string, id: string): Promise<(T & { id: string }) | undefined> {
  const stored = await readCurrent(scope.q, type, id, true);
  return stored && !stored.deleted ? (stored.resource as T & { id: string }) : undefined;
}

/** Creates `next` or updates `existing` to it, unless the content is unchanged. */
export async function save<T extends Resource>(scope: Scope, existing: (T & { id: string }) | undefined, next: T): Promise<Written<T>> {
  if (existing && content(existing) === content(next)) return { resource: existing, changed: false };
  const response = existing
    ? await update(scope, next.resourceType, existing.id, { ...next, id: existing.id })
    : await create(scope, next.resourceType, next);
  return { resource: response.resource as T & { id: string }, changed: true };
}

/** A search as the scope's actor (the system): the matching resources of the first page. */
export async function search<T extends Resource>(scope: Scope, type: string, query: Record<string, string>): Promise<T[]> {
  const response = await dispatch(scope, { method: 'GET', path: type, query: new URLSearchParams(query) }, parseRoute(type));
  return ((response.resource as Bundle | undefined)?.entry ?? [])
    .filter((entry) => entry.search?.mode !== 'include' && entry.resource?.resourceType === type)
    .map((entry) => entry.resource as T);
}
