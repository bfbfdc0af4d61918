// The FHIR engine: the one entry point for every FHIR request, whatever carried it.
// Reads run on the database; each write, and each transaction bundle, in one database transaction.
import type { Bundle } from 'fhir/r4';
import type { Database } from '../store/database.ts';
import { processBatch } from './bundle/batch.ts';
import { readBundle } from './bundle/bundle-entry.ts';
import { processTransaction } from './bundle/transaction.ts';
import { capabilityStatement } from './capability-statement.ts';
import { refreshStoredSearchParameters } from './search/stored-search-parameters.ts';
import { systemActor } from '../policy/actor.ts';
import { AuditTrail } from '../policy/audit-trail.ts';
import { PolicyFactsCache } from '../policy/policy-facts-cache.ts';
import { DisclosureGuard } from './disclosure-guard.ts';
import { persistVersion } from './persist.ts';
import { bumpPolicyEpochs } from '../store/policy-epoch.ts';
import { newId } from './resource-identity.ts';
import { checkMethod, dispatch, isWrite, parseRoute, type Route } from './router.ts';
import type { EngineServices, Scope } from './scope.ts';
import type { FhirRequest, FhirResponse, RequestContext } from './types.ts';

export interface EngineOptions extends EngineServices {
  software: { name: string; version: string };
  /** The FHIR base URL for references and locations in internal work (BASE_URL, else the listening address). */
  fhirBase: string;
  /** Called with errors that are not FhirErrors inside batch entries (they become 500 entries). */
  onUnexpected: (error: unknown) => void;
}

export class FhirEngine {
  readonly #db: Database;
  readonly #options: EngineOptions;
  /** Relationship and consent facts per recipient, valid while the policy epochs stand still. */
  readonly #policyFacts = new PolicyFactsCache();

  constructor(db: Database, options: EngineOptions) {
    this.#db = db;
    this.#options = options;
  }

  async handle(request: FhirRequest, ctx: RequestContext, includeResourceInBundles = true): Promise<FhirResponse> {
    // Other server processes may have added SearchParameters: index and search with the same ones.
    await refreshStoredSearchParameters(this.#db, this.#options.searchParameters);
    const route = parseRoute(request.path);
    checkMethod(route, request.method);
    if (route.kind === 'capabilities') {
      return { status: 200, resource: capabilityStatement(ctx.fhirBase, this.#options.software, this.#options.searchParameters, this.#options.operations.all()) };
    }
    if (route.kind === 'bundle') return this.#bundle(request, ctx, includeResourceInBundles);
    return this.#run(request, route, ctx);
  }

  /**
   * Writes the request's AuditEvent (as the system, in its own transaction). Callers send the
   * response only after this succeeds: if the audit cannot be written, nothing is disclosed.
   */
  async recordAudit(ctx: RequestContext, request: { method: string; path: string; query: string; status: number }): Promise<void> {
    const event = ctx.audit.toAuditEvent(ctx.actor, { ...request, requestId: ctx.requestId });
    const system: RequestContext = { ...ctx, actor: { ...ctx.actor, role: 'system' } };
    await this.#transaction(system, (scope) => persistVersion(scope, 'AuditEvent', newId(), event, undefined));
  }

  /**
   * Runs `work` as the system in one database transaction (queue jobs), then writes its AuditEvent
   * named `operation`. Writes are validated like any other; the policy does not restrict the system.
   */
  async runAsSystem<T>(operation: string, hubOrganization: string, work: (scope: Scope) => Promise<T>): Promise<T> {
    const ctx: RequestContext = { requestId: `job-${newId()}`, actor: systemActor(hubOrganization), fhirBase: this.#options.fhirBase, audit: new AuditTrail() };
    ctx.audit.interaction(operation);
    const result = await this.#transaction(ctx, work);
    await this.recordAudit(ctx, { method: 'POST', path: operation, query: '', status: 200 });
    return result;
  }

  /** A scope outside any transaction: reads only, so nothing waits for a commit. */
  #scope(q: Scope['q'], ctx: RequestContext): Scope {
    return { q, ctx, services: this.#options, guard: this.#guard(ctx, true), warnings: [], afterCommit: (effect) => void effect(this.#db), policyWrites: new Set() };
  }

  #guard(ctx: RequestContext, storeFacts: boolean, policyWrites?: ReadonlySet<string>): DisclosureGuard {
    const services = { profiles: this.#options.disclosureProfiles, registry: this.#options.searchParameters, cache: this.#policyFacts };
    return new DisclosureGuard(ctx.actor, services, ctx.audit, storeFacts, policyWrites);
  }

  /** Runs `work` in one database transaction, then its after-commit effects. */
  async #transaction<T>(ctx: RequestContext, work: (scope: Scope) => Promise<T>): Promise<T> {
    const effects: ((db: Database) => Promise<void> | void)[] = [];
    const result = await this.#db.transaction(async (tx) => {
      const policyWrites = new Set<string>();
      const guard = this.#guard(ctx, false, policyWrites);
      const done = await work({ q: tx, ctx, services: this.#options, guard, warnings: [], afterCommit: (effect) => effects.push(effect), policyWrites });
      await bumpPolicyEpochs(tx, policyWrites);
      return done;
    });
    for (const effect of effects) await effect(this.#db);
    return result;
  }

  #run(request: FhirRequest, route: Route, ctx: RequestContext): Promise<FhirResponse> {
    if (isWrite(request.method) && route.kind !== 'search-post') {
      return this.#transaction(ctx, (scope) => dispatch(scope, request, route));
    }
    return dispatch(this.#scope(this.#db, ctx), request, route);
  }

  async #bundle(request: FhirRequest, ctx: RequestContext, includeResource: boolean): Promise<FhirResponse> {
    const { type, entries } = readBundle(request.body);
    let bundle: Bundle;
    if (type === 'transaction') {
      this.#guard(ctx, false).gate('transaction');
      bundle = await this.#transaction(ctx, (scope) => processTransaction(scope, entries, includeResource));
    } else {
      this.#guard(ctx, false).gate('batch');
      const run = (entry: FhirRequest) => {
        const route = parseRoute(entry.path);
        if (route.kind === 'bundle' || route.kind === 'capabilities') return this.handle(entry, ctx, includeResource);
        return this.#run(entry, route, ctx);
      };
      bundle = await processBatch(entries, ctx.fhirBase, run, includeResource, this.#options.onUnexpected);
    }
    return { status: 200, resource: bundle };
  }
}
