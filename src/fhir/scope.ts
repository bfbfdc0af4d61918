// What an interaction runs with: a connection (the database, or the open transaction), the
// request context, and the engine's shared services.
import type { Queryable } from '../store/database.ts';
import type { DisclosureProfiles } from '../policy/disclosure-profile.ts';
import type { ProfileValidator } from '../validation/profile-validator.ts';
import type { SchemaValidator } from '../validation/schema-validator.ts';
import type { DisclosureGuard } from './disclosure-guard.ts';
import type { OperationRegistry } from './operations/operation-registry.ts';
import type { SearchParameterRegistry } from './search/search-parameter-registry.ts';
import type { IssueInput } from './errors.ts';
import type { RequestContext } from './types.ts';
import type { WriteHook } from './write-hooks.ts';

export interface EngineServices {
  validator: SchemaValidator;
  profileValidator: ProfileValidator;
  searchParameters: SearchParameterRegistry;
  maxPageSize: number;
  disclosureProfiles: DisclosureProfiles;
  operations: OperationRegistry;
  /** The hub's own Organization reference (HUB_ORGANIZATION). */
  hubOrganization: string;
  /** Tells the outbox dispatcher that a transaction committed messages (no-op without queues). */
  nudgeOutbox: () => void;
  /** What features do inside each writing transaction (src/write-hooks.ts for the server). */
  writeHooks: readonly WriteHook[];
}

export interface Scope {
  q: Queryable;
  ctx: RequestContext;
  services: EngineServices;
  /** The policy enforcement points for this request's actor. */
  guard: DisclosureGuard;
  /** Validation warnings of the interaction running (returned with its response's OperationOutcome). */
  warnings: IssueInput[];
  /**
   * Runs `effect` once the surrounding database transaction has committed (never after a rollback),
   * before the response goes out. It gets the database, since the transaction is over by then.
   */
  afterCommit(effect: (db: Queryable) => Promise<void> | void): void;
  /**
   * The policy-relevant resource types (POLICY_TYPES) this transaction wrote. Their epochs are
   * bumped together at its end, in a fixed order (src/store/policy-epoch.ts), not write by write.
   */
  policyWrites: Set<string>;
}
