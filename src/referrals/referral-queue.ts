// The 'referrals' queue: runs the workflow step a referral event calls for (referral-events.ts →
// referral-workflow.ts), as the system, in one transaction with its idempotency record, so a
// redelivered job finds the step done and a failed one leaves nothing behind and is retried.
//
// referralQueues() is every queue module of the referral exchange, as the server registers them:
//   referrals        workflow steps (this file)
//   referral-fetch   a referral whose focus is on the source's server (remote-referral.ts)
//   cbo-push         the hub's Task to a full CBO's server; cancel and reminder there (cbo-push.ts)
//   cbo-poll         following a pushed Task on the CBO's server, a delayed job per poll (cbo-push.ts)
//   sla-timers       reminder, re-route and no-update flag, delayed jobs (sla-timers.ts)
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { FhirEngine } from '../fhir/engine.ts';
import type { SearchParameterRegistry } from '../fhir/search/search-parameter-registry.ts';
import { DisclosureProfiles } from '../policy/disclosure-profile.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Database } from '../store/database.ts';
import { cboPollQueue, cboPushQueue } from './cbo-push.ts';
import { PartnerClients } from './partner-client.ts';
import { REFERRAL_QUEUE, type ReferralEvent } from './referral-events.ts';
import { onHubTaskChanged, onSourceChanged } from './referral-workflow.ts';
import { referralFetchQueue } from './remote-referral.ts';
import { slaTimersQueue, type SlaSettings } from './sla-timers.ts';
import { claimMessage } from '../queue/processed-once.ts';

export function referralQueue(engine: FhirEngine, hubOrganization: string, options: { sla?: SlaSettings } = {}): QueueModule<ReferralEvent> {
  return {
    name: REFERRAL_QUEUE,
    attempts: 5,
    backoffMs: 500,
    // Several referrals at once; steps of one referral serialize on its source Task's row lock (referral-workflow.ts).
    concurrency: 4,
    async process({ outboxId, payload }) {
      await engine.runAsSystem('$referral-step', hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: REFERRAL_QUEUE, outboxId }))) return; // done by an earlier delivery
        const step = { scope, hubOrganization, sla: options.sla };
        if (payload.kind === 'source') await onSourceChanged(step, payload.taskId);
        else await onHubTaskChanged(step, payload.taskId);
      });
    },
  };
}

export interface ReferralQueueDeps {
  engine: FhirEngine;
  db: Database;
  config: Pick<Config, 'hubOrganization' | 'allowHttpEndpoints' | 'referrals'>;
  /** The hub's FHIR base URL (references the CBO follows back to the hub). */
  fhirBase: string;
  searchParameters: SearchParameterRegistry;
  logger: Logger;
  disclosureProfiles?: DisclosureProfiles;
  partners?: PartnerClients;
}

/** Every queue module of the referral exchange; register them all in one server process. */
export function referralQueues(deps: ReferralQueueDeps): QueueModule<unknown>[] {
  const { config } = deps;
  const settings = config.referrals;
  const hubOrganization = config.hubOrganization;
  const partners = deps.partners ?? new PartnerClients(settings.partners, { allowHttp: config.allowHttpEndpoints, timeoutMs: settings.partnerTimeoutMs });
  const retry = { attempts: settings.partnerAttempts, backoffMs: settings.partnerBackoffMs };
  const cbo = {
    engine: deps.engine,
    db: deps.db,
    hubOrganization,
    fhirBase: deps.fhirBase,
    partners,
    disclosureProfiles: deps.disclosureProfiles ?? DisclosureProfiles.load(),
    searchParameters: deps.searchParameters,
    pollSeconds: settings.cboPollSeconds,
    logger: deps.logger,
    ...retry,
  };
  return [
    referralQueue(deps.engine, hubOrganization, { sla: settings.sla }),
    referralFetchQueue({ engine: deps.engine, db: deps.db, hubOrganization, partners, sla: settings.sla, ...retry }),
    cboPushQueue(cbo),
    cboPollQueue(cbo),
    slaTimersQueue({ engine: deps.engine, hubOrganization, settings: settings.sla }),
  ] as QueueModule<unknown>[];
}
