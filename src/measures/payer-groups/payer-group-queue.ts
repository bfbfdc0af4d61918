// The 'payer-groups' queue: recomputes a payer's Group after Coverage writes marked it pending
// (payer-group-events.ts). The pending mark is cleared and the Group written in one transaction
// with the outbox id's processed record, so a redelivered message does nothing twice, and a
// Coverage write committed meanwhile marks the payer again and queues the next recompute.
import type { Config } from '../../config.ts';
import type { FhirEngine } from '../../fhir/engine.ts';
import { claimMessage } from '../../queue/processed-once.ts';
import type { QueueModule } from '../../queue/queue-module.ts';
import { PAYER_GROUP_QUEUE, type PayerGroupMessage } from './payer-group-events.ts';
import { syncPayerGroup } from './payer-group.ts';

export function payerGroupQueue(deps: { engine: FhirEngine; config: Config }): QueueModule<PayerGroupMessage> {
  return {
    name: PAYER_GROUP_QUEUE,
    attempts: 5,
    async process(job) {
      await deps.engine.runAsSystem('payer-group-sync', deps.config.hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: PAYER_GROUP_QUEUE, outboxId: job.outboxId }))) return;
        await scope.q.query(`DELETE FROM payer_group_pending WHERE payer = $1`, [job.payload.payer]);
        await syncPayerGroup(scope, job.payload.payer);
      });
    },
  };
}
