// The policy decision point. Every path that moves data in or out of the server asks decide();
// it is pure (no I/O): the facts it needs (relationships, consents) are loaded beforehand by
// policy-facts.ts and passed in. Deny by default; four layers must all permit:
//   1. the disclosure profile for role × purpose of use × resource type (and the SMART scopes),
//   2. the recipient's relationship with each patient the data is about,
//   3. the patient's privacy consents,
//   4. the resource's security labels against the profile's ceiling.
// Called without a target it is the data-independent gate (may this client do this interaction on
// this type at all?); called with one it decides a concrete resource (or a patient, for narrowing).
import type { Coding, Group, Resource, Task } from 'fhir/r4';
import type { Actor } from './actor.ts';
import { clinicalDate, within } from './clinical-date.ts';
import { evaluateConsents } from './consent-evaluation.ts';
import { typeRule, type DisclosureProfile, type DisclosureProfiles } from './disclosure-profile.ts';
import { SMART_PERMISSION, type Interaction } from './interaction.ts';
import type { PolicyFacts } from './policy-facts.ts';
import { labelsBeyond, labelCovers } from './security-labels.ts';
import { parseScope, scopesFor, type SmartScope } from './smart-scope.ts';

export type { Interaction } from './interaction.ts';

export type ReasonCode =
  | 'ADMIN' | 'PERMIT' | 'NO_PURPOSE' | 'NO_PROFILE' | 'INTERACTION' | 'SCOPE'
  | 'NO_SUBJECT' | 'NO_RELATIONSHIP' | 'READ_ONLY' | 'DATA_PERIOD' | 'CONSENT' | 'CONSENT_REQUIRED' | 'LABEL';

export interface DecisionTarget {
  /** The resource decided; omitted when deciding whether a patient's data may be disclosed at all. */
  resource?: Resource;
  /** The patients the data is about (ids). */
  patients: string[];
  /** Whether the type belongs to the patient compartment (then data without a patient is withheld). */
  patientLinked: boolean;
  /** For resources a client owns rather than a patient (Subscription): whether the recipient's organization owns it. */
  ownedByRecipient?: boolean;
}

export interface DecisionRequest {
  actor: Actor;
  interaction: Interaction;
  resourceType?: string;
  /** For interaction `operation`: its name with the `$`. */
  operation?: string;
  target?: DecisionTarget;
  facts?: PolicyFacts;
}

export interface Decision {
  permit: boolean;
  reason: ReasonCode;
  /** Safe to show the caller only when the denial is data-independent. */
  detail: string;
  /** Data-dependent denials must look like absence (404, left out of a Bundle). */
  dataDependent: boolean;
  profile?: DisclosureProfile;
  /** Consents that decided, as versioned references (for the audit). */
  consents: string[];
  /** The granted SMART scopes that allow the interaction (their ?filters narrow searches). */
  scopes: SmartScope[];
}

const ACTIONS: Partial<Record<Interaction, string[]>> = {
  create: ['collect'],
  update: ['correct'],
  patch: ['correct'],
  delete: ['correct'],
};
const WRITES: ReadonlySet<Interaction> = new Set(['create', 'update', 'patch', 'delete']);

const deny = (reason: ReasonCode, detail: string, dataDependent: boolean, profile?: DisclosureProfile): Decision => ({
  permit: false, reason, detail, dataDependent, profile, consents: [], scopes: [],
});

/** Parsed once per token: verified tokens map to one Actor object (TokenService caches them). */
const parsedScopes = new WeakMap<readonly string[], SmartScope[]>();
function grantedScopes(actor: Actor): SmartScope[] {
  let scopes = parsedScopes.get(actor.scopes);
  if (!scopes) {
    scopes = actor.scopes.map(parseScope).filter((scope): scope is SmartScope => scope !== undefined);
    parsedScopes.set(actor.scopes, scopes);
  }
  return scopes;
}

export const isUnrestricted = (actor: Actor) => actor.role === 'hub-admin' || actor.role === 'system';

export function decide(profiles: DisclosureProfiles, request: DecisionRequest): Decision {
  const { actor, interaction, resourceType, target } = request;
  if (isUnrestricted(actor) || interaction === 'capabilities') {
    return { permit: true, reason: 'ADMIN', detail: `${actor.role} may do everything`, dataDependent: false, consents: [], scopes: [] };
  }
  if (!actor.purposeOfUse) return deny('NO_PURPOSE', 'the access token carries no purpose of use', false);
  const profile = profiles.find(actor.role, actor.purposeOfUse);
  if (!profile) return deny('NO_PROFILE', `no disclosure profile for role ${actor.role} with purpose of use ${actor.purposeOfUse}`, false);
  if (interaction === 'transaction' || interaction === 'batch') {
    return { permit: true, reason: 'PERMIT', detail: 'entries are decided one by one', dataDependent: false, profile, consents: [], scopes: [] };
  }
  if (interaction === 'operation') {
    const allowed = profile.operations ?? [];
    if (!request.operation || !(allowed.includes('*') || allowed.includes(request.operation))) {
      return deny('INTERACTION', `disclosure profile ${profile.id} does not allow ${request.operation ?? 'this operation'}`, false, profile);
    }
    return { permit: true, reason: 'PERMIT', detail: 'operation allowed', dataDependent: false, profile, consents: [], scopes: [] };
  }
  const type = resourceType ?? '*';
  const rule = resourceType ? typeRule(profile, resourceType) : undefined;
  if (!rule || !rule.interactions.includes(interaction)) {
    return deny('INTERACTION', `disclosure profile ${profile.id} does not allow ${interaction}${resourceType ? ` on ${resourceType}` : ''}`, false, profile);
  }
  const permission = SMART_PERMISSION[interaction];
  const granted = grantedScopes(actor);
  const scopes = permission ? scopesFor(granted, type, permission) : [];
  if (permission && scopes.length === 0) {
    return deny('SCOPE', `the access token's scopes do not allow ${interaction} on ${type} (needs system/${type}.${permission})`, false, profile);
  }
  if (!target) return { permit: true, reason: 'PERMIT', detail: 'gate passed', dataDependent: false, profile, consents: [], scopes };
  return decideData(profile, request, target, scopes);
}

