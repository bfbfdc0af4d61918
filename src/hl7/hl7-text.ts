// HL7 v2 text conventions shared by the reader and the ACK builder: segment separators, escape
// sequences (standard delimiters |^~\&) and TS timestamps.

/** Segments are separated by CR; some senders use LF or CRLF, which we accept. */
export const normalizeSegments = (text: string): string => text.replace(/\r\n|\n/g, '\r').replace(/\r+$/, '');

const ESCAPES: Record<string, string> = { F: '|', S: '^', T: '&', R: '~', E: '\\' };

/** Text with the standard escape sequences replaced (\F\ \S\ \T\ \R\ \E\; \.br\ as a newline; others dropped). */
export function unescapeText(value: string): string {
  return value.replace(/\\([^\\]*)\\/g, (_match, code: string) => ESCAPES[code] ?? (code === '.br' ? '\n' : ''));
}

/** Text made safe for one field of a message we write. */
export function escapeText(value: string): string {
  return value.replace(/\\/g, '\\E\\').replace(/\|/g, '\\F\\').replace(/\^/g, '\\S\\').replace(/&/g, '\\T\\').replace(/~/g, '\\R\\').replace(/[\r\n]+/g, ' ');
}

/** The current time as an HL7 TS with offset (YYYYMMDDHHMMSS+0000). */
export function hl7Now(date = new Date()): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

/**
 * An HL7 TS/DTM (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) as a FHIR date or dateTime; undefined when it
 * is not one. A time without offset is read as UTC: FHIR requires an offset once a time is given, and
 * the v2 sender did not say (senders should send MSH-7 style offsets).
 */
export function fhirDateTime(ts: string | undefined): string | undefined {
  const match = /^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.\d+)?)?([+-]\d{4})?$/.exec((ts ?? '').trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, offset] = match;
  if (!month) return year;
  if (!day) return `${year}-${month}`;
  const date = `${year}-${month}-${day}`;
  if (!hour) return date;
  const zone = offset ? `${offset.slice(0, 3)}:${offset.slice(3)}` : 'Z';
  return `${date}T${hour}:${minute ?? '00'}:${second ?? '00'}${zone}`;
}

/** Only the date part (FHIR date) of a TS. */
export const fhirDate = (ts: string | undefined): string | undefined => fhirDateTime(ts)?.slice(0, 10);
