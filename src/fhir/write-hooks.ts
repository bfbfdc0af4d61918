// What features do inside a writing transaction (an outbox message for a referral step, events for
// subscriptions, a payer Group recompute): each registers a WriteHook, called by persistVersion after
// the version is written, so the FHIR write path does not depend on the features. The server's list
// is src/write-hooks.ts.
import type { Resource } from 'fhir/r4';
import type { StoredVersion } from '../store/resource-store.ts';
import type { Scope } from './scope.ts';

export interface WrittenVersion {
  type: string;
  id: string;
  /** The version before this one, if any (deleted or not). */
  previous: StoredVersion | undefined;
  /** The stored resource; undefined for a delete. */
  stored: Resource | undefined;
  versionId: number;
}

/** Runs in the writing transaction; throwing (a FhirError) rolls the write back. */
export type WriteHook = (scope: Scope, written: WrittenVersion) => Promise<void>;
