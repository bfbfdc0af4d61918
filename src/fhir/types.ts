// Protocol-neutral request and response shapes of the FHIR engine. The HTTP adapter and the
// batch/transaction processor both speak these, so an interaction behaves the same either way.
import type { OperationOutcome, Resource } from 'fhir/r4';
import type { Actor } from '../policy/actor.ts';
import type { AuditTrail } from '../policy/audit-trail.ts';

export interface RequestContext {
  requestId: string;
  actor: Actor;
  /** The FHIR base URL as the caller sees it, e.g. `http://localhost:8080/fhir`. */
  fhirBase: string;
  /** What the request disclosed and why; written as an AuditEvent before the response leaves. */
  audit: AuditTrail;
}

export type FhirMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FhirRequest {
  method: FhirMethod;
  /** Path below the FHIR base, without leading slash or query, e.g. `Patient/123/_history/2`. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (resource, patch document), if any. */
  body?: unknown;
  contentType?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifNoneExist?: string;
  /** Value of Prefer: handling= (strict or lenient). */
  handling?: 'strict' | 'lenient';
  /** Prefer: respond-async (Bulk Data kick-off and other asynchronous operations). */
  respondAsync?: boolean;
  /** The body as received, when it is not JSON: only operations accept one (e.g. X12 text to $x12-inbound). */
  rawBody?: Buffer;
}

export interface FhirResponse {
  status: number;
  resource?: Resource;
  /** Informational or warning outcome (Prefer: return=OperationOutcome, or warnings on success). */
  outcome?: OperationOutcome;
  location?: string;
  versionId?: string;
  lastModified?: string;
  /** Extra headers (e.g. Allow on 405). */
  headers?: Record<string, string>;
  /** A body that is not a FHIR resource (X12, CSV, NDJSON), sent as is with its media type. */
  raw?: { contentType: string; body: string | Buffer | NodeJS.ReadableStream };
}
