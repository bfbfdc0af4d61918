// The policy enforcement points of the FHIR engine, around the one decision function
// (src/policy/decide.ts). This is THE entry point for anything that moves data in or out —
// REST interactions today; subscriptions, outbound queues and bulk export later: build a guard for
// the recipient's Actor (or use the request's) and call gate(), narrowing(), filter(), redact() and
// checkWrite(). It never widens what decide() permits.
//   gate        data-independent: profile, purpose, interaction, SMART scope (403 on deny)
//   checkSearch data-independent: parameters, includes, chains, totals allowed by the profile (400)
//   narrowing   search filters that keep hidden patients' rows out of SQL, so paging and counts cannot see them
//   filter      each resource decided on its own (reads, search rows, includes, history versions)
//   redact      the profile's element allow-list (SUBSETTED when trimmed)
//   checkWrite  relationship, referral Task rules and transitions, patient and label immutability for writes
import type { Resource, Task } from 'fhir/r4';
import type { Actor } from '../policy/actor.ts';
import type { AuditTrail } from '../policy/audit-trail.ts';
import { decide, isUnrestricted, type Decision } from '../policy/decide.ts';
import { allowsAll, typeRule, type DisclosureProfile, type DisclosureProfiles, type RelationshipKind } from '../policy/disclosure-profile.ts';
import type { Interaction } from '../policy/interaction.ts';
import type { CachedFacts, PolicyFactsCache } from '../policy/policy-facts-cache.ts';
import { loadPolicyFacts, type PolicyFacts } from '../policy/policy-facts.ts';
import { redact } from '../policy/redact.ts';
import type { Queryable } from '../store/database.ts';
import { Params, idsSql } from '../store/search-sql.ts';
import { badRequest, FhirError, forbidden, notFound } from './errors.ts';
import { isPatientLinked, patientParams, patientsOf } from './patient-links.ts';
import { checkReferralTaskWrite } from './referral-task-rules.ts';
import { subscriptionsOwnedBy } from '../subscriptions/subscription-store.ts';
import type { SearchParameterRegistry } from './search/search-parameter-registry.ts';
import type { Filter, SearchRequest } from './search/search-request.ts';

/** Search result parameters every profile allows; their effect can only narrow or page. */
const CONTROL = new Set(['_count', '_cursor', '_sort', '_elements', '_summary', '_format', '_pretty', '_include', '_revinclude', '_total']);
/** Parameters that search other data or cannot be enforced: refused for partner profiles. */
const PROBES = ['_has', '_filter', '_text', '_content', '_list', '_query', '_contained', '_containedType', '_type'];

type ParseQuery = (type: string, query: URLSearchParams) => SearchRequest;

/** Above this many visible patients, a structural filter (ownership) replaces the explicit patient list where one exists. */
const LONG_PATIENT_LIST = 100;

export class DisclosureGuard {
  readonly actor: Actor;
  readonly #profiles: DisclosureProfiles;
  readonly #registry: SearchParameterRegistry;
  readonly trail: AuditTrail;
  readonly #cache: PolicyFactsCache;
  /** False inside write transactions: cached facts may be used there but not stored. */
  readonly #storeFacts: boolean;
  readonly #relatedThisRequest = new Map<string, Promise<CachedFacts>>();
  /** Policy types the surrounding write transaction has written (epochs not bumped until its end). */
  readonly #policyWrites: ReadonlySet<string> | undefined;

  constructor(
    actor: Actor,
    services: { profiles: DisclosureProfiles; registry: SearchParameterRegistry; cache: PolicyFactsCache },
    trail: AuditTrail,
    storeFacts: boolean,
    policyWrites?: ReadonlySet<string>,
  ) {
    this.actor = actor;
    this.#policyWrites = policyWrites;
    this.#profiles = services.profiles;
    this.#registry = services.registry;
    this.#cache = services.cache;
    this.trail = trail;
    this.#storeFacts = storeFacts;
  }

  /**
   * Every related patient's facts, from the cache. A read-only request checks the epochs once (its
   * narrowing, rows and includes share one answer); a write transaction re-checks each time, since
   * its own earlier writes may have changed them.
   */
  #related(q: Queryable, kind: RelationshipKind, withConsents: boolean): Promise<CachedFacts> {
    // After this transaction's own policy writes the epochs do not show them yet: read the facts afresh.
    if (!this.#storeFacts) return this.#cache.related(q, this.actor, kind, withConsents, false, Boolean(this.#policyWrites?.size));
    const key = `${kind}|${withConsents}`;
    let found = this.#relatedThisRequest.get(key);
    if (!found) this.#relatedThisRequest.set(key, (found = this.#cache.related(q, this.actor, kind, withConsents, true)));
    return found;
  }

