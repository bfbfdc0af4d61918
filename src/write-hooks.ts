// The features that react to writes in the writing transaction, in the order they run
// (src/fhir/write-hooks.ts). Every engine that writes for the server uses this list.
import type { Task } from 'fhir/r4';
import type { WriteHook } from './fhir/write-hooks.ts';
import { recordPayerGroupChange } from './measures/payer-groups/payer-group-events.ts';
import { recordReferralEvent } from './referrals/referral-events.ts';
import { recordSubscriptionEvents } from './subscriptions/subscription-events.ts';

/** A referral Task moving along becomes a referral-queue message. */
const referralSteps: WriteHook = async (scope, { type, previous, stored, versionId }) => {
  if (type !== 'Task' || !stored) return;
  const before = previous?.deleted ? undefined : (previous?.resource as Task | undefined);
  if (await recordReferralEvent(scope.q, scope.services.hubOrganization, before, stored as Task, versionId)) scope.afterCommit(() => scope.services.nudgeOutbox());
};

/** Topic matches for R5-backport subscriptions (and the checks of Subscription writes). */
const subscriptionEvents: WriteHook = (scope, { type, previous, stored, versionId }) => recordSubscriptionEvents(scope, type, previous, stored, versionId);

/** Coverage changes re-derive the payer's member Group (an outbox job, coalesced per payer). */
const payerGroups: WriteHook = (scope, { type, previous, stored }) => recordPayerGroupChange(scope, type, previous, stored);

export const featureWriteHooks: readonly WriteHook[] = [referralSteps, subscriptionEvents, payerGroups];
