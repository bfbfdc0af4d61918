// Reading batch/transaction entries into FhirRequests, and writing their responses.
import type { Bundle, BundleEntry, BundleEntryResponse, Resource } from 'fhir/r4';
import { badRequest, FhirError } from '../errors.ts';
import { etag } from '../resource-identity.ts';
import type { FhirMethod, FhirRequest, FhirResponse } from '../types.ts';

export interface ParsedEntry {
  index: number;
  fullUrl?: string;
  method: FhirMethod;
  /** Path below the base and query, as in the entry's request.url. */
  path: string;
  query: URLSearchParams;
  resource?: Resource;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifNoneExist?: string;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export function readBundle(body: unknown): { type: 'batch' | 'transaction'; entries: BundleEntry[] } {
  const bundle = body as Bundle | undefined;
  if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle') {
    throw badRequest('POST to the base needs a Bundle of type batch or transaction', 'Bundle', 'structure');
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(`Bundle.type must be batch or transaction, not '${String(bundle.type)}'`, 'Bundle.type');
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw badRequest('Bundle.entry must be an array', 'Bundle.entry', 'structure');
  return { type: bundle.type, entries: bundle.entry ?? [] };
}

export function parseEntry(entry: BundleEntry, index: number, fhirBase: string): ParsedEntry {
  const at = `Bundle.entry[${index}]`;
  const request = entry?.request;
  if (!request || typeof request !== 'object') throw badRequest('Each entry needs a request', `${at}.request`, 'required');
  if (!METHODS.has(String(request.method))) throw badRequest(`Unsupported method '${String(request.method)}'`, `${at}.request.method`);
  if (typeof request.url !== 'string' || !request.url) throw badRequest('request.url is required', `${at}.request.url`, 'required');
  let url = request.url;
  if (/^https?:\/\//.test(url)) {
    if (!url.startsWith(`${fhirBase}/`)) throw badRequest(`request.url '${url}' is not on this server`, `${at}.request.url`);
    url = url.slice(fhirBase.length + 1);
  }
  const question = url.indexOf('?');
  const method = request.method as FhirMethod;
  if (entry.resource !== undefined && (typeof entry.resource !== 'object' || entry.resource === null)) {
    throw badRequest('entry.resource must be a resource', `${at}.resource`, 'structure');
  }
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !entry.resource) {
    throw badRequest(`${method} entries need a resource`, `${at}.resource`, 'required');
  }
  return {
    index,
    fullUrl: entry.fullUrl,
    method,
    path: question < 0 ? url : url.slice(0, question),
    query: new URLSearchParams(question < 0 ? '' : url.slice(question + 1)),
    resource: entry.resource,
    ifMatch: request.ifMatch,
    ifNoneMatch: request.ifNoneMatch,
    ifModifiedSince: request.ifModifiedSince,
    ifNoneExist: request.ifNoneExist,
  };
}

/** A PATCH entry carries its JSON Patch as a Binary (R4 §3.1.0.11.3). */
function patchBody(entry: ParsedEntry): unknown {
  const binary = entry.resource as { resourceType?: string; contentType?: string; data?: string };
  if (binary.resourceType !== 'Binary' || binary.contentType !== 'application/json-patch+json' || !binary.data) {
    throw badRequest('A PATCH entry needs a Binary with contentType application/json-patch+json', `Bundle.entry[${entry.index}].resource`);
  }
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    throw badRequest('The Binary data is not a JSON Patch document', `Bundle.entry[${entry.index}].resource.data`);
  }
}

export function entryRequest(entry: ParsedEntry): FhirRequest {
  return {
    method: entry.method,
    path: entry.path,
    query: entry.query,
    body: entry.method === 'PATCH' ? patchBody(entry) : entry.resource,
    ifMatch: entry.ifMatch,
    ifNoneMatch: entry.ifNoneMatch,
    ifModifiedSince: entry.ifModifiedSince,
    ifNoneExist: entry.ifNoneExist,
  };
}

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
  412: 'Precondition Failed', 422: 'Unprocessable Entity', 500: 'Internal Server Error',
};

export const statusLine = (status: number): string => `${status} ${REASONS[status] ?? ''}`.trim();

/** GET and HEAD entries answer with what they read, whatever Prefer says about writes. */
export const isRead = (method: FhirMethod): boolean => method === 'GET' || method === 'HEAD';

export function responseEntry(response: FhirResponse, includeResource: boolean): BundleEntry {
  const result: BundleEntryResponse = { status: statusLine(response.status) };
  if (response.location) result.location = response.location;
  if (response.versionId) result.etag = etag(response.versionId);
  if (response.lastModified) result.lastModified = response.lastModified;
  if (response.outcome) result.outcome = response.outcome;
  const entry: BundleEntry = { response: result };
  if (includeResource && response.resource) entry.resource = response.resource;
  return entry;
}

export function errorEntry(error: FhirError): BundleEntry {
  return { response: { status: statusLine(error.status), outcome: error.outcome } };
}

/** Points an entry's issue paths into the bundle: `Patient.name` → `Bundle.entry[2].resource.name`. */
export function inEntry(error: unknown, entry: ParsedEntry): unknown {
  if (!(error instanceof FhirError)) return error;
  const type = entry.resource?.resourceType;
  const where = (expression: string | undefined): string => {
    if (!expression) return `Bundle.entry[${entry.index}]`;
    if (expression.startsWith('Bundle.entry[')) return expression;
    if (type && (expression === type || expression.startsWith(`${type}.`))) {
      return `Bundle.entry[${entry.index}].resource${expression.slice(type.length)}`;
    }
    return `Bundle.entry[${entry.index}].request (${expression})`;
  };
  const issues = error.outcome.issue.map((issue) => ({
    severity: issue.severity,
    code: issue.code,
    diagnostics: issue.diagnostics ?? '',
    expression: where(issue.expression?.[0]),
  }));
  return new FhirError(error.status, issues, error.headers);
}
