// Processing a stored message into FHIR, one database transaction per message (as the system, through
// the engine), in inbox order per patient: before its own message a job processes the patient's older
// ones still waiting, and every transaction holds the patient's advisory lock, so admits, updates and
// discharges of one MRN never race and never overtake each other. The inbox row's state is the
// record of work done (set in the same transaction), so whichever job reaches a message first does it
// and the others skip it. A message that cannot be mapped is marked failed with the reason (out of its
// patient's way) and its job dead-lettered; other errors roll back and are retried.
import type { Resource } from 'fhir/r4';
import { UnrecoverableError } from 'bullmq';
import type { FhirEngine } from '../fhir/engine.ts';
import { FhirError } from '../fhir/errors.ts';
import { claimMessage } from '../queue/processed-once.ts';
import type { Database } from '../store/database.ts';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import { mapAdt } from './adt-mapper.ts';
import { findFacility } from './hl7-facility-registry.ts';
import { parseMessage } from './hl7-header.ts';
import { HL7_QUEUE, lockInboxRow, markFailed, markProcessed, oldestPending, readInboxRow, type InboxRow } from './hl7-inbox.ts';
import { Hl7MappingError } from './hl7-mapping-error.ts';
import type { MapContext } from './map-context.ts';
import { mapOru } from './oru-mapper.ts';
import { recordProvenance } from './provenance.ts';
import { mapRef } from './ref-mapper.ts';
import type { Written } from './resource-writer.ts';
import type { TriggerSettings } from './hl7-triggers.ts';

export interface Hl7ProcessingDeps {
  engine: FhirEngine;
  db: Database;
  hubOrganization: string;
  terminology: TerminologyService;
  triggers: TriggerSettings;
}

const MAPPERS: Record<string, (ctx: MapContext) => Promise<void>> = { ADT: mapAdt, REF: mapRef, ORU: mapOru };

/** A reason without PHI: the error's kind and, for FHIR errors, where (expressions), not what. */
function reasonOf(error: unknown): string {
  if (error instanceof Hl7MappingError) return error.message;
  if (error instanceof FhirError) {
    const where = error.outcome.issue.flatMap((issue) => issue.expression ?? []).join(', ');
    return `The mapped resources were refused (${error.status}${where ? ` at ${where}` : ''})`;
  }
  return (error as Error)?.name ?? 'Error';
}

/** Permanent: retrying the same message cannot succeed (409 is a concurrent write, retried). */
const isPermanent = (error: unknown) => error instanceof Hl7MappingError || (error instanceof FhirError && error.status >= 400 && error.status < 500 && error.status !== 409);

/** Maps one stored message in one transaction, unless already done. Returns the references it changed. */
async function processMessage(deps: Hl7ProcessingDeps, inboxId: string, outboxId?: string): Promise<string[]> {
  const peek = await readInboxRow(deps.db, inboxId);
  try {
    return await deps.engine.runAsSystem('$hl7-intake', deps.hubOrganization, async (scope): Promise<string[]> => {
      if (outboxId && !(await claimMessage(scope.q, { queue: HL7_QUEUE, outboxId }))) return []; // an earlier delivery did it
      if (peek?.patientKey) await scope.q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hl7-patient:${peek.patientKey}`]);
      const row = await lockInboxRow(scope.q, inboxId);
      if (!row || row.state !== 'received') return [];
      const facility = await findFacility(scope.q, row.sendingApplication, row.sendingFacility);
      if (!facility) throw new Hl7MappingError('The sending facility is no longer registered');
      const { message, header } = parseMessage(row.raw);
      const written: Written<Resource>[] = [];
      const ctx: MapContext = {
        scope,
        message,
        header,
        facility,
        row,
        hubOrganization: deps.hubOrganization,
        terminology: deps.terminology,
        triggers: deps.triggers,
        track: (entry) => written.push(entry),
      };
      const mapper = MAPPERS[header.messageCode];
      if (!mapper) throw new Hl7MappingError(`No mapping for ${header.messageCode}`);
      await mapper(ctx);
      const changed = uniqueLatest(written.filter((entry) => entry.changed).map((entry) => entry.resource));
      const provenance = await recordProvenance(ctx, changed);
      const references = changed.map((resource) => `${resource.resourceType}/${resource.id}`);
      await markProcessed(scope.q, inboxId, provenance ? [...references, provenance] : references);
      scope.afterCommit(() => scope.services.nudgeOutbox()); // routing of a new referral Task
      return references;
    });
  } catch (error) {
    if (!isPermanent(error)) throw error;
    const reason = reasonOf(error);
    await markFailed(deps.db, inboxId, reason);
    throw new UnrecoverableError(`HL7 message ${inboxId} cannot be processed: ${reason}`);
  }
}

/** The last version written of each resource. */
function uniqueLatest(resources: Resource[]): Resource[] {
  const byKey = new Map<string, Resource>();
  for (const resource of resources) byKey.set(`${resource.resourceType}/${resource.id}`, resource);
  return [...byKey.values()];
}

/** The job of a stored message: the patient's older waiting messages first, then this one. */
export async function processInboxMessage(deps: Hl7ProcessingDeps, inboxId: string, outboxId?: string): Promise<void> {
  const row: InboxRow | undefined = await readInboxRow(deps.db, inboxId);
  if (!row) return;
  if (row.patientKey) {
    for (;;) {
      const next = await oldestPending(deps.db, row.patientKey, inboxId);
      if (!next || next === inboxId) break;
      try {
        await processMessage(deps, next);
      } catch (error) {
        // An older message that cannot be mapped is marked failed and no longer in the way; another error: retry later.
        if (!(error instanceof UnrecoverableError)) throw error;
      }
    }
  }
  await processMessage(deps, inboxId, outboxId);
}

/**
 * Maps an already processed message again (admin and tests): the writes find everything in place,
 * so nothing changes. Returns the references it changed (none, when the mapping is idempotent).
 */
export async function reprocessInboxMessage(deps: Hl7ProcessingDeps, inboxId: string): Promise<string[]> {
  await deps.db.query(`UPDATE hl7_inbox SET state = 'received' WHERE id = $1`, [inboxId]);
  return processMessage(deps, inboxId);
}
