// The `claims` queue: every document bound for a payer (a Claim, an Invoice, a report's
// MeasureReport, with attachments such as its CSV) leaves through it, to the payer's billing
// Endpoint: FHIR REST, SFTP or a drop folder.
//
// Each try (1) reads the document, the payer's channel and the patient's consents fresh and asks
// decide() whether the payer may receive it now (claims and invoices for payment, HPAYMT; reports
// for operations, as aggregates); a denial is not retried: the document is marked withheld-consent
// (a consent said no) or failed (no coverage, no profile) and nothing leaves; (2) audits the
// disclosure, then sends, outside any database transaction; (3) records the message as processed
// and the document as sent, in one transaction. A failed send is retried with backoff; a permanent
// failure (the payer refused it, the channel cannot be used) or the last try marks the document
// failed with the reason and dead-letters the job with it. Resends never duplicate at the payer:
// conditional create on the document's identifier, fixed file names.
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { Binary, Claim, MeasureReport, Resource } from 'fhir/r4';
import type { Config } from '../../config.ts';
import type { FhirEngine } from '../../fhir/engine.ts';
import type { Scope } from '../../fhir/scope.ts';
import type { RequestContext } from '../../fhir/types.ts';
import { AuditTrail } from '../../policy/audit-trail.ts';
import { redact } from '../../policy/redact.ts';
import { claimMessage, wasProcessed } from '../../queue/processed-once.ts';
import type { QueueModule } from '../../queue/queue-module.ts';
import { OutboundUrlError, PartnerClients, PartnerHttpError } from '../../referrals/partner-client.ts';
import type { Database } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { CLAIMS_QUEUE, type PayerDeliveryMessage } from '../billing-conventions.ts';
import { allowsMemberLevelReports, decideDelivery, payerActor } from './delivery-decision.ts';
import { setDeliveryState, type DeliveryState } from './delivery-state.ts';
import { sendToDropFolder, sendToSftp } from './file-senders.ts';
import { sendToFhir } from './fhir-sender.ts';
import { aggregateOnly, attachmentFile, conditionalCriteria, documentFile, documentKey, forPayer, type OutgoingFile, type OutgoingResource } from './outgoing-package.ts';
import { ChannelError, payerChannel, type PayerChannel } from './payer-channel.ts';

/** Renders a Claim as an 837P interchange (the claim builder's renderer; injected so delivery does not own it). */
export type Render837p = (scope: Scope, claim: Claim) => Promise<string> | string;

export interface ClaimsQueueOptions {
  engine: FhirEngine;
  db: Database;
  config: Pick<Config, 'hubOrganization' | 'allowHttpEndpoints' | 'baseUrl' | 'port' | 'claimsDelivery' | 'referrals'>;
  /** Needed for claims to file channels (SFTP, drop folder). */
  render837p?: Render837p;
}

const DOCUMENT_TYPE: Record<PayerDeliveryMessage['kind'], string> = { claim: 'Claim', invoice: 'Invoice', report: 'MeasureReport' };

type Prepared =
  | { kind: 'send'; channel: PayerChannel; resources: OutgoingResource[]; files: OutgoingFile[]; ctx: RequestContext; path: string }
  | { kind: 'withheld'; state: DeliveryState; reason: string; ctx: RequestContext; path: string }
  | { kind: 'gone' };

/** A delivery that cannot succeed by retrying (dead-lettered at once, with the reason). */
class UndeliverableError extends Error {
  override name = 'UndeliverableError';
}

const referenceParts = (reference: string, expected: string) => {
  const match = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (!match || match[1] !== expected) throw new UndeliverableError(`The message names "${reference}", not a ${expected}`);
  return { type: match[1], id: match[2] };
};

