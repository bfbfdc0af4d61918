// Minimum necessary, last step: a disclosed resource keeps only the top-level elements its
// disclosure profile lists (resourceType, id and meta always). Contained resources go unless the
// profile lists `contained`, and then each is trimmed by its own type's rule or dropped. A trimmed
// resource carries the SUBSETTED security label, so nobody mistakes it for the whole resource.
import type { ConsentProvision, Resource } from 'fhir/r4';
import { typeRule, type DisclosureProfile } from './disclosure-profile.ts';

type Json = Record<string, unknown>;
const ALWAYS = new Set(['resourceType', 'id', 'meta']);
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

function allowed(key: string, elements: readonly string[]): boolean {
  const name = key.startsWith('_') ? key.slice(1) : key;
  if (ALWAYS.has(name)) return true;
  return elements.some((element) => (element.endsWith('[x]') ? name.startsWith(element.slice(0, -3)) && /^[A-Z]/.test(name.slice(element.length - 3)) : name === element));
}

/** A CBO sees only the provisions addressed to it (or to nobody in particular): other recipients stay unknown. */
function projectConsent(consent: Json, organization: string): boolean {
  const provision = consent.provision as ConsentProvision | undefined;
  if (!provision?.provision) return false;
  const mine = (p: ConsentProvision) => !p.actor?.length || p.actor.some((actor) => actor.reference.reference === organization);
  const kept = provision.provision.filter(mine);
  if (kept.length === provision.provision.length) return false;
  consent.provision = kept.length ? { ...provision, provision: kept } : { ...provision, provision: undefined };
  if (!kept.length) delete (consent.provision as Json).provision;
  return true;
}

function trim(resource: Resource, profile: DisclosureProfile, organization: string, nested: boolean): { resource?: Resource; removed: boolean } {
  const rule = typeRule(profile, resource.resourceType);
  if (!rule) return { removed: true };
  const source = resource as unknown as Json;
  const elements = rule.elements;
  let removed = false;
  const result: Json = {};
  for (const [key, value] of Object.entries(source)) {
    if (!elements.includes('*') && !allowed(key, elements)) {
      removed = true;
      continue;
    }
    if (key === 'contained' && Array.isArray(value)) {
      const kept = value.flatMap((inner: Resource) => {
        const trimmed = trim(inner, profile, organization, true);
        if (trimmed.removed) removed = true;
        return trimmed.resource ? [trimmed.resource] : [];
      });
      if (kept.length) result.contained = kept;
      continue;
    }
    result[key] = structuredClone(value);
  }
  if (resource.resourceType === 'Consent' && profile.consent === 'required' && projectConsent(result, organization)) removed = true;
  if (removed && !nested) {
    const meta = (result.meta ?? {}) as Json;
    const security = (meta.security ?? []) as { system?: string; code?: string }[];
    if (!security.some((label) => label.code === SUBSETTED.code)) result.meta = { ...meta, security: [...security, { ...SUBSETTED }] };
  }
  return { resource: result as unknown as Resource, removed };
}

/** The resource as the profile releases it (a copy; the input is left alone). */
export function redact(resource: Resource, profile: DisclosureProfile, organization: string): Resource {
  return trim(resource, profile, organization, false).resource ?? resource;
}
