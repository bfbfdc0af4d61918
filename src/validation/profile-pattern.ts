// Fixed values and patterns of profiles (ElementDefinition.fixed[x] / pattern[x] semantics on JSON):
// fixed = exactly equal; pattern = every property the pattern gives is present with that value, and
// every item of a pattern array matches some item of the value's array (extra items are allowed).

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const items = Array.isArray(value) ? value : [value];
    return pattern.every((wanted) => items.some((item) => matchesPattern(item, wanted)));
  }
  if (isRecord(pattern)) {
    if (!isRecord(value)) return false;
    return Object.entries(pattern).every(([key, wanted]) => value[key] !== undefined && matchesPattern(value[key], wanted));
  }
  return value === pattern;
}

/** A short human form of a pattern for messages: codings as `system#code`. */
export function describePattern(pattern: unknown): string {
  if (isRecord(pattern)) {
    if (typeof pattern.code === 'string') return typeof pattern.system === 'string' ? `${pattern.system}#${pattern.code}` : pattern.code;
    if (Array.isArray(pattern.coding)) return pattern.coding.map(describePattern).join(', ');
    return Object.entries(pattern).map(([key, value]) => `${key}=${describePattern(value)}`).join(', ');
  }
  if (Array.isArray(pattern)) return pattern.map(describePattern).join(', ');
  return JSON.stringify(pattern);
}
