// Stable identities of derived findings. Every resource the mapping produces carries an identifier in
// urn:cch:sdoh-finding whose value is derived from the screening's source and what it records (question,
// answer, domain, codes), so a second run over the same screening finds the first run's resources (conditional
// create on the identifier) instead of creating new ones. fullUrls are urn:uuid placeholders derived the same way.
import { createHash } from 'node:crypto';
import type { Identifier } from 'fhir/r4';
import { FINDING_IDENTIFIER_SYSTEM } from './sdoh-codes.ts';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A short, search-safe digest (hex) of any text or value. */
export const digest = (value: unknown, length = 16): string => sha256(typeof value === 'string' ? value : canonicalJson(value)).slice(0, length);

/** Token-safe parts: codes keep their spelling, anything else is digested. */
const part = (text: string): string => (/^[A-Za-z0-9._-]+$/.test(text) ? text : `h${digest(text, 12)}`);

/**
 * `{digest of the source}.{part}.{part}…`, e.g. `3f1c…9a.88122-7.LA28397-0` for an answer of a screening,
 * `3f1c…9a.food-insecurity.Z59.41_733423003` for its Condition.
 */
export function findingIdentifier(sourceKey: string, ...parts: string[]): Identifier {
  return { system: FINDING_IDENTIFIER_SYSTEM, value: [digest(sourceKey), ...parts.map(part)].join('.') };
}

/** A urn:uuid (RFC 4122 layout, name-based) for the identifier: the same finding gets the same fullUrl. */
export function placeholderFor(identifier: Identifier): string {
  const hex = sha256(`${identifier.system ?? ''}|${identifier.value ?? ''}`);
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** FHIR search escaping of a token part (`\,` `\|` `\$` `\\`), then URL encoding. */
const tokenPart = (text: string): string => encodeURIComponent(text.replace(/([\\,|$])/g, '\\$1'));

/** If-None-Exist criteria that find the resource carrying this identifier. */
export function identifierCriteria(identifier: Identifier): string {
  return `identifier=${tokenPart(identifier.system ?? '')}|${tokenPart(identifier.value ?? '')}`;
}

/** The key a source is known by: its business identifier when it has one, else its reference. */
export function sourceKeyOf(identifier: Identifier | undefined, reference: string | undefined): string | undefined {
  if (identifier?.value) return `identifier:${identifier.system ?? ''}|${identifier.value}`;
  return reference;
}
