// Why a message is refused (AR, or CR in enhanced mode): an HL7 table 0357 error code, a text for
// the sender and where in the message the problem is (ERR-2, e.g. MSH^1^12).
import type { Hl7Header } from './hl7-header.ts';

/** HL7 table 0357 (message error condition codes) texts of the codes intake uses. */
export const ERROR_CONDITIONS: Record<string, string> = {
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '207': 'Application internal error',
};

export class Hl7Rejection extends Error {
  readonly code: string;
  readonly text: string;
  /** ERR-2, e.g. MSH^1^12. */
  readonly location: string;
  /** The header, when it could be read (the ACK echoes its control id and version). */
  readonly header?: Hl7Header;

  constructor(code: string, text: string, location: string, header?: Hl7Header) {
    super(text);
    this.code = code;
    this.text = text;
    this.location = location;
    this.header = header;
  }
}
