// Receipt of one framed message, whatever carried it: parse and check the header, check the sender
// against the facility registry, store it (with its processing job) and answer. The ACK is built
// before the store and written with it, so AA/CA goes out only for a message that is stored; a
// storage failure is AE/CE (the sender sends again); a message we will never take is AR/CR.
import type { Logger } from 'pino';
import type { Database } from '../store/database.ts';
import { buildAck, wantsAck } from './hl7-ack.ts';
import { findFacility } from './hl7-facility-registry.ts';
import { checkHeader, parseMessage, type Hl7Header } from './hl7-header.ts';
import { storeMessage } from './hl7-inbox.ts';
import { isMessageClass, SUPPORTED_EVENTS } from './hl7-message-types.ts';
import { Hl7Rejection } from './hl7-rejection.ts';
import { patientKeyOf } from './patient-mapper.ts';

export interface ReceiveResult {
  /** The ACK to send, or undefined when an enhanced-mode sender asked for none. */
  ack: string | undefined;
  outcome: 'stored' | 'duplicate' | 'rejected' | 'error';
}

export async function receiveMessage(db: Database, raw: string, logger: Logger): Promise<ReceiveResult> {
  let header: Hl7Header | undefined;
  try {
    const parsed = parseMessage(raw);
    header = parsed.header;
    checkHeader(header);
    const type = header.messageCode;
    if (!isMessageClass(type)) throw new Hl7Rejection('200', `Message type ${type} is not supported (ADT, REF, ORU)`, 'MSH^1^9^1', header);
    if (!SUPPORTED_EVENTS[type].has(header.triggerEvent)) {
      throw new Hl7Rejection('201', `${type}^${header.triggerEvent} is not supported (${[...SUPPORTED_EVENTS[type]].join(', ')})`, 'MSH^1^9^2', header);
    }
    const facility = await findFacility(db, header.sendingApplication, header.sendingFacility);
    if (!facility) throw new Hl7Rejection('204', 'The sending application and facility (MSH-3, MSH-4) are not registered with the hub', 'MSH^1^4', header);
    if (!facility.messageTypes.includes(type)) throw new Hl7Rejection('200', `This facility is not registered to send ${type} messages`, 'MSH^1^9^1', header);
    const patientKey = patientKeyOf(parsed.message, facility.sendingFacility || facility.sendingApplication);
    if (!patientKey) throw new Hl7Rejection('101', 'PID-3 (patient identifier list) is required', 'PID^1^3', header);
    const stored = await storeMessage(db, { header, raw, patientKey, ack: buildAck('accept', header) });
    return { ack: wantsAck('accept', header) ? stored.ack : undefined, outcome: stored.duplicate ? 'duplicate' : 'stored' };
  } catch (error) {
    if (error instanceof Hl7Rejection) {
      const rejected = error.header ?? header;
      const ack = buildAck('reject', rejected, { code: error.code, text: error.text, location: error.location });
      return { ack: wantsAck('reject', rejected) ? ack : undefined, outcome: 'rejected' };
    }
    // The database is unreachable or refused the write: nothing stored, so the sender must send again.
    logger.warn({ err: { type: (error as Error)?.name, code: (error as { code?: string })?.code } }, 'hl7 message not stored');
    const ack = buildAck('error', header, { code: '207', text: 'The message could not be stored; send it again', location: 'MSH' });
    return { ack: wantsAck('error', header) ? ack : undefined, outcome: 'error' };
  }
}
