// Evaluates a patient's privacy Consents (FHIR R4 Consent, scope patient-privacy) for one request.
// Pure: the consents and the target come in, a verdict goes out.
//
// Semantics (R4 leaves parts open; choices follow the consent brief §1.1 and LEAP):
// - Only `active` consents with scope `patient-privacy` count; the root provision's period bounds the
//   consent, and the root's own conditions (actor, purpose...) scope it.
// - The base decision is the root `type`, else `policyRule` OPTIN → deny / OPTOUT → permit, else deny.
// - Nested provisions are exceptions: the deepest matching path wins; at equal depth deny overrides.
// - A disclosure authorization (category IDSCL, the SDOHCC Consent) is an opt-in for recipients that
//   need consent: its base deny does not block disclosures that need none (HIPAA TPO); its explicit
//   deny provisions still do. Any other privacy consent (an opt-out or restriction) binds everyone it matches.
// - For recipients that need consent, a permit counts only when its path names the recipient's organization.
// - Across consents: within a category the newest dateTime that applies decides; across categories deny overrides.
import type { CodeableConcept, Coding, Consent, ConsentProvision, Resource } from 'fhir/r4';
import { labelCovers } from './security-labels.ts';
import { within } from './clinical-date.ts';

export interface ConsentRequest {
  /** The recipient, e.g. `Organization/food-bank`. */
  organization: string;
  purposeOfUse: string;
  /** consent-action codes this interaction counts as: access/disclose for reads, collect, correct. */
  actions: string[];
  /** Whether the recipient may only receive data under a permit naming it (CBOs). */
  consentRequired: boolean;
  now: Date;
}

/** The resource being decided; undefined when deciding for a patient as a whole (search narrowing). */
export interface ConsentTarget {
  resource: Resource;
  date?: string;
}

export interface ConsentVerdict {
  effect: 'permit' | 'deny' | 'none';
  /** The consents that decided, as versioned references. */
  consents: string[];
  /** Security labels a deciding permit names (they lift the profile's label ceiling). */
  labelsGranted: Coding[];
}

const IDSCL = 'IDSCL';

interface PathResult {
  depth: number;
  effect: 'permit' | 'deny';
  namesActor: boolean;
  labels: Coding[];
}

type Match = boolean;

const codes = (concepts: CodeableConcept[] | undefined) => (concepts ?? []).flatMap((concept) => concept.coding ?? []);

/** Every Coding anywhere inside a resource (LEAP matches provision.code against `$..coding`). */
function allCodings(value: unknown, found: Coding[] = []): Coding[] {
  if (Array.isArray(value)) for (const item of value) allCodings(item, found);
  else if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.code === 'string' && (typeof object.system === 'string' || object.system === undefined) && !('resourceType' in object)) {
      found.push(object as Coding);
    }
    for (const [key, child] of Object.entries(object)) if (key !== 'meta') allCodings(child, found);
  }
  return found;
}

/** Every reference string inside a resource. */
function allReferences(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) allReferences(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') found.push(child);
      else allReferences(child, found);
    }
  }
  return found;
}

const sameReference = (a: string | undefined, b: string) => a !== undefined && (a === b || a.endsWith(`/${b}`));

/**
 * Whether `provision`'s conditions hold. Resource-specific conditions cannot be judged for a patient
 * as a whole (no target): there a permit is assumed to match (the per-resource check follows) and a deny not.
 */
function matches(provision: ConsentProvision, request: ConsentRequest, target: ConsentTarget | undefined, asPermit: boolean): { match: Match; namesActor: boolean } {
  const no = { match: false, namesActor: false };
  if (provision.period && !within(request.now.toISOString(), provision.period)) return no;
  let namesActor = false;
  if (provision.actor?.length) {
    if (!provision.actor.some((actor) => sameReference(actor.reference.reference, request.organization))) return no;
    namesActor = true;
  }
  if (provision.purpose?.length && !provision.purpose.some((purpose) => purpose.code === request.purposeOfUse)) return no;
  if (provision.action?.length && !codes(provision.action).some((coding) => coding.code !== undefined && request.actions.includes(coding.code))) return no;

  const resourceSpecific = provision.class?.length || provision.code?.length || provision.securityLabel?.length || provision.dataPeriod || provision.data?.length;
  if (resourceSpecific && !target) return { match: asPermit, namesActor };
  if (target) {
    const resource = target.resource;
    const reference = `${resource.resourceType}/${resource.id}`;
    if (provision.class?.length) {
      const profiles = resource.meta?.profile ?? [];
      if (!provision.class.some((c) => c.code === resource.resourceType || (c.code !== undefined && profiles.includes(c.code)))) return no;
    }
    if (provision.code?.length) {
      const found = allCodings(resource);
      if (!codes(provision.code).some((want) => found.some((have) => have.code === want.code && (!want.system || have.system === want.system)))) return no;
    }
    if (provision.securityLabel?.length) {
      const labels = resource.meta?.security ?? [];
      if (!provision.securityLabel.some((granted) => labels.some((label) => labelCovers(granted, label)))) return no;
    }
    if (provision.dataPeriod && !(target.date && within(target.date, provision.dataPeriod))) return no;
    if (provision.data?.length) {
      const refs = allReferences(resource);
      const hit = provision.data.some((data) => {
        const wanted = data.reference.reference;
        if (!wanted) return false;
        if (sameReference(wanted, reference) || sameReference(reference, wanted)) return true;
        // dependents: resources that refer to the named one (a Task pointing at the consented ServiceRequest).
        return data.meaning === 'dependents' && refs.some((ref) => sameReference(ref, wanted) || sameReference(wanted, ref));
      });
      if (!hit) return no;
    }
  }
  return { match: true, namesActor };
}

