// transaction bundles: all entries in one database transaction, all or nothing.
//
// Order (R4 §3.1.0.11.2): ids are first resolved for every entry (conditional creates and
// updates searched, new ids given to creates) so that urn:uuid placeholders and conditional
// references can be rewritten everywhere; then DELETE, POST, PUT/PATCH, GET entries run in that
// order. Any failure throws out of the database transaction, which rolls back every write.
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { findMatches, lockCriteria } from '../conditional.ts';
import { badRequest, FhirError, preconditionFailed } from '../errors.ts';
import { create } from '../interactions/create.ts';
import { newId, requireResourceType } from '../resource-identity.ts';
import { dispatch, parseRoute, withWarnings } from '../router.ts';
import type { Scope } from '../scope.ts';
import type { FhirResponse } from '../types.ts';
import { references } from '../../validation/reference-syntax.ts';
import { entryRequest, inEntry, isRead, parseEntry, responseEntry, type ParsedEntry } from './bundle-entry.ts';
import { rewritePlaceholders, type PlaceholderMap } from './reference-rewrite.ts';

const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };
const PLACEHOLDER = /^urn:(uuid|oid):/;

interface PlannedEntry extends ParsedEntry {
  /** For POST: the id to create with, or the existing match of a conditional create. */
  createId?: string;
  existing?: boolean;
}

type Id = Resource & { id: string };

async function planIds(scope: Scope, entries: PlannedEntry[], placeholders: PlaceholderMap): Promise<void> {
  const seenFullUrls = new Set<string>();
  for (const entry of entries) {
    if (entry.fullUrl) {
      if (seenFullUrls.has(entry.fullUrl)) throw badRequest(`fullUrl ${entry.fullUrl} appears twice`, `Bundle.entry[${entry.index}].fullUrl`);
      seenFullUrls.add(entry.fullUrl);
    }
    const placeholder = entry.fullUrl && PLACEHOLDER.test(entry.fullUrl) ? entry.fullUrl : undefined;
    const type = entry.path.split('/')[0];
    if (entry.method === 'POST') {
      requireResourceType(type);
      entry.createId = newId();
      if (entry.ifNoneExist) {
        await lockCriteria(scope, type, entry.ifNoneExist);
        const matches = await findMatches(scope, type, entry.ifNoneExist, `Bundle.entry[${entry.index}].request.ifNoneExist`);
        if (matches.length > 1) throw preconditionFailed(`ifNoneExist of entry ${entry.index} matched more than one ${type}`);
        if (matches.length === 1) {
          entry.createId = (matches[0] as Id).id;
          entry.existing = true;
        }
      }
      if (placeholder) placeholders.set(placeholder, `${type}/${entry.createId}`);
    } else if (entry.method === 'PUT' && [...entry.query.keys()].length > 0) {
      // Conditional update: find its target now, so placeholders can point at it.
      requireResourceType(type);
      await lockCriteria(scope, type, entry.query.toString());
      const matches = await findMatches(scope, type, entry.query.toString(), `Bundle.entry[${entry.index}].request.url`);
      if (matches.length > 1) throw preconditionFailed(`The criteria of entry ${entry.index} matched more than one ${type}`);
      const match = (matches[0] as Id | undefined)?.id;
      const bodyId = entry.resource?.id as string | undefined;
      if (match && bodyId !== undefined && bodyId !== match) {
        throw badRequest(`Body id '${bodyId}' does not match the resource the criteria found`, `Bundle.entry[${entry.index}].resource.id`);
      }
      const id = match ?? bodyId ?? newId();
      entry.path = `${type}/${id}`;
      entry.query = new URLSearchParams();
      entry.resource = { ...entry.resource!, id };
      if (placeholder) placeholders.set(placeholder, entry.path);
    } else if (placeholder && (entry.method === 'PUT' || entry.method === 'PATCH')) {
      placeholders.set(placeholder, entry.path);
    }
  }
}

/** Conditional references (`Patient?identifier=...`) must match exactly one resource. */
async function resolveConditionalReferences(scope: Scope, entry: PlannedEntry): Promise<void> {
  if (!entry.resource) return;
  for (const { path, value, holder } of references(entry.resource, `Bundle.entry[${entry.index}].resource`)) {
    if (PLACEHOLDER.test(value) && entry.resource.resourceType !== 'Bundle') {
      throw badRequest(`Reference '${value}' does not match any fullUrl in the transaction`, path);
    }
    const question = value.indexOf('?');
    if (question <= 0 || value.slice(0, question).includes('/')) continue;
    const type = value.slice(0, question);
    requireResourceType(type);
    const matches = await findMatches(scope, type, value.slice(question + 1), path);
    if (matches.length !== 1) {
      throw new FhirError(412, { code: 'conflict', diagnostics: `Conditional reference '${value}' matched ${matches.length} resources, not one`, expression: path });
    }
    holder.reference = `${type}/${(matches[0] as Id).id}`;
  }
}

async function runEntry(scope: Scope, entry: PlannedEntry): Promise<FhirResponse> {
  if (entry.method === 'POST') {
    const type = entry.path.split('/')[0];
    if (entry.path !== type) throw badRequest('POST entries must target a resource type', `Bundle.entry[${entry.index}].request.url`);
    scope.guard.gate('create', type);
    return withWarnings(scope, async () => {
      const response = entry.existing
        ? await create(scope, type, entry.resource, `_id=${entry.createId}`)
        : await create(scope, type, entry.resource, undefined, entry.createId);
      if (response.resource) response.resource = scope.guard.redact(response.resource);
      return response;
    });
  }
  return dispatch(scope, entryRequest(entry), parseRoute(entry.path));
}

export async function processTransaction(scope: Scope, entries: BundleEntry[], includeResource: boolean): Promise<Bundle> {
  const parsed: PlannedEntry[] = entries.map((entry, index) => parseEntry(entry, index, scope.ctx.fhirBase));
  const placeholders: PlaceholderMap = new Map();
  await planIds(scope, parsed, placeholders);

  const targets = new Set<string>();
  for (const entry of parsed) {
    if (entry.resource) entry.resource = rewritePlaceholders(entry.resource, placeholders);
    entry.path = rewritePlaceholders(entry.path, placeholders);
    await resolveConditionalReferences(scope, entry).catch((error: unknown) => Promise.reject(inEntry(error, entry)));
    if (!isRead(entry.method)) {
      const target = entry.method === 'POST' ? `${entry.path}/${entry.createId}` : `${entry.path}?${entry.query}`;
      if (targets.has(target)) throw badRequest(`Entry ${entry.index} changes ${entry.path} a second time`, `Bundle.entry[${entry.index}]`);
      targets.add(target);
    }
  }

  const responses: BundleEntry[] = new Array(parsed.length);
  const ordered = [...parsed].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
  for (const entry of ordered) {
    try {
      responses[entry.index] = responseEntry(await runEntry(scope, entry), includeResource || isRead(entry.method));
    } catch (error) {
      throw inEntry(error, entry);
    }
  }
  return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
}
