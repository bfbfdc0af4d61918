// Maps a FhirRequest (from HTTP or from a bundle entry) to its interaction, after the policy check.
import type { Interaction } from '../policy/interaction.ts';
import { readCurrent } from '../store/resource-store.ts';
import { badRequest, FhirError, notFound, operationOutcome } from './errors.ts';
import { create } from './interactions/create.ts';
import { conditionalDelete, deleteResource } from './interactions/delete.ts';
import { history } from './interactions/history.ts';
import { patch } from './interactions/patch.ts';
import { read, readVisible, vread } from './interactions/read.ts';
import { search } from './interactions/search.ts';
import { conditionalUpdate, update } from './interactions/update.ts';
import { requireId, requireResourceType } from './resource-identity.ts';
import { OperationInput } from './operations/operation.ts';
import type { Scope } from './scope.ts';
import type { FhirMethod, FhirRequest, FhirResponse } from './types.ts';

export type Route =
  | { kind: 'capabilities' }
  | { kind: 'bundle' }
  | { kind: 'history-system' }
  | { kind: 'type'; type: string }
  | { kind: 'search-post'; type: string }
  | { kind: 'history-type'; type: string }
  | { kind: 'instance'; type: string; id: string }
  | { kind: 'history-instance'; type: string; id: string }
  | { kind: 'version'; type: string; id: string; versionId: string }
  /** `$name` at the system (`$x`), type (`Type/$x`) or instance (`Type/id/$x`) level. */
  | { kind: 'operation'; name: string; type?: string; id?: string };

const ALLOWED: Record<Route['kind'], FhirMethod[]> = {
  capabilities: ['GET', 'HEAD'],
  bundle: ['POST'],
  'history-system': ['GET', 'HEAD'],
  type: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
  'search-post': ['POST'],
  'history-type': ['GET', 'HEAD'],
  instance: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'],
  'history-instance': ['GET', 'HEAD'],
  version: ['GET', 'HEAD'],
  operation: ['GET', 'POST'],
};

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter((part) => part.length > 0).map(decodeURIComponent);
  const last = parts[parts.length - 1];
  if (last?.startsWith('$') && parts.length <= 3 && !parts.slice(0, -1).some((part) => part.startsWith('$'))) {
    const name = last.slice(1);
    if (!/^[a-z][a-z0-9-]*$/i.test(name)) throw notFound(`No FHIR endpoint at '${path}'`);
    if (parts.length === 1) return { kind: 'operation', name };
    requireResourceType(parts[0]);
    if (parts.length === 2) return { kind: 'operation', name, type: parts[0] };
    requireId(parts[1]);
    return { kind: 'operation', name, type: parts[0], id: parts[1] };
  }
  if (parts.some((part) => part.startsWith('$'))) throw notFound(`No FHIR endpoint at '${path}'`);
  if (parts.length === 0) return { kind: 'bundle' };
  if (parts.length === 1 && parts[0] === 'metadata') return { kind: 'capabilities' };
  if (parts.length === 1 && parts[0] === '_history') return { kind: 'history-system' };
  const [type, second, third, fourth] = parts;
  requireResourceType(type);
  if (parts.length === 1) return { kind: 'type', type };
  if (parts.length === 2 && second === '_search') return { kind: 'search-post', type };
  if (parts.length === 2 && second === '_history') return { kind: 'history-type', type };
  requireId(second);
  if (parts.length === 2) return { kind: 'instance', type, id: second };
  if (parts.length === 3 && third === '_history') return { kind: 'history-instance', type, id: second };
  if (parts.length === 4 && third === '_history') return { kind: 'version', type, id: second, versionId: fourth };
  throw notFound(`No FHIR endpoint at '${path}'`);
}

export function checkMethod(route: Route, method: FhirMethod): void {
  const allowed = ALLOWED[route.kind];
  if (!allowed.includes(method)) {
    throw new FhirError(405, { code: 'not-supported', diagnostics: `${method} is not allowed here` }, { Allow: allowed.join(', ') });
  }
}

