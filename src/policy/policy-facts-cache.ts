// Policy facts for every patient a recipient is related to, kept between requests while the policy
// epochs of the types they come from are unchanged. Search narrowing needs the whole set on every
// search; loading it (relationships plus every Consent body) costs far more than the search itself.
//
// Correctness: the epochs are read before the facts, so facts are never older than the epochs they
// are stored under; entries are stored only outside write transactions (a rolled-back transaction
// must not leave facts under an epoch value that a later commit reuses); and a Consent, Task,
// Coverage or ServiceRequest write bumps its epoch in its own transaction, so the first request after
// it commits reloads. The CBO grace period runs on the clock: an entry is also dropped after
// MAX_AGE_MS so that a relationship expires on time.
import type { Queryable } from '../store/database.ts';
import { readPolicyEpochs } from '../store/policy-epoch.ts';
import type { Actor } from './actor.ts';
import type { RelationshipKind } from './disclosure-profile.ts';
import { loadPolicyFacts, type PolicyFacts } from './policy-facts.ts';

const SOURCES: Partial<Record<RelationshipKind, string[]>> = {
  cbo: ['Consent', 'Task'],
  plan: ['Consent', 'Coverage'],
  // (PractitionerRole changes are not tracked: a requester role re-assigned to another organization takes up to MAX_AGE_MS.)
  'referral-source': ['Consent', 'ServiceRequest', 'Task'],
  // hie relationships follow any resource the exchange created: not cached.
};
const MAX_AGE_MS = 60_000;
const MAX_ENTRIES = 1_000;

interface Entry {
  epochs: string;
  facts: PolicyFacts;
  loadedAt: number;
  /** Memoized per-request-shape results over these facts (e.g. the visible patients of a search). */
  memo: Map<string, unknown>;
}

export interface CachedFacts {
  facts: PolicyFacts;
  memo: Map<string, unknown>;
}

export class PolicyFactsCache {
  readonly #entries = new Map<string, Entry>();

  /**
   * Facts for every patient `actor` is related to under `kind`. `store` is false inside write
   * transactions: the entry is then used if valid but never written. `fresh` skips the cache (a
   * transaction that has written policy types whose epochs it bumps only at its end).
   */
  async related(q: Queryable, actor: Actor, kind: RelationshipKind, withConsents: boolean, store: boolean, fresh = false): Promise<CachedFacts> {
    const sources = SOURCES[kind];
    if (!sources || fresh) return { facts: await loadPolicyFacts(q, actor, kind, undefined, withConsents), memo: new Map() };
    const key = `${kind}|${actor.organization}|${withConsents}`;
    const epochs = await readPolicyEpochs(q, sources);
    const cached = this.#entries.get(key);
    if (cached && cached.epochs === epochs && Date.now() - cached.loadedAt < MAX_AGE_MS) return cached;
    const facts = await loadPolicyFacts(q, actor, kind, undefined, withConsents);
    const entry: Entry = { epochs, facts, loadedAt: Date.now(), memo: new Map() };
    if (store) {
      this.#entries.delete(key);
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, entry);
    }
    return entry;
  }
}
