// Parses search query parameters into a SearchRequest, with the registry's parameter types.
// Unknown parameters are collected (and rejected when strict); malformed values are a 400 that
// names the parameter.
import { badRequest, FhirError, type IssueInput } from '../errors.ts';
import { isResourceType } from '../resource-identity.ts';
import type { SearchParam, SearchParameterRegistry } from './search-parameter-registry.ts';
import {
  DEFAULT_PAGE_SIZE,
  type Filter,
  type Include,
  type IndexMatch,
  type ReferenceMatch,
  type SearchCursor,
  type SearchRequest,
  type SortKey,
  type UriMatch,
} from './search-request.ts';
import { normalizeString } from './normalize-string.ts';
import { parseDateMatch, parseNumberMatch, parseQuantityMatch, parseTokenMatch, splitEscaped, unescape } from './search-values.ts';

export interface ParseOptions {
  maxPageSize: number;
  /** Unknown parameters are an error (Prefer: handling=strict, and always for conditional interactions). */
  strict: boolean;
  fhirBase: string;
}

const TABLE_OF: Record<string, string> = {
  token: 'search_token', string: 'search_string', date: 'search_date', number: 'search_number',
  quantity: 'search_quantity', reference: 'search_reference', uri: 'search_uri', composite: 'search_composite',
};
const SORTABLE = new Set(['token', 'string', 'date', 'number', 'quantity', 'uri']);

class UnknownParameter extends Error {}

const invalid = (parameter: string, why: string) => badRequest(`Invalid value for ${parameter}: ${why}`, parameter);

interface Context {
  registry: SearchParameterRegistry;
  options: ParseOptions;
  /** The whole parameter as written, for error messages. */
  parameter: string;
}

function referenceMatch(ctx: Context, param: SearchParam, raw: string, typeModifier: string | undefined): ReferenceMatch {
  let value = unescape(raw);
  if (value.startsWith(`${ctx.options.fhirBase}/`)) value = value.slice(ctx.options.fhirBase.length + 1);
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return { url: value.split('|')[0] }; // absolute URL, urn or canonical
  const parts = value.split('/');
  if (parts.length >= 2 && isResourceType(parts[0])) {
    if (typeModifier && typeModifier !== parts[0]) throw invalid(ctx.parameter, `'${value}' is not a ${typeModifier}`);
    return { targetType: parts[0], targetId: parts[1] };
  }
  if (parts.length !== 1 || !parts[0]) throw invalid(ctx.parameter, `'${value}' is not a reference`);
  const targetType = typeModifier ?? (param.targets.length === 1 ? param.targets[0] : undefined);
  return { targetType, targetId: parts[0] };
}

function uriMatch(raw: string, modifier: string | undefined): UriMatch {
  return { value: unescape(raw), mode: modifier === 'below' ? 'below' : modifier === 'above' ? 'above' : 'equals' };
}

