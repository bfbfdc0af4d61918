// Extracts the search index rows of a resource: every search parameter of its type evaluated
// with FHIRPath, each value turned into rows of the table for its parameter type.
import type { Resource } from 'fhir/r4';
import { parseDateRange } from '../date-range.ts';
import { normalizeString } from './normalize-string.ts';
import type { ParamType, SearchParam, SearchParameterRegistry } from './search-parameter-registry.ts';

export interface TokenRow { code: string; system: string | null; value: string | null; text: string | null; type_system: string | null; type_code: string | null }
export interface StringRow { code: string; value: string; exact: string }
export interface DateRow { code: string; low: string; high: string }
export interface NumberRow { code: string; low: string; high: string }
export interface QuantityRow { code: string; system: string | null; unit_code: string | null; unit: string | null; low: string; high: string }
export interface ReferenceRow { code: string; target_type: string | null; target_id: string | null; url: string | null; identifier_system: string | null; identifier_value: string | null }
export interface UriRow { code: string; value: string }
export interface CompositeRow {
  code: string;
  c1_system: string | null; c1_value: string | null;
  c2_system: string | null; c2_value: string | null;
  c2_number_low: string | null; c2_number_high: string | null;
  c2_date_low: string | null; c2_date_high: string | null;
}

export interface IndexRows {
  token: TokenRow[];
  string: StringRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  reference: ReferenceRow[];
  uri: UriRow[];
  composite: CompositeRow[];
}

const emptyRows = (): IndexRows => ({ token: [], string: [], date: [], number: [], quantity: [], reference: [], uri: [], composite: [] });

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const RELATIVE_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** Token parts of a value: Coding, CodeableConcept, Identifier, ContactPoint, code, boolean... */
function tokens(value: unknown): Omit<TokenRow, 'code'>[] {
  if (typeof value === 'boolean') return [{ system: null, value: String(value), text: null, type_system: null, type_code: null }];
  if (typeof value === 'string' || typeof value === 'number') return [{ system: null, value: String(value), text: null, type_system: null, type_code: null }];
  if (!isObject(value)) return [];
  if ('coding' in value || ('text' in value && !('value' in value) && !('code' in value))) {
    const text = str(value.text);
    const codings = Array.isArray(value.coding) ? value.coding.flatMap(tokens) : [];
    // The CodeableConcept's own text gets a row of its own, so :text finds it as well as each display.
    if (text) codings.push({ system: null, value: null, text: normalizeString(text), type_system: null, type_code: null });
    return codings;
  }
  if ('code' in value) {
    const display = str(value.display);
    return [{ system: str(value.system), value: str(value.code), text: display ? normalizeString(display) : null, type_system: null, type_code: null }];
  }
  if ('value' in value) {
    // Identifier (with its type for :of-type) or ContactPoint.
    const type = isObject(value.type) && Array.isArray(value.type.coding) ? (value.type.coding[0] as Json | undefined) : undefined;
    const typeText = isObject(value.type) ? str(value.type.text) : null;
    return [{
      system: str(value.system),
      value: str(value.value),
      text: typeText ? normalizeString(typeText) : null,
      type_system: type ? str(type.system) : null,
      type_code: type ? str(type.code) : null,
    }];
  }
  return [];
}

/** The strings a string parameter indexes: a plain string, or every part of a HumanName or Address. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (!isObject(value)) return [];
  const out: string[] = [];
  for (const key of ['text', 'family', 'given', 'prefix', 'suffix', 'line', 'city', 'district', 'state', 'postalCode', 'country']) {
    const part = value[key];
    if (typeof part === 'string') out.push(part);
    else if (Array.isArray(part)) out.push(...part.filter((item): item is string => typeof item === 'string'));
  }
  return out;
}

const MIN_DATE = '-infinity';
const MAX_DATE = 'infinity';

function dateRange(value: string): { low: string; high: string } | undefined {
  try {
    const range = parseDateRange(value, '');
    return { low: range.start.toISOString(), high: range.end.toISOString() };
  } catch {
    return undefined;
  }
}

/** Date ranges of a date, dateTime, instant, Period or Timing. */
function dates(value: unknown): { low: string; high: string }[] {
  if (typeof value === 'string') {
    const range = dateRange(value);
    return range ? [range] : [];
  }
  if (!isObject(value)) return [];
  if ('start' in value || 'end' in value) {
    const start = typeof value.start === 'string' ? dateRange(value.start) : undefined;
    const end = typeof value.end === 'string' ? dateRange(value.end) : undefined;
    return [{ low: start?.low ?? MIN_DATE, high: end?.high ?? MAX_DATE }];
  }
  if (Array.isArray(value.event)) return value.event.flatMap(dates);
  return [];
}

