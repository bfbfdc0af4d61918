// The inbox (table hl7_inbox): every accepted message as received, written with its processing job's
// outbox row in one transaction before the ACK goes out, so a stored message always gets processed
// and an acknowledged one is always stored. The duplicate key is (MSH-3, MSH-4, MSH-10).
import { enqueue } from '../queue/outbox.ts';
import type { Database, Queryable } from '../store/database.ts';
import type { Hl7Header } from './hl7-header.ts';

export const HL7_QUEUE = 'hl7-inbox';

export interface Hl7Job {
  inboxId: string;
}

export interface InboxRow {
  id: string;
  sendingApplication: string;
  sendingFacility: string;
  controlId: string;
  messageType: string;
  patientKey: string | null;
  raw: string;
  state: 'received' | 'processed' | 'failed';
  receivedAt: string;
}

/**
 * Stores the message and its job, or finds it stored already. Returns the ACK to send: the new one,
 * or the one the first copy got (a duplicate is acknowledged the same way and not processed again).
 */
export async function storeMessage(
  db: Database,
  message: { header: Hl7Header; raw: string; patientKey: string | undefined; ack: string },
): Promise<{ ack: string; duplicate: boolean; inboxId: string }> {
  const { header } = message;
  return db.transaction(async (tx) => {
    const inserted = await tx.query<{ id: string | number }>(
      `INSERT INTO hl7_inbox (sending_application, sending_facility, control_id, message_type, patient_key, raw, ack)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (sending_application, sending_facility, control_id) DO NOTHING RETURNING id`,
      [header.sendingApplication, header.sendingFacility, header.controlId, `${header.messageCode}^${header.triggerEvent}`, message.patientKey ?? null, message.raw, message.ack],
    );
    if (inserted.length) {
      const inboxId = String(inserted[0].id);
      await enqueue<Hl7Job>(tx, { queue: HL7_QUEUE, payload: { inboxId }, dedupeKey: `hl7-inbox:${inboxId}` });
      return { ack: message.ack, duplicate: false, inboxId };
    }
    const [original] = await tx.query<{ id: string | number; ack: string }>(
      `SELECT id, ack FROM hl7_inbox WHERE sending_application = $1 AND sending_facility = $2 AND control_id = $3`,
      [header.sendingApplication, header.sendingFacility, header.controlId],
    );
    return { ack: original.ack, duplicate: true, inboxId: String(original.id) };
  });
}

const COLUMNS = `id, sending_application, sending_facility, control_id, message_type, patient_key, raw, state, received_at`;

function toRow(row: Record<string, unknown>): InboxRow {
  return {
    id: String(row.id),
    sendingApplication: row.sending_application as string,
    sendingFacility: row.sending_facility as string,
    controlId: row.control_id as string,
    messageType: row.message_type as string,
    patientKey: (row.patient_key as string | null) ?? null,
    raw: row.raw as string,
    state: row.state as InboxRow['state'],
    receivedAt: new Date(row.received_at as string).toISOString(),
  };
}

/** The message, locked until the transaction ends (one processor at a time). */
export async function lockInboxRow(q: Queryable, id: string): Promise<InboxRow | undefined> {
  const rows = await q.query(`SELECT ${COLUMNS} FROM hl7_inbox WHERE id = $1 FOR UPDATE`, [id]);
  return rows.length ? toRow(rows[0]) : undefined;
}

export async function readInboxRow(q: Queryable, id: string): Promise<InboxRow | undefined> {
  const rows = await q.query(`SELECT ${COLUMNS} FROM hl7_inbox WHERE id = $1`, [id]);
  return rows.length ? toRow(rows[0]) : undefined;
}

/** The patient's oldest message not yet processed, up to `upTo` (its own id): processed first. */
export async function oldestPending(q: Queryable, patientKey: string, upTo: string): Promise<string | undefined> {
  const rows = await q.query<{ id: string | number }>(
    `SELECT id FROM hl7_inbox WHERE patient_key = $1 AND state = 'received' AND id <= $2 ORDER BY id LIMIT 1`,
    [patientKey, upTo],
  );
  return rows.length ? String(rows[0].id) : undefined;
}

export async function markProcessed(q: Queryable, id: string, resources: string[]): Promise<void> {
  await q.query(`UPDATE hl7_inbox SET state = 'processed', processed_at = now(), error = NULL,
            resources = CASE WHEN resources IS NULL OR $2::jsonb <> '[]'::jsonb THEN $2::jsonb ELSE resources END WHERE id = $1`, [id, JSON.stringify(resources)]);
}

/** A message that cannot be mapped: kept with the reason, out of its patient's way. */
export async function markFailed(q: Queryable, id: string, reason: string): Promise<void> {
  await q.query(`UPDATE hl7_inbox SET state = 'failed', processed_at = now(), error = $2 WHERE id = $1 AND state = 'received'`, [id, reason]);
}