export function claimsQueue(options: ClaimsQueueOptions): QueueModule<PayerDeliveryMessage> {
  const { engine, db, config } = options;
  const hub = config.hubOrganization;
  const settings = config.claimsDelivery;
  const fhirBase = `${config.baseUrl ?? `http://localhost:${config.port}`}/fhir`;
  const clients = new PartnerClients(config.referrals.partners, { allowHttp: config.allowHttpEndpoints, timeoutMs: settings.timeoutMs });

  async function prepare(scope: Scope, message: PayerDeliveryMessage): Promise<Prepared> {
    const { type, id } = referenceParts(message.reference, DOCUMENT_TYPE[message.kind]);
    const stored = await readCurrent(scope.q, type, id);
    if (!stored || stored.deleted) return { kind: 'gone' };
    const document = stored.resource as Resource;
    const actor = payerActor(message.payer, message.kind);
    const trail = new AuditTrail();
    trail.interaction('$payer-delivery');
    const ctx: RequestContext = { requestId: `deliver-${randomUUID()}`, actor, fhirBase, audit: trail };
    const path = `${type}/${id}`;
    const { decision, patients } = await decideDelivery(scope.q, scope.services.disclosureProfiles, actor, document, message.kind === 'report');
    trail.decided(decision);
    if (!decision.permit) {
      // A consent that says no is the patient's choice; anything else (no coverage with this payer,
      // no profile) is a fault for staff to fix. Neither leaves, neither is retried.
      const state: DeliveryState = decision.reason === 'CONSENT' ? 'withheld-consent' : 'failed';
      return { kind: 'withheld', state, reason: `Not disclosed to ${message.payer}: ${decision.detail}`, ctx, path };
    }
    const channel = await payerChannel(scope.q, message.payer, { allowHttp: config.allowHttpEndpoints, dropRoot: settings.dropRoot });
    trail.disclosed(path, patients);
    const attachments: Binary[] = [];
    for (const reference of message.attachments ?? []) {
      const attachment = referenceParts(reference, 'Binary');
      const binary = await readCurrent(scope.q, 'Binary', attachment.id);
      if (!binary || binary.deleted) throw new UndeliverableError(`${reference} (an attachment of ${path}) does not exist`);
      attachments.push(binary.resource as Binary);
      trail.disclosed(reference, patients);
    }
    const key = documentKey(document);
    // Minimum necessary: only the elements the payer's profile releases, and a report as an aggregate
    // unless that profile allows member-level detail.
    const outgoing = message.kind === 'report' && !allowsMemberLevelReports(scope.services.disclosureProfiles) ? aggregateOnly(forPayer(document) as MeasureReport) : forPayer(document);
    const released = decision.profile ? redact(outgoing, decision.profile, actor.organization) : outgoing;
    if (channel.kind === 'fhir') {
      const resources: OutgoingResource[] = [
        { resource: released, ifNoneExist: conditionalCriteria(document) },
        // Attachments keep a fixed id at the payer (hub-prefixed), so a resend replaces them.
        ...attachments.map((binary) => ({ resource: { ...forPayer(binary), id: `cch-${binary.id}` } as Resource })),
      ];
      return { kind: 'send', channel, resources, files: [], ctx, path };
    }
    if (message.kind === 'claim' && !options.render837p) throw new UndeliverableError('No 837P renderer is registered: claims cannot go to file channels');
    const x12 = message.kind === 'claim' ? await options.render837p!(scope, document as Claim) : undefined;
    const files = [documentFile(message.kind, key, released, x12), ...attachments.map((binary, index) => attachmentFile(key, index, binary))];
    return { kind: 'send', channel, resources: [], files, ctx, path };
  }

  async function send(prepared: Extract<Prepared, { kind: 'send' }>): Promise<string[]> {
    const { channel } = prepared;
    switch (channel.kind) {
      case 'fhir':
        return sendToFhir(clients, channel.baseUrl, prepared.resources);
      case 'sftp':
        return sendToSftp(channel, settings.sftpCredentials[channel.endpointId], prepared.files, settings.timeoutMs);
      case 'drop-folder':
        return sendToDropFolder(channel, prepared.files);
    }
  }

  const markState = (reference: string, state: DeliveryState, reason: string) =>
    engine.runAsSystem('$payer-delivery-state', hub, (scope) => setDeliveryState(scope, reference, state, reason));

  return {
    name: CLAIMS_QUEUE,
    attempts: settings.attempts,
    backoffMs: settings.backoffMs,
    concurrency: 4,
    async process(job) {
      const message = job.payload;
      const queueMessage = { queue: CLAIMS_QUEUE, outboxId: job.outboxId };
      if (await wasProcessed(db, queueMessage)) return;
      let prepared: Prepared;
      try {
        prepared = await engine.runAsSystem('$payer-delivery-prepare', hub, (scope) => prepare(scope, message));
      } catch (error) {
        if (error instanceof ChannelError || error instanceof UndeliverableError) {
          await markState(message.reference, 'failed', error.message);
          throw new UnrecoverableError(`${error.name}: ${error.message}`);
        }
        throw error;
      }
      if (prepared.kind === 'gone') return; // deleted since: nothing to send
      if (prepared.kind === 'withheld') {
        await engine.recordAudit(prepared.ctx, { method: 'POST', path: prepared.path, query: '', status: 403 });
        await engine.runAsSystem('$payer-delivery-withheld', hub, async (scope) => {
          if (!(await claimMessage(scope.q, queueMessage))) return;
          await setDeliveryState(scope, message.reference, prepared.state, prepared.reason);
        });
        return;
      }
      // The disclosure is audited before it leaves: if the audit cannot be written, nothing is sent.
      await engine.recordAudit(prepared.ctx, { method: 'POST', path: prepared.path, query: '', status: 200 });
      let written: string[];
      try {
        written = await send(prepared);
      } catch (error) {
        const permanent =
          error instanceof ChannelError || error instanceof OutboundUrlError || (error instanceof PartnerHttpError && error.permanent);
        const reason = `${(error as Error).name}: ${(error as Error).message}`;
        if (permanent || job.attempt >= settings.attempts) {
          await markState(message.reference, 'failed', reason);
          throw new UnrecoverableError(reason);
        }
        throw error;
      }
      await engine.runAsSystem('$payer-delivery-sent', hub, async (scope) => {
        if (!(await claimMessage(scope.q, queueMessage))) return;
        await setDeliveryState(scope, message.reference, 'sent', `Delivered by ${prepared.channel.kind} to ${written[0] ?? message.payer}`);
      });
    },
  };
}
