// Which Task writes move a referral along, turned into outbox messages in the writing transaction
// (so a rolled-back write sends nothing, and a committed one is never lost):
//   a source Task (owned by the hub, from someone else) created or changing status → 'source'
//   a hub Task (requested by the hub, part of a source Task) changing status          → 'hub-task'
// The 'referrals' queue (referral-queue.ts) runs the matching workflow step.
import type { Task } from 'fhir/r4';
import { enqueue } from '../queue/outbox.ts';
import type { Queryable } from '../store/database.ts';

export const REFERRAL_QUEUE = 'referrals';

export interface ReferralEvent {
  kind: 'source' | 'hub-task';
  taskId: string;
  status: Task['status'];
}

/** Writes the outbox message a Task write causes, if any; returns whether it did. */
export async function recordReferralEvent(q: Queryable, hubOrganization: string, before: Task | undefined, after: Task, versionId: number): Promise<boolean> {
  if (before && before.status === after.status) return false;
  const isSource = after.owner?.reference === hubOrganization && after.requester?.reference !== hubOrganization;
  const isHubTask = after.requester?.reference === hubOrganization && (after.partOf?.length ?? 0) > 0 && before !== undefined;
  if (!isSource && !isHubTask) return false;
  const event: ReferralEvent = { kind: isSource ? 'source' : 'hub-task', taskId: after.id!, status: after.status };
  return (await enqueue(q, { queue: REFERRAL_QUEUE, payload: event, dedupeKey: `referral:Task/${after.id}/_history/${versionId}` })) !== undefined;
}
