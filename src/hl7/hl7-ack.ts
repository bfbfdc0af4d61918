// Acknowledgments. Original mode (no MSH-15/16): AA stored, AE could not store (send again), AR
// refused. Enhanced mode: the same as commit acks CA/CE/CR, sent as MSH-15 asks (AL always, NE
// never, ER only on error, SU only on success). Errors carry an ERR segment: ERR-2 location,
// ERR-3 the table 0357 code, ERR-4 severity E, ERR-8 a text for the sender's operators (no PHI).
import { randomBytes } from 'node:crypto';
import type { Hl7Header } from './hl7-header.ts';
import { escapeText, hl7Now } from './hl7-text.ts';
import { ERROR_CONDITIONS } from './hl7-rejection.ts';

export type AckOutcome = 'accept' | 'error' | 'reject';

const CODES: Record<AckOutcome, { original: string; enhanced: string }> = {
  accept: { original: 'AA', enhanced: 'CA' },
  error: { original: 'AE', enhanced: 'CE' },
  reject: { original: 'AR', enhanced: 'CR' },
};

export interface AckError {
  code: string;
  text: string;
  location: string;
}

/** The ACK code this outcome gets for this header's mode. */
export const ackCode = (outcome: AckOutcome, header: Hl7Header | undefined) => CODES[outcome][header?.enhanced ? 'enhanced' : 'original'];

/** Whether an enhanced-mode sender asked for this ack (MSH-15); original mode always gets one. */
export function wantsAck(outcome: AckOutcome, header: Hl7Header | undefined): boolean {
  if (!header?.enhanced) return true;
  switch (header.acceptAckType) {
    case 'NE':
      return false;
    case 'ER':
      return outcome !== 'accept';
    case 'SU':
      return outcome === 'accept';
    default:
      return true; // AL, or unset with MSH-16 given
  }
}

/** The ACK message text (segments separated by CR). */
export function buildAck(outcome: AckOutcome, header: Hl7Header | undefined, error?: AckError): string {
  const e = (value: string | undefined) => escapeText(value ?? '');
  const code = ackCode(outcome, header);
  const msh = [
    'MSH',
    '^~\\&',
    e(header?.receivingApplication || 'CCH'),
    e(header?.receivingFacility || 'HUB'),
    e(header?.sendingApplication),
    e(header?.sendingFacility),
    hl7Now(),
    '',
    `ACK^${e(header?.triggerEvent)}^ACK`,
    `ACK${randomBytes(8).toString('hex').toUpperCase()}`,
    'P',
    e(header?.version || '2.5.1'),
  ].join('|');
  const segments = [msh, `MSA|${code}|${e(header?.controlId)}${error ? `|${e(error.text)}` : ''}`];
  if (error) {
    const condition = `${error.code}^${e(ERROR_CONDITIONS[error.code] ?? '')}^HL70357`;
    segments.push(`ERR||${error.location}|${condition}|E||||${e(error.text)}`);
  }
  return segments.join('\r');
}