function quantities(value: unknown): Omit<QuantityRow, 'code'>[] {
  if (!isObject(value)) return [];
  if ('low' in value || 'high' in value) {
    // Range: one row spanning low..high, units from whichever end has them.
    const low = isObject(value.low) ? value.low : undefined;
    const high = isObject(value.high) ? value.high : undefined;
    const unitOf = low ?? high ?? {};
    return [{
      system: str(unitOf.system), unit_code: str(unitOf.code), unit: str(unitOf.unit),
      low: typeof low?.value === 'number' ? String(low.value) : '-Infinity',
      high: typeof high?.value === 'number' ? String(high.value) : 'Infinity',
    }];
  }
  if (typeof value.value !== 'number') return [];
  const system = str(value.system) ?? (typeof value.currency === 'string' ? 'urn:iso:std:iso:4217' : null);
  return [{ system, unit_code: str(value.code) ?? str(value.currency), unit: str(value.unit), low: String(value.value), high: String(value.value) }];
}

function references(value: unknown, targetType: string | undefined): Omit<ReferenceRow, 'code'>[] {
  if (typeof value === 'string') return [{ target_type: null, target_id: null, url: value, identifier_system: null, identifier_value: null }]; // canonical or uri
  if (!isObject(value)) return [];
  const reference = str(value.reference);
  const identifier = isObject(value.identifier) ? value.identifier : undefined;
  const row: Omit<ReferenceRow, 'code'> = {
    target_type: null, target_id: null, url: null,
    identifier_system: identifier ? str(identifier.system) : null,
    identifier_value: identifier ? str(identifier.value) : null,
  };
  if (reference?.startsWith('#')) return []; // contained resources are not searchable by reference
  const relative = reference ? RELATIVE_REFERENCE.exec(reference) : null;
  if (relative) {
    row.target_type = relative[1];
    row.target_id = relative[2];
  } else if (reference) {
    row.url = reference;
  }
  const type = row.target_type ?? str(value.type);
  if (targetType && type && type !== targetType) return [];
  if (!row.target_type && !row.url && !row.identifier_value) return [];
  return [row];
}

function uris(value: unknown): string[] {
  return typeof value === 'string' ? [value] : [];
}

function addValues(rows: IndexRows, param: SearchParam, values: unknown[], targetType?: string): void {
  const code = param.code;
  for (const value of values) {
    switch (param.type) {
      case 'token':
        for (const row of tokens(value)) rows.token.push({ code, ...row });
        break;
      case 'string':
        for (const s of strings(value)) rows.string.push({ code, value: normalizeString(s), exact: s });
        break;
      case 'date':
        for (const range of dates(value)) rows.date.push({ code, ...range });
        break;
      case 'number':
        if (typeof value === 'number') rows.number.push({ code, low: String(value), high: String(value) });
        break;
      case 'quantity':
        for (const row of quantities(value)) rows.quantity.push({ code, ...row });
        break;
      case 'reference':
        for (const row of references(value, targetType)) rows.reference.push({ code, ...row });
        break;
      case 'uri':
        for (const uri of uris(value)) rows.uri.push({ code, value: uri });
        break;
      default:
        break;
    }
  }
}

/** Second component of a composite, as system/value or a numeric or date range. */
type ComponentTwo = Pick<CompositeRow, 'c2_system' | 'c2_value' | 'c2_number_low' | 'c2_number_high' | 'c2_date_low' | 'c2_date_high'>;

function componentTwo(type: ParamType, value: unknown): ComponentTwo[] {
  const none = { c2_system: null, c2_value: null, c2_number_low: null, c2_number_high: null, c2_date_low: null, c2_date_high: null };
  switch (type) {
    case 'token':
      return tokens(value).map((row) => ({ ...none, c2_system: row.system, c2_value: row.value }));
    case 'quantity':
      return quantities(value).map((row) => ({ ...none, c2_system: row.system, c2_value: row.unit_code, c2_number_low: row.low, c2_number_high: row.high }));
    case 'date':
      return dates(value).map((range) => ({ ...none, c2_date_low: range.low, c2_date_high: range.high }));
    case 'string':
      return strings(value).map((s) => ({ ...none, c2_value: normalizeString(s) }));
    default:
      return [];
  }
}

function addComposite(rows: IndexRows, param: SearchParam, roots: unknown[]): void {
  const [first, second] = param.components!;
  for (const root of roots) {
    const ones = first.evaluate(root).flatMap((value) => (first.type === 'token' ? tokens(value) : []));
    const twos = second.evaluate(root).flatMap((value) => componentTwo(second.type, value));
    for (const one of ones) {
      for (const two of twos) rows.composite.push({ code: param.code, c1_system: one.system, c1_value: one.value, ...two });
    }
  }
}

export function extractIndexRows(registry: SearchParameterRegistry, resource: Resource): IndexRows {
  const rows = emptyRows();
  for (const param of registry.forType(resource.resourceType)) {
    for (const part of param.parts) {
      let values: unknown[];
      try {
        values = part.evaluate(resource);
      } catch {
        continue; // an expression that fails on this resource indexes nothing for it
      }
      if (param.type === 'composite') addComposite(rows, param, values);
      else addValues(rows, param, values, part.targetType);
    }
  }
  return rows;
}
