// The write hook of payer Groups, called by persistVersion (src/fhir/persist.ts) inside the writing
// transaction: a Coverage write that can change who a payer's members are (status, payor,
// beneficiary, period) marks each payer concerned as pending and, when it was not pending already,
// writes one outbox message for the 'payer-groups' queue. A burst of Coverage writes (an enrollment
// file) thus costs one Group recompute per payer, not one per Coverage.
import type { Coverage, Resource } from 'fhir/r4';
import type { Scope } from '../../fhir/scope.ts';
import { enqueue } from '../../queue/outbox.ts';
import type { StoredVersion } from '../../store/resource-store.ts';

export const PAYER_GROUP_QUEUE = 'payer-groups';

export interface PayerGroupMessage {
  /** The payer Organization reference, e.g. `Organization/acme-health`. */
  payer: string;
}

const PAYER = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;

const payersOf = (coverage: Coverage | undefined): string[] =>
  (coverage?.payor ?? []).map((payor) => payor.reference).filter((reference): reference is string => typeof reference === 'string' && PAYER.test(reference));

/** What membership depends on: two versions with the same key leave every payer Group as it was. */
const membershipKey = (coverage: Coverage | undefined) =>
  coverage ? JSON.stringify([coverage.status, coverage.beneficiary?.reference, payersOf(coverage), coverage.period ?? null]) : '';

export async function recordPayerGroupChange(scope: Scope, type: string, previous: StoredVersion | undefined, stored: Resource | undefined): Promise<void> {
  if (type !== 'Coverage') return;
  const before = previous && !previous.deleted ? (previous.resource as Coverage) : undefined;
  const after = stored as Coverage | undefined;
  if (membershipKey(before) === membershipKey(after)) return;
  let queued = false;
  for (const payer of new Set([...payersOf(before), ...payersOf(after)])) {
    const marked = await scope.q.query(`INSERT INTO payer_group_pending (payer) VALUES ($1) ON CONFLICT DO NOTHING RETURNING payer`, [payer]);
    if (marked.length === 0) continue; // a recompute is already queued; it will read this write
    await enqueue<PayerGroupMessage>(scope.q, { queue: PAYER_GROUP_QUEUE, payload: { payer } });
    queued = true;
  }
  if (queued) scope.afterCommit(() => scope.services.nudgeOutbox());
}