/** One parameter (no chain) on `type`: its filter for a comma-separated OR list of values. */
function valueFilter(ctx: Context, type: string, param: SearchParam, modifier: string | undefined, value: string): Filter {
  const values = splitEscaped(value, ',').filter((item) => item !== '');
  if (values.length === 0) throw invalid(ctx.parameter, 'empty value');
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw invalid(ctx.parameter, ':missing takes true or false');
    return { kind: 'missing', table: TABLE_OF[param.type], code: param.code, missing: value === 'true' };
  }
  const unsupported = () => new FhirError(400, { code: 'not-supported', diagnostics: `Modifier :${modifier} is not supported for ${type}.${param.code} (${param.type})`, expression: ctx.parameter });
  let match: IndexMatch;
  let negate = false;
  switch (param.type) {
    case 'token': {
      if (modifier && !['not', 'text', 'of-type'].includes(modifier)) throw unsupported();
      negate = modifier === 'not';
      match = {
        table: 'search_token',
        anyOf: values.map((item) => {
          if (modifier === 'text') return { text: normalizeString(unescape(item)) };
          if (modifier === 'of-type') {
            const [typeSystem, typeCode, identifier] = splitEscaped(item, '|').map(unescape);
            if (!typeCode || identifier === undefined) throw invalid(ctx.parameter, ':of-type takes system|code|value');
            return { typeSystem: typeSystem || undefined, typeCode, value: identifier };
          }
          return parseTokenMatch(item);
        }),
      };
      break;
    }
    case 'string':
      if (modifier && modifier !== 'exact' && modifier !== 'contains') throw unsupported();
      match = {
        table: 'search_string',
        anyOf: values.map((item) => ({
          value: modifier === 'exact' ? unescape(item) : normalizeString(unescape(item)),
          mode: modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'start',
        })),
      };
      break;
    case 'date':
      if (modifier) throw unsupported();
      match = { table: 'search_date', anyOf: values.map((item) => parseDateMatch(item, ctx.parameter)) };
      break;
    case 'number':
      if (modifier) throw unsupported();
      match = { table: 'search_number', anyOf: values.map((item) => parseNumberMatch(item, ctx.parameter)) };
      break;
    case 'quantity':
      if (modifier) throw unsupported();
      match = { table: 'search_quantity', anyOf: values.map((item) => parseQuantityMatch(item, ctx.parameter)) };
      break;
    case 'uri':
      if (modifier && modifier !== 'below' && modifier !== 'above') throw unsupported();
      match = { table: 'search_uri', anyOf: values.map((item) => uriMatch(item, modifier)) };
      break;
    case 'reference': {
      if (modifier === 'identifier') {
        match = {
          table: 'search_reference',
          anyOf: values.map((item) => {
            const token = parseTokenMatch(item);
            return { identifierSystem: token.system ?? undefined, identifierValue: token.value };
          }),
        };
        break;
      }
      if (modifier && !isResourceType(modifier)) throw unsupported();
      match = { table: 'search_reference', anyOf: values.map((item) => referenceMatch(ctx, param, item, modifier)) };
      break;
    }
    case 'composite': {
      if (modifier) throw unsupported();
      const second = param.components![1].type;
      match = {
        table: 'search_composite',
        anyOf: values.map((item) => {
          const [one, two] = splitEscaped(item, '$');
          if (two === undefined) throw invalid(ctx.parameter, 'a composite value needs two parts joined by $');
          return {
            first: parseTokenMatch(one),
            second:
              second === 'token' ? { token: parseTokenMatch(two) }
              : second === 'quantity' ? { number: parseQuantityMatch(two, ctx.parameter) }
              : second === 'date' ? { date: parseDateMatch(two, ctx.parameter) }
              : { string: normalizeString(unescape(two)) },
          };
        }),
      };
      break;
    }
    default:
      throw new UnknownParameter();
  }
  return { kind: 'index', code: param.code, match, negate };
}

/** A parameter name on `type` (possibly chained or `_has`) with its value. */
function parseNamed(ctx: Context, type: string, name: string, value: string): Filter {
  if (name.startsWith('_has:')) {
    const [, sourceType, code, ...rest] = name.split(':');
    if (!sourceType || !code || rest.length === 0) throw invalid(ctx.parameter, '_has takes _has:Type:reference:parameter');
    if (!isResourceType(sourceType)) throw invalid(ctx.parameter, `unknown resource type ${sourceType}`);
    const reference = ctx.registry.get(sourceType, code);
    if (!reference || reference.type !== 'reference') throw new UnknownParameter();
    return { kind: 'has', sourceType, code, inner: [parseNamed(ctx, sourceType, rest.join(':'), value)] };
  }
  if (name === '_id') {
    return { kind: 'id', ids: splitEscaped(value, ',').map(unescape).filter(Boolean) };
  }
  if (name === '_lastUpdated') {
    return { kind: 'lastUpdated', anyOf: splitEscaped(value, ',').map((item) => parseDateMatch(item, ctx.parameter)) };
  }
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const [code, modifier] = head.split(':', 2);
  const param = ctx.registry.get(type, code);
  if (!param) throw new UnknownParameter();
  if (dot < 0) return valueFilter(ctx, type, param, modifier, value);

  // Chained: the reference's target types (one given by :Type, else every declared target).
  if (param.type !== 'reference') throw invalid(ctx.parameter, `${code} is not a reference parameter and cannot be chained`);
  const targets = modifier ? [modifier] : param.targets;
  if (targets.length === 0 || targets.some((target) => !isResourceType(target))) throw invalid(ctx.parameter, 'cannot tell the chained resource type; add :Type');
  const rest = name.slice(dot + 1);
  const chains: Filter[] = [];
  for (const targetType of targets) {
    try {
      chains.push({ kind: 'chain', code, targetType, inner: [parseNamed(ctx, targetType, rest, value)] });
    } catch (error) {
      // With several possible targets, the chained parameter needs to exist on some of them only.
      if (!(error instanceof UnknownParameter) || targets.length === 1) throw error;
    }
  }
  if (chains.length === 0) throw new UnknownParameter();
  return chains.length === 1 ? chains[0] : { kind: 'or', anyOf: chains };
}

