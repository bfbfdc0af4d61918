// The sending facilities the hub accepts HL7 v2 from (table hl7_facility): MSH-3 + MSH-4 → the
// Organization the facility is and the message classes it may send. Added by the CLI
// (`npm run cli -- hl7 facility add …`); intake refuses (AR) anyone else.
import type { Queryable } from '../store/database.ts';
import { isMessageClass, MESSAGE_CLASSES, type MessageClass } from './hl7-message-types.ts';

export interface Hl7Facility {
  sendingApplication: string;
  sendingFacility: string;
  /** `Organization/{id}` */
  organization: string;
  messageTypes: MessageClass[];
}

export class FacilityInputError extends Error {}

export function checkFacility(input: { app?: string; facility?: string; org?: string; types?: string }): Hl7Facility {
  if (!input.app?.trim()) throw new FacilityInputError('--app (MSH-3 sending application) is required');
  if (input.facility === undefined) throw new FacilityInputError('--facility (MSH-4 sending facility) is required');
  if (!input.org || !/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(input.org)) throw new FacilityInputError('--org must look like Organization/ID');
  const types = (input.types ?? '').split(',').map((type) => type.trim().toUpperCase()).filter(Boolean);
  if (!types.length) throw new FacilityInputError(`--types is required: a comma-separated list of ${MESSAGE_CLASSES.join(', ')}`);
  const unknown = types.filter((type) => !isMessageClass(type));
  if (unknown.length) throw new FacilityInputError(`--types: unknown message type(s) ${unknown.join(', ')} (known: ${MESSAGE_CLASSES.join(', ')})`);
  return { sendingApplication: input.app.trim(), sendingFacility: input.facility.trim(), organization: input.org, messageTypes: [...new Set(types)] as MessageClass[] };
}

/** Adds the facility, or replaces its Organization and types. */
export async function saveFacility(q: Queryable, facility: Hl7Facility): Promise<void> {
  await q.query(
    `INSERT INTO hl7_facility (sending_application, sending_facility, organization, message_types) VALUES ($1, $2, $3, $4)
     ON CONFLICT (sending_application, sending_facility) DO UPDATE SET organization = EXCLUDED.organization, message_types = EXCLUDED.message_types`,
    [facility.sendingApplication, facility.sendingFacility, facility.organization, facility.messageTypes],
  );
}

export async function findFacility(q: Queryable, sendingApplication: string, sendingFacility: string): Promise<Hl7Facility | undefined> {
  const rows = await q.query<{ organization: string; message_types: string[] }>(
    `SELECT organization, message_types FROM hl7_facility WHERE sending_application = $1 AND sending_facility = $2`,
    [sendingApplication, sendingFacility],
  );
  if (!rows.length) return undefined;
  return { sendingApplication, sendingFacility, organization: rows[0].organization, messageTypes: rows[0].message_types as MessageClass[] };
}
