// The 'hl7-inbox' queue: one job per stored message (written with it, src/hl7/hl7-inbox.ts), mapped
// into FHIR by hl7-processing.ts. Several jobs run at once; one patient's messages serialize there.
import type { QueueModule } from '../queue/queue-module.ts';
import { HL7_QUEUE, type Hl7Job } from './hl7-inbox.ts';
import { processInboxMessage, type Hl7ProcessingDeps } from './hl7-processing.ts';

export function hl7Queue(deps: Hl7ProcessingDeps): QueueModule<Hl7Job> {
  return {
    name: HL7_QUEUE,
    attempts: 8,
    backoffMs: 500,
    concurrency: 4,
    process: ({ outboxId, payload }) => processInboxMessage(deps, payload.inboxId, outboxId),
  };
}
