// Reads an inbound X12 interchange (999, 277CA, 835) into positioned segments with x12-parser, and
// checks the envelope before anything is applied: ISA first (16 elements), IEA last, GS/GE and
// ST/SE paired with matching control numbers and SE01 = the segment count of its transaction.
// Any fault is a 400 naming the segment's position (1-based, ISA = 1), so nothing is half-applied.
import { Readable } from 'node:stream';
import { X12parser } from 'x12-parser';
import { FhirError } from '../../fhir/errors.ts';

export interface X12Segment {
  /** 1-based position in the interchange (ISA = 1). */
  position: number;
  tag: string;
  /** elements[1] is the first element; each element is its components (one for a simple element). */
  elements: string[][];
}

/** Element n (1-based), its component c (1-based; 1 for a simple element), or ''. */
export const el = (segment: X12Segment | undefined, n: number, c = 1): string => segment?.elements[n]?.[c - 1] ?? '';

export function x12Error(position: number, tag: string, message: string, status = 400): FhirError {
  return new FhirError(status, { code: status === 400 ? 'structure' : 'business-rule', diagnostics: `X12 segment ${position} (${tag}): ${message}`, expression: `X12.segment[${position}]` });
}

type ParsedSegment = Record<string, string> & { name: string };

/** Rebuilds elements from x12-parser's keys ("1", "1-1", "1-2" for the components of element 1). */
function toSegment(parsed: ParsedSegment, position: number): X12Segment {
  const elements: string[][] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'name') continue;
    const [element, component] = key.split('-').map(Number);
    if (!Number.isInteger(element)) continue;
    (elements[element] ??= [])[component ? component : 0] = value;
  }
  for (let i = 1; i < elements.length; i++) elements[i] = (elements[i] ?? ['']).map((v) => v ?? '');
  return { position, tag: parsed.name, elements };
}

async function parse(text: string): Promise<ParsedSegment[]> {
  const parser = new X12parser();
  const out: ParsedSegment[] = [];
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    Readable.from([text]).pipe(parser).on('data', (segment: ParsedSegment) => out.push(segment)).on('end', resolve).on('error', reject);
  });
  return out;
}

/** The interchange's segments, envelope checked. */
export async function readX12(text: string): Promise<X12Segment[]> {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (!trimmed.startsWith('ISA')) throw x12Error(1, trimmed.slice(0, 3) || '?', 'an interchange must start with ISA');
  if (trimmed.length < 106) throw x12Error(1, 'ISA', 'the ISA segment is shorter than its fixed 106 characters');
  let parsed: ParsedSegment[];
  try {
    parsed = await parse(trimmed);
  } catch (error) {
    throw x12Error(1, 'ISA', `unreadable: ${(error as Error).message}`);
  }
  const segments = parsed.map((segment, i) => toSegment(segment, i + 1)).filter((segment) => segment.tag.trim() !== '');
  const isa = segments[0];
  if (isa.tag !== 'ISA' || isa.elements.length - 1 !== 16) throw x12Error(1, 'ISA', `ISA must have 16 elements, has ${isa.elements.length - 1}`);
  let group: X12Segment | undefined;
  let transaction: X12Segment | undefined;
  let groups = 0;
  let transactionsInGroup = 0;
  let ended = false;
  for (const segment of segments.slice(1)) {
    const { tag, position } = segment;
    if (ended) throw x12Error(position, tag, 'segment after IEA');
    if (!/^[A-Z][A-Z0-9]{1,2}$/.test(tag)) throw x12Error(position, tag.slice(0, 3), 'not a segment identifier');
    switch (tag) {
      case 'GS':
        if (group) throw x12Error(position, tag, 'GS inside an open functional group (missing GE)');
        group = segment;
        groups++;
        transactionsInGroup = 0;
        break;
      case 'ST':
        if (!group) throw x12Error(position, tag, 'ST outside a functional group');
        if (transaction) throw x12Error(position, tag, 'ST inside an open transaction set (missing SE)');
        transaction = segment;
        transactionsInGroup++;
        break;
      case 'SE': {
        if (!transaction) throw x12Error(position, tag, 'SE without ST');
        const count = position - transaction.position + 1;
        if (el(segment, 1) !== String(count)) throw x12Error(position, tag, `SE01 says ${el(segment, 1) || 'nothing'}, the transaction set has ${count} segments`);
        if (el(segment, 2) !== el(transaction, 2)) throw x12Error(position, tag, `SE02 ${el(segment, 2)} does not match ST02 ${el(transaction, 2)}`);
        transaction = undefined;
        break;
      }
      case 'GE':
        if (!group || transaction) throw x12Error(position, tag, transaction ? 'GE inside an open transaction set (missing SE)' : 'GE without GS');
        if (el(segment, 1) !== String(transactionsInGroup)) throw x12Error(position, tag, `GE01 says ${el(segment, 1)}, the group has ${transactionsInGroup} transaction sets`);
        if (el(segment, 2) !== el(group, 6)) throw x12Error(position, tag, `GE02 ${el(segment, 2)} does not match GS06 ${el(group, 6)}`);
        group = undefined;
        break;
      case 'IEA':
        if (group) throw x12Error(position, tag, 'IEA inside an open functional group (missing GE)');
        if (el(segment, 1) !== String(groups)) throw x12Error(position, tag, `IEA01 says ${el(segment, 1)}, the interchange has ${groups} groups`);
        if (el(segment, 2) !== el(isa, 13)) throw x12Error(position, tag, `IEA02 ${el(segment, 2)} does not match ISA13 ${el(isa, 13)}`);
        ended = true;
        break;
      default:
        if (!transaction) throw x12Error(position, tag, 'segment outside a transaction set');
    }
  }
  if (!ended) {
    const last = segments[segments.length - 1];
    throw x12Error(last.position, last.tag, 'the interchange ends without IEA');
  }
  return segments;
}

/** The transaction sets of the interchange: ST…SE each, with its GS. */
export function transactionSets(segments: X12Segment[]): { group: X12Segment; st: X12Segment; body: X12Segment[] }[] {
  const sets: { group: X12Segment; st: X12Segment; body: X12Segment[] }[] = [];
  let group: X12Segment | undefined;
  let current: { group: X12Segment; st: X12Segment; body: X12Segment[] } | undefined;
  for (const segment of segments) {
    if (segment.tag === 'GS') group = segment;
    else if (segment.tag === 'ST' && group) current = { group, st: segment, body: [] };
    else if (segment.tag === 'SE' && current) {
      sets.push(current);
      current = undefined;
    } else if (current) current.body.push(segment);
  }
  return sets;
}
