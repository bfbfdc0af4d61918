// The messages intake maps, by the facility registry's type class (MSH-9.1) and trigger event (MSH-9.2).
export const MESSAGE_CLASSES = ['ADT', 'REF', 'ORU'] as const;
export type MessageClass = (typeof MESSAGE_CLASSES)[number];

export const SUPPORTED_EVENTS: Record<MessageClass, ReadonlySet<string>> = {
  ADT: new Set(['A01', 'A03', 'A04', 'A08', 'A11', 'A13', 'A40']),
  REF: new Set(['I12', 'I13', 'I14']),
  ORU: new Set(['R01']),
};

export const isMessageClass = (code: string): code is MessageClass => (MESSAGE_CLASSES as readonly string[]).includes(code);
