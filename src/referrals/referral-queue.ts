// The 'referrals' queue: runs the workflow step a referral event calls for (referral-events.ts →
// referral-workflow.ts), as the system, in one transaction with its idempotency record, so a
// redelivered job finds the step done and a failed one leaves nothing behind and is retried.
import type { FhirEngine } from '../fhir/engine.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import { REFERRAL_QUEUE, type ReferralEvent } from './referral-events.ts';
import { onHubTaskChanged, onSourceChanged } from './referral-workflow.ts';

export function referralQueue(engine: FhirEngine, hubOrganization: string): QueueModule<ReferralEvent> {
  return {
    name: REFERRAL_QUEUE,
    attempts: 5,
    backoffMs: 500,
    async process({ outboxId, payload }) {
      await engine.runAsSystem('$referral-step', hubOrganization, async (scope) => {
        const claimed = await scope.q.query(
          `INSERT INTO outbox_processed (queue, outbox_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING outbox_id`,
          [REFERRAL_QUEUE, outboxId],
        );
        if (claimed.length === 0) return; // done by an earlier delivery
        const step = { scope, hubOrganization };
        if (payload.kind === 'source') await onSourceChanged(step, payload.taskId);
        else await onHubTaskChanged(step, payload.taskId);
      });
    },
  };
}