  /** Facts about `patients` (and, when cached, every other related patient) for this actor's profile. */
  async #facts(q: Queryable, profile: DisclosureProfile | undefined, patients: string[]): Promise<PolicyFacts> {
    const kind = profile?.relationship ?? 'cbo';
    const withConsents = profile?.consent !== 'not-applied';
    if (kind !== 'all' && kind !== 'hie') return (await this.#related(q, kind, withConsents)).facts;
    return loadPolicyFacts(q, this.actor, kind, patients, withConsents);
  }

  /** Whether anything is withheld from this actor at all (hub-admin and internal jobs see everything). */
  get restricted(): boolean {
    return !isUnrestricted(this.actor);
  }

  #decide(interaction: Interaction, resourceType: string | undefined, resource?: Resource, facts?: PolicyFacts, operation?: string, patients?: string[], owned?: ReadonlySet<string>): Decision {
    const target = resource
      ? {
          resource,
          patients: patients ?? patientsOf(this.#registry, resource),
          patientLinked: isPatientLinked(resource.resourceType),
          ownedByRecipient: resource.id !== undefined && (owned?.has(resource.id) ?? false),
        }
      : undefined;
    return decide(this.#profiles, { actor: this.actor, interaction, resourceType, operation, target, facts });
  }

  /** PEP-0: may this actor do `interaction` (or operation `$name`) on `resourceType` at all? Throws 403 when not. */
  gate(interaction: Interaction, resourceType?: string, operationName?: string): Decision {
    this.trail.interaction(operationName ? `$${operationName}` : interaction);
    const decision = this.#decide(interaction, resourceType, undefined, undefined, operationName && `$${operationName}`);
    this.trail.decided(decision);
    if (!decision.permit) throw forbidden(`Access denied: ${decision.detail}`);
    return decision;
  }

  #profile(interaction: Interaction, resourceType: string): DisclosureProfile | undefined {
    return this.#decide(interaction, resourceType).profile;
  }

  /** PEP-0 for searches: every parameter, sort, include and total must be allowed by the profile. */
  checkSearch(type: string, query: URLSearchParams, parsed: SearchRequest): void {
    if (!this.restricted) return;
    const profile = this.#profile('search-type', type);
    const rule = profile && typeRule(profile, type);
    if (!profile || !rule) return;
    const refuse = (what: string, expression: string) => {
      throw badRequest(`${what} is not allowed for disclosure profile ${profile.id}`, expression, 'not-supported');
    };
    const allowed = (code: string) => allowsAll(rule.searchParams) || code === '_id' || (rule.searchParams ?? []).includes(code);
    for (const key of new Set(query.keys())) {
      const name = key.split(':')[0];
      if (PROBES.some((probe) => name === probe || name.startsWith(`${probe}:`)) || name.startsWith('_has')) {
        if (!(profile.allowChains && name.startsWith('_has'))) refuse(`Search parameter '${name}'`, key);
        continue;
      }
      // The whole key: a typed chain (`subject:Patient.name`) hides its dot behind the modifier.
      if (key.includes('.') && !profile.allowChains) refuse(`Chained parameter '${key}'`, key);
      if (CONTROL.has(name)) continue;
      if (!allowed(name.split('.')[0])) refuse(`Search parameter '${name}'`, key);
    }
    // A count runs in SQL before the per-resource decisions, so it could count rows those withhold.
    if (!profile.allowTotal && (query.has('_total') || parsed.summary === 'count' || parsed.count === 0)) {
      refuse('A total count (_total, _summary=count, _count=0)', query.has('_total') ? '_total' : parsed.summary === 'count' ? '_summary' : '_count');
    }
    for (const key of query.getAll('_sort').flatMap((value) => value.split(','))) {
      const code = key.trim().replace(/^-/, '');
      if (code && code !== '_lastUpdated' && !allowed(code)) refuse(`Sorting by '${code}'`, '_sort');
    }
    for (const include of parsed.includes) {
      const sourceRule = typeRule(profile, include.sourceType);
      const name = `${include.sourceType}:${include.code}`;
      if (include.iterate && !profile.allowChains) refuse(`_include:iterate`, '_include');
      if (!allowsAll(sourceRule?.includes) && !(sourceRule?.includes ?? []).includes(name)) refuse(`_include=${name}`, '_include');
    }
    for (const include of parsed.revincludes) {
      const name = `${include.sourceType}:${include.code}`;
      if (include.iterate && !profile.allowChains) refuse(`_revinclude:iterate`, '_revinclude');
      if (!allowsAll(rule.revincludes) && !(rule.revincludes ?? []).includes(name)) refuse(`_revinclude=${name}`, '_revinclude');
    }
  }