/** The interaction a request performs, for the policy check and the capability statement. */
export function interactionOf(route: Route, request: FhirRequest): Interaction {
  switch (route.kind) {
    case 'capabilities':
      return 'capabilities';
    case 'bundle':
      return (request.body as { type?: string } | undefined)?.type === 'batch' ? 'batch' : 'transaction';
    case 'history-system':
    case 'history-type':
    case 'history-instance':
      return route.kind;
    case 'search-post':
      return 'search-type';
    case 'version':
      return 'vread';
    case 'instance':
      return ({ GET: 'read', HEAD: 'read', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[request.method as 'GET'];
    case 'operation':
      return 'operation';
    case 'type':
      if (request.method === 'POST') return 'create';
      if (request.method === 'PUT') return 'update';
      if (request.method === 'DELETE') return 'delete';
      return 'search-type';
  }
}

export function isWrite(method: FhirMethod): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
}

/** Runs one interaction other than capabilities and bundles (those need the engine), gated by the policy. */
export async function dispatch(scope: Scope, request: FhirRequest, route: Route): Promise<FhirResponse> {
  checkMethod(route, request.method);
  const type = 'type' in route ? route.type : undefined;
  scope.guard.gate(interactionOf(route, request), type, route.kind === 'operation' ? route.name : undefined);
  return withWarnings(scope, async () => {
    const response = await run(scope, request, route);
    // Single resources leave trimmed to the profile; bundles trim their entries themselves.
    if (response.resource) response.resource = scope.guard.redact(response.resource);
    return response;
  });
}

/** Runs one interaction and puts the validation warnings it raised into its response's OperationOutcome. */
export async function withWarnings(scope: Scope, interaction: () => Promise<FhirResponse>): Promise<FhirResponse> {
  const start = scope.warnings.length;
  const response = await interaction();
  const warnings = scope.warnings.splice(start);
  if (warnings.length && !response.outcome) response.outcome = operationOutcome(warnings);
  return response;
}

async function run(scope: Scope, request: FhirRequest, route: Route): Promise<FhirResponse> {
  const criteria = request.query.toString();
  switch (route.kind) {
    case 'history-system':
      return history(scope, request, {});
    case 'history-type':
      return history(scope, request, { resourceType: route.type });
    case 'history-instance':
      if (scope.guard.restricted) await readVisible(scope, route.type, route.id);
      else if (!(await readCurrent(scope.q, route.type, route.id))) throw notFound(`${route.type}/${route.id} is not known`);
      return history(scope, request, { resourceType: route.type, id: route.id });
    case 'version':
      return vread(scope, route.type, route.id, route.versionId);
    case 'search-post':
      return search(scope, request, route.type);
    case 'operation': {
      const level = route.id ? 'instance' : route.type ? 'type' : 'system';
      const operation = scope.services.operations.find(route.name, level, route.type);
      if (request.method === 'GET' && operation.affectsState) {
        throw new FhirError(405, { code: 'not-supported', diagnostics: `$${route.name} changes data: use POST` }, { Allow: 'POST' });
      }
      return operation.run({ scope, request, level, type: route.type, id: route.id, input: new OperationInput(request) });
    }
    case 'instance':
      switch (request.method) {
        case 'PUT':
          return update(scope, route.type, route.id, request.body, request.ifMatch);
        case 'PATCH':
          return patch(scope, route.type, route.id, request.body, request.ifMatch);
        case 'DELETE':
          return deleteResource(scope, route.type, route.id, request.ifMatch);
        default:
          return read(scope, request, route.type, route.id);
      }
    case 'type':
      switch (request.method) {
        case 'POST':
          return create(scope, route.type, request.body, request.ifNoneExist);
        case 'PUT':
          if (!criteria) throw badRequest('PUT needs an id in the URL, or search criteria for a conditional update', route.type);
          return conditionalUpdate(scope, route.type, criteria, request.body, request.ifMatch);
        case 'DELETE':
          if (!criteria) throw badRequest('DELETE needs an id in the URL, or search criteria for a conditional delete', route.type);
          return conditionalDelete(scope, route.type, criteria);
        default:
          return search(scope, request, route.type);
      }
    default:
      throw new Error(`dispatch cannot run ${route.kind}`);
  }
}
