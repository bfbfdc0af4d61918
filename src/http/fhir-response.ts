// Writes a FhirResponse: status, ETag, Last-Modified, Location and the body chosen by Prefer.
import type { Response } from 'express';
import { operationOutcome } from '../fhir/errors.ts';
import { etag } from '../fhir/resource-identity.ts';
import type { FhirResponse } from '../fhir/types.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** Reads `Prefer: return=...` (and handling=...) from the header. */
export function parsePrefer(header: string | undefined): { return?: PreferReturn; handling?: 'strict' | 'lenient' } {
  const result: { return?: PreferReturn; handling?: 'strict' | 'lenient' } = {};
  for (const part of (header ?? '').split(/[,;]/)) {
    const [key, value] = part.trim().split('=').map((s) => s?.trim().replace(/^"|"$/g, ''));
    if (key === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) result.return = value;
    if (key === 'handling' && (value === 'strict' || value === 'lenient')) result.handling = value;
  }
  return result;
}

export function sendFhirResponse(res: Response, response: FhirResponse, prefer: PreferReturn | undefined, isWrite: boolean): void {
  res.status(response.status);
  if (response.versionId) res.set('ETag', etag(response.versionId));
  if (response.lastModified) res.set('Last-Modified', new Date(response.lastModified).toUTCString());
  if (response.location) res.set('Location', response.location);
  if (response.headers) res.set(response.headers);
  if (response.status === 204 || response.status === 304) {
    res.end();
    return;
  }
  if (response.raw) {
    res.type(response.raw.contentType);
    const raw = response.raw.body;
    if (typeof raw === 'string' || Buffer.isBuffer(raw)) res.send(raw);
    else raw.pipe(res);
    return;
  }
  let body: unknown = response.resource ?? response.outcome;
  if (isWrite && prefer === 'minimal') body = undefined;
  if (isWrite && prefer === 'OperationOutcome') {
    body = response.outcome ?? operationOutcome([{ severity: 'information', code: 'informational', diagnostics: `${response.status === 201 ? 'Created' : 'Done'}${response.location ? ` ${response.location}` : ''}` }]);
  }
  if (body === undefined) {
    res.end();
    return;
  }
  res.type(FHIR_JSON).send(JSON.stringify(body));
}
