// The MSH fields intake decides on: who sent it (MSH-3/4, the duplicate key with MSH-10), what it is
// (MSH-9), which version (MSH-12) and which acknowledgment mode it asks for (MSH-15/16: present means
// enhanced mode, absent means original mode).
import { Hl7Message } from '@medplum/core';
import { normalizeSegments, unescapeText } from './hl7-text.ts';
import { Hl7Rejection } from './hl7-rejection.ts';

export interface Hl7Header {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  controlId: string;
  /** MSH-9.1, e.g. ADT. */
  messageCode: string;
  /** MSH-9.2, e.g. A01. */
  triggerEvent: string;
  version: string;
  /** MSH-15 (AL, NE, ER, SU) when the sender asked for enhanced mode. */
  acceptAckType: string | undefined;
  enhanced: boolean;
}

/** v2.x versions whose ADT, REF and ORU structures the mappers read. */
export const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set(['2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1', '2.8', '2.8.1', '2.8.2']);

const field = (message: Hl7Message, index: number, component = 1): string => unescapeText(message.header.getComponent(index, component) ?? '').trim();

/** Parses the message text (throws Hl7Rejection when it is not an HL7 v2 message with a usable MSH). */
export function parseMessage(text: string): { message: Hl7Message; header: Hl7Header } {
  const normalized = normalizeSegments(text);
  if (!/^MSH(.)\^~\\&/.test(normalized) && !/^MSH\|/.test(normalized)) {
    throw new Hl7Rejection('100', 'The message does not start with an MSH segment', 'MSH');
  }
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(normalized);
  } catch {
    throw new Hl7Rejection('100', 'The message cannot be parsed as HL7 v2', 'MSH');
  }
  const header: Hl7Header = {
    sendingApplication: field(message, 3),
    sendingFacility: field(message, 4),
    receivingApplication: field(message, 5),
    receivingFacility: field(message, 6),
    controlId: field(message, 10),
    messageCode: field(message, 9, 1).toUpperCase(),
    triggerEvent: field(message, 9, 2).toUpperCase(),
    version: field(message, 12),
    acceptAckType: field(message, 15).toUpperCase() || undefined,
    enhanced: Boolean(field(message, 15) || field(message, 16)),
  };
  return { message, header };
}

/** The header problems that make a message unacceptable whoever sent it. */
export function checkHeader(header: Hl7Header): void {
  if (!header.controlId) throw new Hl7Rejection('101', 'MSH-10 (message control id) is required', 'MSH^1^10', header);
  if (!header.sendingApplication) throw new Hl7Rejection('101', 'MSH-3 (sending application) is required', 'MSH^1^3', header);
  if (!header.messageCode) throw new Hl7Rejection('101', 'MSH-9 (message type) is required', 'MSH^1^9', header);
  if (!SUPPORTED_VERSIONS.has(header.version)) {
    throw new Hl7Rejection('203', `Version '${header.version}' is not supported (2.3 to 2.8.2)`, 'MSH^1^12', header);
  }
}
