// X12 segments as typed values and their serialization. Element separator '*', component ':',
// repetition '^', segment terminator '~' (declared in ISA), one segment per line for readability
// (receivers ignore the line feed after the terminator).
export type X12Element = string | string[];

export interface X12Segment {
  tag: string;
  /** Elements 01..n; a string[] is a composite (components joined by ':'). */
  elements: X12Element[];
}

export const ELEMENT = '*';
export const COMPONENT = ':';
export const REPETITION = '^';
export const TERMINATOR = '~';

/** A value as it may appear in an element: upper case, without any delimiter character. */
export const x12Text = (value: string | undefined) => (value ?? '').toUpperCase().replace(/[*:~^\r\n]/g, ' ').replace(/\s+/g, ' ').trim();

/** An amount: at most 2 decimals, no trailing zeros (X12 R type). */
export const x12Amount = (value: number) => String(Math.round(value * 100) / 100);

export const segment = (tag: string, ...elements: X12Element[]): X12Segment => ({ tag, elements });

export function serializeSegment(seg: X12Segment): string {
  const elements = seg.elements.map((element) => (Array.isArray(element) ? element.join(COMPONENT).replace(/:+$/, '') : element));
  while (elements.length && elements[elements.length - 1] === '') elements.pop(); // trailing empty elements are omitted
  return [seg.tag, ...elements].join(ELEMENT) + TERMINATOR;
}

export const serializeSegments = (segments: X12Segment[]) => segments.map(serializeSegment).join('\n') + '\n';