function parseSort(ctx: Context, type: string, value: string): SortKey[] {
  return value.split(',').filter(Boolean).map((key): SortKey => {
    const descending = key.startsWith('-');
    const code = descending ? key.slice(1) : key;
    if (code === '_id') return { kind: 'column', column: 'id', descending };
    if (code === '_lastUpdated') return { kind: 'column', column: 'last_updated', descending };
    const param = ctx.registry.get(type, code);
    if (!param || !SORTABLE.has(param.type)) throw invalid('_sort', `cannot sort ${type} by '${code}'`);
    return { kind: 'param', table: TABLE_OF[param.type] as Extract<SortKey, { kind: 'param' }>['table'], code, descending };
  });
}

function parseInclude(ctx: Context, value: string, iterate: boolean, type: string): Include {
  if (value === '*') return { sourceType: type, code: '*', iterate };
  const [sourceType, code, targetType] = value.split(':');
  if (!sourceType || !code || !isResourceType(sourceType)) throw invalid(ctx.parameter, `expected Type:parameter[:Target], got '${value}'`);
  if (code !== '*') {
    const param = ctx.registry.get(sourceType, code);
    if (!param || param.type !== 'reference') throw invalid(ctx.parameter, `${sourceType}.${code} is not a reference parameter`);
  }
  if (targetType && !isResourceType(targetType)) throw invalid(ctx.parameter, `unknown resource type ${targetType}`);
  // An _include of another type than the one searched applies to nothing unless it iterates.
  return { sourceType, code, targetType, iterate };
}

export function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'next' ? 'n' : 'p', ...cursor.values])).toString('base64url');
}

function decodeCursor(token: string, keys: number): SearchCursor {
  try {
    const [direction, ...values] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as (string | null)[];
    if ((direction === 'n' || direction === 'p') && values.length === keys && values.every((value) => value === null || typeof value === 'string')) {
      return { direction: direction === 'n' ? 'next' : 'previous', values };
    }
  } catch {
    // fall through
  }
  throw badRequest('Invalid or stale _cursor (it must come from a link of the same search)', '_cursor');
}

export function parseSearch(resourceType: string, query: URLSearchParams, registry: SearchParameterRegistry, options: ParseOptions): SearchRequest {
  const request: SearchRequest = {
    resourceType, filters: [], sort: [], count: DEFAULT_PAGE_SIZE,
    includes: [], revincludes: [], used: [], unknown: [],
  };
  let cursor: string | undefined;
  for (const [name, value] of query) {
    const ctx: Context = { registry, options, parameter: name };
    const [base, modifier] = name.split(':', 2);
    switch (base) {
      case '_count': {
        const count = Number(value);
        if (!Number.isInteger(count) || count < 0) throw invalid(name, '_count must be a non-negative integer');
        request.count = Math.min(count, options.maxPageSize);
        break;
      }
      case '_sort':
        request.sort.push(...parseSort(ctx, resourceType, value));
        break;
      case '_total':
        if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw invalid(name, 'none, estimate or accurate');
        request.total = value;
        break;
      case '_summary':
        if (!['true', 'text', 'data', 'count', 'false'].includes(value)) throw invalid(name, 'true, text, data, count or false');
        request.summary = value as SearchRequest['summary'];
        break;
      case '_elements':
        request.elements = value.split(',').map((element) => element.trim()).filter(Boolean);
        break;
      case '_include':
      case '_revinclude': {
        if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') throw invalid(name, `unknown modifier :${modifier}`);
        const iterate = modifier !== undefined;
        const include = parseInclude(ctx, value, iterate, resourceType);
        (base === '_include' ? request.includes : request.revincludes).push(include);
        break;
      }
      case '_cursor':
        cursor = value;
        continue; // not part of the self link's criteria
      case '_format':
      case '_pretty':
        continue;
      default:
        try {
          request.filters.push(parseNamed(ctx, resourceType, name, value));
        } catch (error) {
          if (!(error instanceof UnknownParameter)) throw error;
          request.unknown.push(name);
          continue;
        }
    }
    request.used.push([name, value]);
  }
  if (!request.sort.some((key) => key.kind === 'column' && key.column === 'id')) request.sort.push({ kind: 'column', column: 'id', descending: false });
  if (cursor !== undefined) request.cursor = decodeCursor(cursor, request.sort.length);
  if (options.strict && request.unknown.length) {
    const issues: IssueInput[] = request.unknown.map((name) => ({
      code: 'not-supported',
      diagnostics: `Unknown or unsupported search parameter '${name}' for ${resourceType}`,
      expression: name,
    }));
    throw new FhirError(400, issues);
  }
  return request;
}
