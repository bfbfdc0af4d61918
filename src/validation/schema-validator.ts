// Structural validation of every write against the official R4 JSON schema, with ajv.
//
// Compiling the whole schema takes seconds because every resource can contain any other
// (Resource.contained, Bundle.entry.resource). So each resource type is compiled on first use,
// and nested resources are checked by a `fhirResource` keyword that dispatches to the nested
// type's own validator. Start-up pays nothing; a type's first write pays ~10-200 ms once.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { FhirError, type IssueInput } from '../fhir/errors.ts';
import { fhirResourceTypes, fhirSchema, type JsonSchema } from './fhir-schema.ts';

const SCHEMA_KEY = 'fhir-r4';
const MAX_ISSUES = 50;

interface NestedValidate {
  (this: unknown, schema: unknown, data: unknown, parentSchema?: unknown, dataCxt?: { instancePath: string }): boolean;
  errors?: Partial<ErrorObject>[];
}

export class SchemaValidator {
  #ajvInstance: Ajv | undefined;
  readonly #compiled = new Map<string, ValidateFunction>();

  /** Built on first use: loading the 3.5 MB schema would otherwise add ~150 ms to start-up. */
  get #ajv(): Ajv {
    this.#ajvInstance ??= this.#createAjv();
    return this.#ajvInstance;
  }

  #createAjv(): Ajv {
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, addUsedSchema: false });
    const source = fhirSchema();
    const definitions: Record<string, JsonSchema> = { ...source.definitions, ResourceList: { fhirResource: true } };
    const nested: NestedValidate = (_schema, data, _parent, dataCxt) => {
      const issues = this.#validateNested(data, dataCxt?.instancePath ?? '');
      nested.errors = issues;
      return issues.length === 0;
    };
    ajv.addKeyword({ keyword: 'fhirResource', errors: true, validate: nested as never });
    ajv.addKeyword({ keyword: 'requiredChoice', errors: true, validate: requiredChoice as never });
    ajv.addKeyword({ keyword: 'calendarDate', errors: false, validate: isCalendarDate });
    ajv.addSchema({ definitions }, SCHEMA_KEY);
    return ajv;
  }

  #validatorFor(resourceType: string): ValidateFunction {
    let validate = this.#compiled.get(resourceType);
    if (!validate) {
      validate = this.#ajv.getSchema(`${SCHEMA_KEY}#/definitions/${resourceType}`);
      if (!validate) throw new Error(`No schema for ${resourceType}`);
      this.#compiled.set(resourceType, validate);
    }
    return validate;
  }

  /** Errors of a resource nested at `prefix`, with paths made absolute. */
  #validateNested(data: unknown, prefix: string): Partial<ErrorObject>[] {
    const type = resourceTypeOf(data);
    if (!type) {
      return [{ instancePath: `${prefix}/resourceType`, keyword: 'resourceType', params: {}, message: 'must name a known resource type' }];
    }
    const validate = this.#validatorFor(type);
    if (validate(data)) return [];
    return (validate.errors ?? []).map((error) => ({ ...error, instancePath: prefix + error.instancePath }));
  }

  /** Throws a 400 FhirError listing every structural problem (up to 50), each with its path. */
  validate(resource: unknown): void {
    const type = resourceTypeOf(resource);
    if (!type) {
      throw new FhirError(400, { code: 'structure', diagnostics: 'resourceType is missing or not a known R4 resource type', expression: 'resourceType' });
    }
    const validate = this.#validatorFor(type);
    if (validate(resource)) return;
    const issues = dedupe((validate.errors ?? []).map((error) => toIssue(type, error)));
    throw new FhirError(400, issues.slice(0, MAX_ISSUES));
  }
}

/** A required choice element such as `value[x]`: some `valueXxx` must be present. */
const requiredChoice: NestedValidate = function (schema, data) {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return true;
  const keys = Object.keys(data);
  const missing = (schema as string[]).filter((prefix) => !keys.some((key) => key.startsWith(prefix) && /^[A-Z]/.test(key.slice(prefix.length))));
  requiredChoice.errors = missing.map((prefix) => ({ keyword: 'required', params: { missingProperty: `${prefix}[x]` }, message: 'required choice' }));
  return missing.length === 0;
};

/** The pattern checks a date's shape; this checks the day exists (no 2025-02-30). */
function isCalendarDate(_schema: unknown, data: unknown): boolean {
  if (typeof data !== 'string') return true;
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(data);
  if (!match) return true;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

function resourceTypeOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const type = (data as { resourceType?: unknown }).resourceType;
  return typeof type === 'string' && fhirResourceTypes().has(type) ? type : undefined;
}

/** `/name/0/given` under Patient → `Patient.name[0].given`. */
export function pointerToFhirPath(root: string, pointer: string): string {
  let out = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return out;
}

function toIssue(root: string, error: Partial<ErrorObject>): IssueInput {
  const path = pointerToFhirPath(root, error.instancePath ?? '');
  const params = (error.params ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      return { code: 'structure', diagnostics: `Unknown element '${name}'`, expression: `${path}.${name}` };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      return { code: 'required', diagnostics: `Missing required element '${missing}'`, expression: `${path}.${missing.replace('[x]', '')}` };
    }
    case 'type':
      return { code: 'structure', diagnostics: `Wrong type: expected ${String(params.type)}`, expression: path };
    case 'pattern':
    case 'calendarDate': {
      // schemaPath looks like #/definitions/date/pattern: name the FHIR primitive type.
      const primitive = /definitions\/([a-z][A-Za-z0-9]*)\/(pattern|calendarDate)$/.exec(error.schemaPath ?? '')?.[1];
      return { code: 'value', diagnostics: primitive ? `Invalid ${primitive} value` : 'Invalid value', expression: path };
    }
    case 'minItems':
      return { code: 'structure', diagnostics: 'Arrays must not be empty', expression: path };
    case 'minProperties':
      return { code: 'structure', diagnostics: 'Objects must not be empty', expression: path };
    case 'enum':
      return { code: 'value', diagnostics: `Invalid code: expected one of ${(params.allowedValues as unknown[]).join(', ')}`, expression: path };
    case 'const':
      return { code: 'value', diagnostics: `Must be '${String(params.allowedValue)}'`, expression: path };
    case 'resourceType':
      return { code: 'structure', diagnostics: 'Nested resource must name a known resource type', expression: path };
    default:
      return { code: 'structure', diagnostics: error.message ?? 'Invalid content', expression: path };
  }
}

function dedupe(issues: IssueInput[]): IssueInput[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.expression}|${issue.diagnostics}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