  /**
   * PEP-1: filters to add to a search (or conditional match) of `type` so that SQL sees only the
   * rows of patients this actor may see, and only what its SMART scope filters select.
   */
  async narrowing(q: Queryable, type: string, interaction: Interaction, parse: ParseQuery, given: Filter[] = []): Promise<Filter[]> {
    if (!this.restricted) return [];
    const decision = this.#decide(interaction, type);
    const profile = decision.profile;
    if (!profile) return [{ kind: 'id', ids: [] }];
    const filters = this.#scopeFilters(decision, type, parse);
    if (type === 'Subscription' && profile.relationship !== 'all') {
      filters.push({ kind: 'id', ids: [...(await subscriptionsOwnedBy(q, this.actor.organization))] });
    }
    const codes = patientParams(type);
    if (codes === undefined || profile.relationship === 'all') return filters;
    const { facts, memo } = await this.#related(q, profile.relationship, profile.consent !== 'not-applied');
    // The visible set depends on the facts and on purpose, interaction and type: memoized with the facts.
    const memoKey = `visible|${this.actor.purposeOfUse}|${interaction}|${type}`;
    let visible = memo.get(memoKey) as string[] | undefined;
    if (!visible) {
      visible = [...facts.patients.keys()].filter(
        (patient) => decide(this.#profiles, { actor: this.actor, interaction, resourceType: type, target: { patients: [patient], patientLinked: true }, facts }).permit,
      );
      memo.set(memoKey, visible);
    }
    // A search that already names its patients needs only those of them that are visible: a short
    // list plans and runs far better than the whole caseload.
    const named = namedPatients(type, codes, given);
    if (named) visible = visible.filter((patient) => named.has(patient));
    if (type === 'Task' && profile.relationship === 'cbo') {
      // A CBO sees only the Tasks it owns: that narrows as exactly as the patients do, and for a large
      // caseload far more cheaply; Tasks of patients it may not see are then withheld row by row.
      const organizationId = this.actor.organization.replace(/^Organization\//, '');
      if (!asksOwner(given, organizationId)) {
        filters.push({ kind: 'index', code: 'owner', match: { table: 'search_reference', anyOf: [{ targetType: 'Organization', targetId: organizationId }] } });
      }
      if (visible.length > LONG_PATIENT_LIST) return filters;
    }
    filters.push(type === 'Patient' ? { kind: 'id', ids: visible } : { kind: 'compartment', codes, patients: visible });
    return filters;
  }

  /** SMART v2 scope filters (`system/Observation.rs?category=...`): a row must meet one granted scope's filters. */
  #scopeFilters(decision: Decision, type: string, parse: ParseQuery): Filter[] {
    const scoped = decision.scopes.length > 0 && decision.scopes.every((scope) => scope.filters.length > 0);
    if (!scoped) return [];
    return [{ kind: 'or', anyOf: decision.scopes.map((scope) => ({ kind: 'and', allOf: parse(type, new URLSearchParams(scope.filters)).filters })) }];
  }

  /** PEP-2: the resources this actor may receive, in order (each decided on its own, with fresh facts). */
  async filter<T extends Resource>(q: Queryable, interaction: Interaction, resources: T[]): Promise<T[]> {
    if (!this.restricted) {
      for (const resource of resources) this.trail.disclosed(referenceOf(resource), patientsOf(this.#registry, resource));
      return resources;
    }
    if (resources.length === 0) return resources;
    const patients = resources.map((resource) => patientsOf(this.#registry, resource));
    const facts = await this.#facts(q, this.#profile(interaction, resources[0].resourceType), [...new Set(patients.flat())]);
    const owned = resources.some((resource) => resource.resourceType === 'Subscription') ? await subscriptionsOwnedBy(q, this.actor.organization) : undefined;
    return resources.filter((resource, i) => {
      const decision = this.#decide(interaction, resource.resourceType, resource, facts, undefined, patients[i], owned);
      this.trail.decided(decision);
      if (decision.permit) this.trail.disclosed(referenceOf(resource), patients[i]);
      return decision.permit;
    });
  }

  async permits(q: Queryable, interaction: Interaction, resource: Resource): Promise<boolean> {
    return (await this.filter(q, interaction, [resource])).length === 1;
  }

  /** Whether `id` of `type` meets the SMART scope filters (for reads; searches get them as filters). */
  async withinScopes(q: Queryable, type: string, id: string, parse: ParseQuery): Promise<boolean> {
    const filters = this.restricted ? this.#scopeFilters(this.#decide('read', type), type, parse) : [];
    if (filters.length === 0) return true;
    const p = new Params();
    const rows = await q.query(idsSql(type, [{ kind: 'id', ids: [id] }, ...filters], p), p.values);
    return rows.length > 0;
  }

  /** PEP-3: the resource as this actor may receive it. */
  redact<T extends Resource>(resource: T): T {
    if (!this.restricted || resource.resourceType === 'Bundle' || resource.resourceType === 'OperationOutcome') return resource;
    const profile = this.#profile('read', resource.resourceType) ?? this.#profile('search-type', resource.resourceType);
    return profile ? (redact(resource, profile, this.actor.organization) as T) : resource;
  }

  /**
   * For update, patch and delete: the current version must be one this actor may see; otherwise the
   * resource does not exist for it (the same 404 as an unknown id). Partner clients cannot create by PUT.
   */
  async requireVisible(q: Queryable, type: string, id: string, current: Resource | undefined): Promise<void> {
    if (!this.restricted) return;
    if (!current || !(await this.permits(q, 'read', current))) throw notFound(`${type}/${id} is not known`);
  }

  /** Checks a write of `after` (undefined: a delete) over `before` (undefined: a create) before anything is stored. */
  async checkWrite(q: Queryable, type: string, before: Resource | undefined, after: Resource | undefined): Promise<void> {
    if (!this.restricted || !after) return;
    const interaction: Interaction = before ? 'update' : 'create';
    const patients = patientsOf(this.#registry, after);
    const facts = await this.#facts(q, this.#profile(interaction, type), patients);
    const owned = type === 'Subscription' ? await subscriptionsOwnedBy(q, this.actor.organization) : undefined;
    const decision = this.#decide(interaction, type, after, facts, undefined, patients, owned);
    this.trail.decided(decision);
    if (!decision.permit) {
      throw forbidden(decision.dataDependent ? `You may not write ${type} data about this patient` : `Access denied: ${decision.detail}`);
    }
    if (type === 'Task') await checkReferralTaskWrite(q, this.actor.organization, before as Task | undefined, after as Task);
    if (!before) return;
    const previous = patientsOf(this.#registry, before);
    if (previous.length !== patients.length || previous.some((patient) => !patients.includes(patient))) {
      throw new FhirError(403, { code: 'forbidden', diagnostics: `${type} may not be moved to another patient`, expression: type });
    }
    const kept = after.meta?.security ?? [];
    for (const label of before.meta?.security ?? []) {
      if (!kept.some((other) => other.system === label.system && other.code === label.code)) {
        throw new FhirError(403, { code: 'forbidden', diagnostics: 'Security labels may not be removed or lowered', expression: `${type}.meta.security` });
      }
    }
  }
}

/**
 * The patients a search restricts itself to (`_id` on Patient; `patient=`/`subject=` with plain ids),
 * or undefined when its filters do not say.
 */
function namedPatients(type: string, codes: string[], filters: Filter[]): Set<string> | undefined {
  // R4's `patient` parameters are the subject restricted to Patients: the same references.
  const linking = codes.includes('subject') ? [...codes, 'patient'] : codes;
  for (const filter of filters) {
    if (type === 'Patient' && filter.kind === 'id') return new Set(filter.ids);
    if (filter.kind !== 'index' || filter.negate || !linking.includes(filter.code) || filter.match.table !== 'search_reference') continue;
    const ids = filter.match.anyOf.map((m) => (m.url === undefined && m.identifierValue === undefined && (m.targetType ?? 'Patient') === 'Patient' ? m.targetId : undefined));
    if (ids.every((id): id is string => id !== undefined)) return new Set(ids);
  }
  return undefined;
}

/** Whether the search already asks for exactly this owner (then the ownership filter would repeat it). */
function asksOwner(filters: Filter[], organizationId: string): boolean {
  return filters.some(
    (filter) =>
      filter.kind === 'index' && !filter.negate && filter.code === 'owner' && filter.match.table === 'search_reference' &&
      filter.match.anyOf.length === 1 && filter.match.anyOf[0].targetId === organizationId && (filter.match.anyOf[0].targetType ?? 'Organization') === 'Organization' &&
      filter.match.anyOf[0].url === undefined && filter.match.anyOf[0].identifierValue === undefined,
  );
}

const referenceOf = (resource: Resource) => `${resource.resourceType}/${resource.id}${resource.meta?.versionId ? `/_history/${resource.meta.versionId}` : ''}`;