/** Layers 2–4 for concrete data. Every denial here is data-dependent. */
function decideData(profile: DisclosureProfile, request: DecisionRequest, target: DecisionTarget, scopes: SmartScope[]): Decision {
  const { actor, interaction } = request;
  const facts = request.facts;
  const hidden = (reason: ReasonCode, detail: string) => deny(reason, detail, true, profile);
  // Inbound submissions by a data source need no prior relationship: sending the data creates it.
  // (Nor a local patient: a referral may name its patient on the sender's server, and the hub fetches it.)
  const inbound = interaction === 'create' && (profile.relationship === 'referral-source' || profile.relationship === 'hie');
  if (target.patientLinked && target.patients.length === 0 && profile.relationship !== 'all' && !inbound) {
    return hidden('NO_SUBJECT', 'the data names no patient');
  }
  const resource = target.resource;
  // A partner's Subscriptions (endpoints, headers) are its own business: others' do not exist for it.
  if (resource?.resourceType === 'Subscription' && interaction !== 'create' && profile.relationship !== 'all' && !target.ownedByRecipient) {
    return hidden('NO_RELATIONSHIP', 'the subscription belongs to another organization');
  }
  // A plan's member roster (the hub's payer Group, managingEntity = the plan) is its own enrollment
  // data: disclosed to the plan as a whole, whatever a member's consent says about their data
  // (which each export and search still decides). Another organization's Group is not the plan's.
  if (resource?.resourceType === 'Group' && profile.relationship === 'plan') {
    return (resource as Group).managingEntity?.reference === actor.organization
      ? { permit: true, reason: 'PERMIT', detail: 'the payer Group of the recipient', dataDependent: false, profile, consents: [], scopes }
      : hidden('NO_RELATIONSHIP', 'the Group is managed by another organization');
  }
  // A CBO sees the referral Tasks it owns, never another CBO's Task for the same patient or request.
  if (profile.relationship === 'cbo' && resource?.resourceType === 'Task' && (resource as Task).owner?.reference !== actor.organization) {
    return hidden('NO_RELATIONSHIP', 'the Task is owned by another organization');
  }
  const date = resource ? clinicalDate(resource) : undefined;
  const consents: string[] = [];
  const labelsGranted: Coding[] = [];
  for (const patient of target.patients) {
    const known = facts?.patients.get(patient);
    if (profile.relationship !== 'all' && !inbound) {
      if (!known?.relationship) return hidden('NO_RELATIONSHIP', `no ${profile.relationship} relationship with the patient`);
      if (WRITES.has(interaction) && known.relationship === 'read-only') return hidden('READ_ONLY', 'the relationship has ended (read-only grace period)');
      if (profile.relationship === 'plan' && date && !(known.coveragePeriods ?? []).some((period) => within(date, period))) {
        return hidden('DATA_PERIOD', 'the data is dated outside the coverage');
      }
    }
    if (profile.consent === 'not-applied') continue;
    const verdict = evaluateConsents(
      known?.consents ?? [],
      {
        organization: actor.organization,
        purposeOfUse: actor.purposeOfUse ?? '',
        actions: ACTIONS[interaction] ?? ['access', 'disclose'],
        consentRequired: profile.consent === 'required',
        now: facts?.now ?? new Date(),
      },
      resource ? { resource, date } : undefined,
    );
    consents.push(...verdict.consents);
    if (verdict.effect === 'deny') return { ...hidden('CONSENT', 'a patient consent denies this disclosure'), consents: verdict.consents };
    if (verdict.effect === 'none' && profile.consent === 'required' && !inbound) return hidden('CONSENT_REQUIRED', 'no consent permits this recipient');
    labelsGranted.push(...verdict.labelsGranted);
  }
  if (resource) {
    const beyond = labelsBeyond(resource, profile.confidentialityCeiling, profile.excludedSensitivity);
    if (beyond.some((label) => !labelsGranted.some((granted) => labelCovers(granted, label)))) {
      return { ...hidden('LABEL', 'the data carries security labels beyond the profile'), consents };
    }
  }
  return { permit: true, reason: 'PERMIT', detail: 'permitted', dataDependent: false, profile, consents, scopes };
}
