// FHIR operations ($name at system, type or instance level): what an operation declares and what
// it receives. Inputs come from the query string (GET, and POST with a form of simple values) and
// from a Parameters body (POST); a body that is a resource other than Parameters is the `resource` input.
import type { Parameters, ParametersParameter, Resource } from 'fhir/r4';
import { badRequest } from '../errors.ts';
import type { Scope } from '../scope.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';

export type OperationLevel = 'system' | 'type' | 'instance';

export interface OperationCall {
  scope: Scope;
  request: FhirRequest;
  level: OperationLevel;
  type?: string;
  id?: string;
  input: OperationInput;
}

export interface Operation {
  /** Without the `$`, e.g. `validate`. */
  name: string;
  levels: OperationLevel[];
  /** Resource types it is defined on; undefined: every type. */
  types?: string[];
  /** Whether it may be called with GET (no side effects). */
  affectsState: boolean;
  run(call: OperationCall): Promise<FhirResponse>;
}

export class OperationInput {
  readonly #parameters: ParametersParameter[];
  /** A resource posted directly as the body (not wrapped in Parameters). */
  readonly body?: Resource;

  constructor(request: FhirRequest) {
    const parameters: ParametersParameter[] = [];
    for (const [name, value] of request.query) if (!name.startsWith('_')) parameters.push({ name, valueString: value });
    const body = request.body as Resource | undefined;
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      if (body.resourceType === 'Parameters') parameters.push(...((body as Parameters).parameter ?? []));
      else if (typeof body.resourceType === 'string') this.body = body;
      else throw badRequest('The body must be a Parameters resource or a resource', 'Parameters');
    }
    this.#parameters = parameters;
  }

  all(name: string): ParametersParameter[] {
    return this.#parameters.filter((parameter) => parameter.name === name);
  }

  /** A single primitive input as a string (any value[x] of a primitive type). */
  string(name: string): string | undefined {
    const found = this.all(name);
    if (found.length > 1) throw badRequest(`Parameter '${name}' may appear only once`, `Parameters.parameter[${name}]`);
    const parameter = found[0];
    if (!parameter) return undefined;
    for (const [key, value] of Object.entries(parameter)) {
      if (key.startsWith('value') && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) return String(value);
    }
    throw badRequest(`Parameter '${name}' must have a primitive value`, `Parameters.parameter[${name}]`);
  }

  integer(name: string): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) throw badRequest(`Parameter '${name}' must be a non-negative integer`, `Parameters.parameter[${name}]`);
    return value;
  }

  /** A resource input: `name` in Parameters, or the body itself. */
  resource(name: string): Resource | undefined {
    return this.all(name).find((parameter) => parameter.resource)?.resource ?? this.body;
  }

  /** A complex value input (Coding, CodeableConcept...). */
  value<T>(name: string, type: string): T | undefined {
    return this.all(name).map((parameter) => (parameter as unknown as Record<string, unknown>)[`value${type}`] as T | undefined).find((value) => value !== undefined);
  }
}