/** The deepest matching path below `node`; equal depth: deny overrides. */
function deepest(node: ConsentProvision, depth: number, namesActor: boolean, request: ConsentRequest, target: ConsentTarget | undefined): PathResult | undefined {
  let best: PathResult | undefined;
  for (const child of node.provision ?? []) {
    if (child.type !== 'permit' && child.type !== 'deny') continue; // R4: type is required below the root
    const { match, namesActor: childNames } = matches(child, request, target, child.type === 'permit');
    if (!match) continue;
    const names = namesActor || childNames;
    const result = deepest(child, depth + 1, names, request, target) ?? { depth: depth + 1, effect: child.type, namesActor: names, labels: child.securityLabel ?? [] };
    if (!best || result.depth > best.depth || (result.depth === best.depth && result.effect === 'deny' && best.effect === 'permit')) best = result;
    else if (result.depth === best.depth && result.effect === 'permit' && best.effect === 'permit') {
      // Sibling permits are OR-ed: together they release what each names.
      best = { ...best, namesActor: best.namesActor || result.namesActor, labels: [...best.labels, ...result.labels] };
    }
  }
  return best;
}

function baseDecision(consent: Consent): 'permit' | 'deny' {
  const root = consent.provision?.type;
  if (root === 'permit' || root === 'deny') return root;
  const rule = codes(consent.policyRule ? [consent.policyRule] : []).map((coding) => coding.code);
  if (rule.includes('OPTOUT')) return 'permit';
  return 'deny'; // OPTIN, unknown rule, or none: nothing is released by default
}

const isPrivacy = (consent: Consent) => codes([consent.scope]).some((coding) => coding.code === 'patient-privacy');
const isDisclosureAuthorization = (consent: Consent) => codes(consent.category).some((coding) => coding.code === IDSCL);

/** One consent's effect: permit, deny, or none (it does not apply to this request). */
function evaluateOne(consent: Consent, request: ConsentRequest, target: ConsentTarget | undefined): Omit<ConsentVerdict, 'consents'> {
  const none = { effect: 'none' as const, labelsGranted: [] };
  if (consent.status !== 'active' || !isPrivacy(consent)) return none;
  const root = consent.provision ?? {};
  const base = baseDecision(consent);
  const scoped = matches(root, request, target, base === 'permit');
  if (!scoped.match) return none;
  const path = deepest(root, 0, scoped.namesActor, request, target) ?? {
    depth: 0, effect: base, namesActor: scoped.namesActor, labels: root.securityLabel ?? [],
  };
  if (path.effect === 'permit') {
    if (request.consentRequired && !path.namesActor) return none;
    return { effect: 'permit', labelsGranted: path.labels };
  }
  // A disclosure authorization's base deny only withholds from recipients that need consent.
  if (path.depth === 0 && isDisclosureAuthorization(consent) && !request.consentRequired) return none;
  return { effect: 'deny', labelsGranted: [] };
}

export function evaluateConsents(consents: Consent[], request: ConsentRequest, target?: ConsentTarget): ConsentVerdict {
  const byCategory = new Map<string, { consent: Consent; verdict: Omit<ConsentVerdict, 'consents'> }>();
  for (const consent of consents) {
    const verdict = evaluateOne(consent, request, target);
    if (verdict.effect === 'none') continue;
    const category = codes(consent.category).map((coding) => coding.code).sort().join(',') || '-';
    const current = byCategory.get(category);
    if (!current || (consent.dateTime ?? '') > (current.consent.dateTime ?? '')) byCategory.set(category, { consent, verdict });
  }
  const deciding = [...byCategory.values()];
  const ref = ({ consent }: { consent: Consent }) => `Consent/${consent.id}/_history/${consent.meta?.versionId ?? '1'}`;
  const denies = deciding.filter((d) => d.verdict.effect === 'deny');
  if (denies.length) return { effect: 'deny', consents: denies.map(ref), labelsGranted: [] };
  if (deciding.length) return { effect: 'permit', consents: deciding.map(ref), labelsGranted: deciding.flatMap((d) => d.verdict.labelsGranted) };
  return { effect: 'none', consents: [], labelsGranted: [] };
}
