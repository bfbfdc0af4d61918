// Express request → FhirRequest: media types, JSON parsing and conditional headers.
import type { Request } from 'express';
import { badRequest, FhirError } from '../fhir/errors.ts';
import type { FhirMethod, FhirRequest } from '../fhir/types.ts';
import { parsePrefer } from './fhir-response.ts';

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
const FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

const mediaType = (req: Request): string | undefined => req.get('content-type')?.split(';')[0].trim().toLowerCase();

const unsupportedMedia = (diagnostics: string) => new FhirError(415, { code: 'not-supported', diagnostics });

/** Operations may answer in another media type (X12, CSV, NDJSON): they choose by Accept themselves. */
const isOperation = (req: Request) => /(^|\/)\$[A-Za-z][\w-]*$/.test(req.path);

/** JSON only: _format and Accept asking for something else are a 406 (operations excepted). */
export function checkAcceptable(req: Request): void {
  const format = typeof req.query._format === 'string' ? req.query._format : undefined;
  if (format && !FORMATS.has(format.toLowerCase())) {
    throw new FhirError(406, { code: 'not-supported', diagnostics: `_format '${format}' is not supported; this server speaks JSON` });
  }
  const accept = req.get('accept');
  if (accept && !format && !isOperation(req) && !req.accepts(['application/fhir+json', 'application/json'])) {
    throw new FhirError(406, { code: 'not-supported', diagnostics: 'Accept must allow application/fhir+json' });
  }
}

function parseJson(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    // Name where parsing stopped, never the content.
    const where = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new FhirError(400, { code: 'structure', diagnostics: `Malformed JSON${where ? ` at position ${where}` : ''}` });
  }
}

// Non-JSON bodies an operation may receive as `rawBody` (X12 interchanges, HL7 v2 text).
const RAW_OPERATION_TYPES = new Set(['application/edi-x12', 'text/plain', 'application/edi-hl7', 'x-application/hl7-v2+er7']);

function body(req: Request, method: FhirMethod, path: string): { body?: unknown; form?: URLSearchParams; rawBody?: Buffer } {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const type = mediaType(req);
  if (method === 'POST' && path.endsWith('/_search')) {
    if (raw.length && type !== 'application/x-www-form-urlencoded') throw unsupportedMedia('POST _search needs application/x-www-form-urlencoded');
    return { form: new URLSearchParams(raw.toString('utf8')) };
  }
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return {};
  if (method === 'PATCH') {
    if (type !== 'application/json-patch+json') {
      throw unsupportedMedia(`PATCH needs application/json-patch+json (JSON Patch); got ${type ?? 'no Content-Type'}`);
    }
  } else if (method === 'POST' && type && RAW_OPERATION_TYPES.has(type) && /(^|\/)\$[A-Za-z][\w-]*$/.test(path)) {
    if (raw.length === 0) throw badRequest('The request body is empty', undefined, 'required');
    return { rawBody: raw };
  } else if (!type || !JSON_TYPES.has(type)) {
    throw unsupportedMedia(`Content-Type must be application/fhir+json; got ${type ?? 'none'}`);
  }
  if (raw.length === 0) throw badRequest('The request body is empty', undefined, 'required');
  return { body: parseJson(raw) };
}

export function toFhirRequest(req: Request, path: string): FhirRequest {
  const method = req.method.toUpperCase() as FhirMethod;
  const url = new URL(req.originalUrl, 'http://x');
  const query = url.searchParams;
  const parsed = body(req, method, path);
  if (parsed.form) for (const [key, value] of parsed.form) query.append(key, value);
  return {
    method,
    path,
    query,
    body: parsed.body,
    rawBody: parsed.rawBody,
    contentType: mediaType(req),
    ifMatch: req.get('if-match'),
    ifNoneMatch: req.get('if-none-match'),
    ifModifiedSince: req.get('if-modified-since'),
    ifNoneExist: req.get('if-none-exist'),
    handling: parsePrefer(req.get('prefer')).handling,
    respondAsync: /(^|[,;\s])respond-async($|[,;\s])/.test(req.get('prefer') ?? ''),
  };
}
