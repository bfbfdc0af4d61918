// Shared helpers for the search integration tests: load a known data set with a transaction of PUTs
// (fixed ids, so expected results can be written by hand), run searches over real HTTP and pick
// ids out of the searchset Bundle.
import { expect } from 'vitest';
import type { HttpResult, TestServer } from '../helpers/test-server.ts';

// Resources and Bundles are inspected field by field in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

/**
 * Percent-encodes every name and value of a query written as plain text, e.g.
 * `birthdate=ge1980&subject:Patient.name=smith`. Only the first `=` of a part splits it, and a `+`
 * stays a literal plus (a time zone offset), not a space.
 */
export function encodeQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return encodeURIComponent(part);
      return `${encodeURIComponent(part.slice(0, eq))}=${encodeURIComponent(part.slice(eq + 1))}`;
    })
    .join('&');
}

/** `/fhir/Patient?name=smi` from `Patient?name=smi`, with the query encoded. */
export function searchPath(search: string): string {
  const q = search.indexOf('?');
  if (q < 0) return `/fhir/${search}`;
  const query = encodeQuery(search.slice(q + 1));
  return `/fhir/${search.slice(0, q)}${query ? `?${query}` : ''}`;
}

/** PUTs every resource (each has resourceType and id) in one transaction; each must be created. */
export async function putAll(server: TestServer, resources: Json[]): Promise<void> {
  const res = await server.request('POST', '/fhir', {
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
    },
  });
  expect(res.status, res.text).toBe(200);
  const statuses = (res.body.entry as Json[]).map((entry) => entry.response.status as string);
  expect(statuses.every((status) => status.startsWith('201')), res.text).toBe(true);
}

/** Creates or replaces one resource with PUT; returns the stored resource. */
export async function put(server: TestServer, resource: Json): Promise<Json> {
  const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  expect([200, 201], res.text).toContain(res.status);
  return res.body;
}

export async function remove(server: TestServer, reference: string): Promise<void> {
  const res = await server.request('DELETE', `/fhir/${reference}`);
  expect(res.status, res.text).toBe(204);
}

/** Runs a search (GET), expecting a 200 searchset Bundle. */
export async function searchBundle(server: TestServer, search: string, headers: Record<string, string> = {}): Promise<Json> {
  const res: HttpResult = await server.request('GET', searchPath(search), { headers });
  expect(res.status, `${search}: ${res.text}`).toBe(200);
  expect(res.body.resourceType).toBe('Bundle');
  expect(res.body.type).toBe('searchset');
  return res.body;
}

export const entriesByMode = (bundle: Json, mode: string): Json[] => ((bundle.entry ?? []) as Json[]).filter((entry) => entry.search?.mode === mode);

/** Ids of the `match` entries, in Bundle order. */
export const matchIdsOf = (bundle: Json): string[] => entriesByMode(bundle, 'match').map((entry) => entry.resource.id as string);

/** `Type/id` of the `include` entries, in Bundle order. */
export const includeRefsOf = (bundle: Json): string[] =>
  entriesByMode(bundle, 'include').map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`);

export const sorted = (values: string[]): string[] => [...values].sort();

/** Sorted ids of the resources a search matches (first page, which tests keep under the default size). */
export async function searchIds(server: TestServer, search: string): Promise<string[]> {
  return sorted(matchIdsOf(await searchBundle(server, search)));
}

/** Ids of the matches in the order the server returned them. */
export async function searchOrder(server: TestServer, search: string): Promise<string[]> {
  return matchIdsOf(await searchBundle(server, search));
}

/** Expects a 400 OperationOutcome that names the offending parameter (in diagnostics, details or expression). */
export async function expectSearchError(server: TestServer, search: string, parameter: string): Promise<void> {
  const res = await server.request('GET', searchPath(search));
  expect(res.status, `${search}: ${res.text}`).toBe(400);
  expect(res.body?.resourceType).toBe('OperationOutcome');
  const issues = res.body.issue as Json[];
  expect(issues.length).toBeGreaterThan(0);
  expect(issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal')).toBe(true);
  const text = JSON.stringify(issues.map((issue) => [issue.diagnostics, issue.details, issue.expression, issue.location]));
  expect(text, `${search}: ${res.text}`).toContain(parameter);
}

/** Follows a Bundle link (an absolute URL on the test server). */
export async function follow(server: TestServer, url: string | undefined): Promise<Json> {
  expect(url).toBeDefined();
  expect(url!.startsWith(`${server.fhir}/`), url).toBe(true);
  const res = await server.request('GET', url!.slice(server.url.length));
  expect(res.status, res.text).toBe(200);
  expect(res.body.type).toBe('searchset');
  return res.body;
}

export const linkOf = (bundle: Json, relation: string): string | undefined =>
  (bundle.link as { relation: string; url: string }[] | undefined)?.find((l) => l.relation === relation)?.url;

// Small builders for the resources the tests use most.
export const coding = (system: string | undefined, code: string, display?: string) => ({
  ...(system ? { system } : {}),
  code,
  ...(display ? { display } : {}),
});
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const ref = (reference: string) => ({ reference });
