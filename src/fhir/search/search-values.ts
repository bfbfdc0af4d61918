// Parsing of search parameter values: escapes, prefixes, tokens, numbers with implicit precision.
import { badRequest } from '../errors.ts';
import { parseDateRange } from '../date-range.ts';
import type { DateMatch, NumberMatch, TokenMatch } from './search-request.ts';

export type DatePrefix = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set(['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap']);

/** Splits on `separator` where it is not escaped with a backslash, and unescapes `\,` `\|` `\$` `\\`. */
export function splitEscaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length && ',|$\\'.includes(value[i + 1])) {
      current += ch + value[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

export const unescape = (value: string): string => value.replace(/\\([,|$\\])/g, '$1');

function prefixOf(value: string): [DatePrefix, string] {
  const prefix = value.slice(0, 2);
  if (PREFIXES.has(prefix) && /^[a-z]{2}[-+0-9.]/.test(value)) return [prefix as DatePrefix, value.slice(2)];
  return ['eq', value];
}

export function parseDateMatch(raw: string, parameter: string): DateMatch {
  const [prefix, value] = prefixOf(raw);
  const range = parseDateRange(value, parameter);
  return { prefix, start: range.start.toISOString(), end: range.end.toISOString() };
}

/** `100` means [99.5, 100.5), `1.50` means [1.495, 1.505): half a unit of the last digit given. */
export function parseNumberMatch(raw: string, parameter: string): NumberMatch {
  const [prefix, value] = prefixOf(raw);
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(value)) throw badRequest(`Invalid number '${value}' for ${parameter}`, parameter);
  const decimals = /\.(\d*)/.exec(value.replace(/[eE].*$/, ''))?.[1].length ?? 0;
  const exponent = Number(/[eE]([-+]?\d+)$/.exec(value)?.[1] ?? 0);
  const half = 0.5 * 10 ** (exponent - decimals);
  const number = Number(value);
  return { prefix, value: String(number), low: String(number - half), high: String(number + half) };
}

/** `[prefix]number|system|code`, `number||code` or `number`. */
export function parseQuantityMatch(raw: string, parameter: string): NumberMatch {
  const [number, system, code] = splitEscaped(raw, '|');
  const match = parseNumberMatch(number, parameter);
  if (system) match.system = unescape(system);
  if (code) match.unit = unescape(code);
  return match;
}

export function parseTokenMatch(raw: string): TokenMatch {
  const parts = splitEscaped(raw, '|');
  if (parts.length === 1) return { value: unescape(parts[0]) };
  const [system, ...rest] = parts;
  const code = unescape(rest.join('|'));
  return { system: system === '' ? null : unescape(system), value: code === '' ? undefined : code };
}
