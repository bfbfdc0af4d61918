// SMART on FHIR system scopes: parsing, what a client may be granted, and which granted scopes
// allow an access. Pure: no I/O, so the token endpoint and the policy decision point share it.
//
// Grammar (SMART App Launch v2): system/(Type|*).[c][r][u][d][s][?param=value&...], permissions
// in that order. The SMART v1 forms .read (= rs), .write (= cud) and .* (= cruds) are accepted too,
// without filters (v1 has none). Only system/ scopes exist here: there is no user or patient launch.

export type ScopePermission = 'c' | 'r' | 'u' | 'd' | 's';

export interface SmartScope {
  text: string;
  /** A resource type, or '*' for every type. */
  resourceType: string;
  permissions: ReadonlySet<ScopePermission>;
  /** Search-parameter restrictions, in the order given (SMART v2 granular scopes). */
  filters: [string, string][];
}

const V1_PERMISSIONS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };
const SCOPE = /^system\/(\*|[A-Z][A-Za-z]{0,63})\.([^?]+)(?:\?(.*))?$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const FILTER_NAME = /^[A-Za-z0-9_\-.:]+$/;

function parseFilters(query: string): [string, string][] | undefined {
  const filters: [string, string][] = [];
  for (const part of query.split('&')) {
    const equals = part.indexOf('=');
    if (equals <= 0) return undefined;
    const name = part.slice(0, equals);
    const value = part.slice(equals + 1);
    // Values are compared as written: decoding could turn %26 into a separator and widen a filter.
    if (!FILTER_NAME.test(name) || value === '') return undefined;
    filters.push([name, value]);
  }
  return filters;
}

export function parseScope(text: string): SmartScope | undefined {
  const match = SCOPE.exec(text);
  if (!match) return undefined;
  const [, resourceType, permissionText, query] = match;
  const v1 = V1_PERMISSIONS[permissionText];
  if (v1 !== undefined && query !== undefined) return undefined;
  const letters = v1 ?? permissionText;
  if (!letters || !V2_PERMISSIONS.test(letters)) return undefined;
  const filters = query === undefined ? [] : parseFilters(query);
  if (!filters) return undefined;
  return { text, resourceType, permissions: new Set(letters.split('') as ScopePermission[]), filters };
}

/** A registered scope covers a requested one when it is at least as wide in every respect. */
function covers(registered: SmartScope, requested: SmartScope): boolean {
  if (registered.resourceType !== '*' && registered.resourceType !== requested.resourceType) return false;
  for (const permission of requested.permissions) if (!registered.permissions.has(permission)) return false;
  // Each registered filter narrows the registration, so the request must keep every one of them.
  return registered.filters.every(([name, value]) => requested.filters.some(([n, v]) => n === name && v === value));
}

/**
 * The scopes to grant: each requested scope that some registered scope covers, once each, in the
 * order requested; with no request, the registered scopes. Never wider than the registration.
 */
export function grantScopes(requested: string | undefined, registered: string[]): string[] {
  const registeredScopes = registered.map(parseScope).filter((scope): scope is SmartScope => scope !== undefined);
  const wanted = requested?.split(/\s+/).filter(Boolean) ?? [];
  if (wanted.length === 0) return [...new Set(registeredScopes.map((scope) => scope.text))];
  const granted = new Set<string>();
  for (const text of wanted) {
    const scope = parseScope(text);
    if (scope && registeredScopes.some((candidate) => covers(candidate, scope))) granted.add(text);
  }
  return [...granted];
}

export function scopesFor(scopes: readonly SmartScope[], resourceType: string, permission: ScopePermission): SmartScope[] {
  return scopes.filter((scope) => (scope.resourceType === '*' || scope.resourceType === resourceType) && scope.permissions.has(permission));
}
