// Resource types, ids and versions as they appear in URLs and ETags.
import { randomUUID } from 'node:crypto';
import { badRequest, FhirError } from './errors.ts';
import { fhirResourceTypes } from '../validation/fhir-schema.ts';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export const newId = (): string => randomUUID();

export function isResourceType(type: string): boolean {
  return fhirResourceTypes().has(type);
}

/** Unknown types are 404 (there is no such endpoint), per the FHIR RESTful API. */
export function requireResourceType(type: string): void {
  if (!isResourceType(type)) throw new FhirError(404, { code: 'not-supported', diagnostics: `Unknown resource type '${type}'` });
}

export function requireId(id: string, expression = 'id'): void {
  if (!ID.test(id)) throw badRequest(`Invalid id '${id.slice(0, 80)}'`, expression);
}

export const etag = (versionId: number | string): string => `W/"${versionId}"`;

/** Reads `W/"3"`, `"3"` or `3` into 3; anything else is a 400. */
export function parseEtag(value: string, header: string): number {
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!match) throw badRequest(`${header} must be an ETag such as W/"1"`, header);
  return Number(match[1]);
}
