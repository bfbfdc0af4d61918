// The CapabilityStatement, generated from what the router, search and auth actually implement.
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import { fhirResourceTypes } from '../validation/fhir-schema.ts';
import type { Operation } from './operations/operation.ts';
import type { SearchParameterRegistry } from './search/search-parameter-registry.ts';

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;
// Parameters the search engine handles itself (no index rows) and supports on every type.
const ENGINE_PARAMS = new Set(['_id', '_lastUpdated']);
const UNSUPPORTED = new Set(['_text', '_content', '_query', '_list', '_type']);

function searchParams(registry: SearchParameterRegistry, type: string): Pick<CapabilityStatementRestResource, 'searchParam' | 'searchInclude' | 'searchRevInclude'> {
  const definitions = registry.definitionsFor(type).filter(
    (definition) =>
      !UNSUPPORTED.has(definition.code) &&
      definition.type !== 'special' &&
      (definition.type !== 'composite' || definition.component?.length === 2) &&
      (definition.expression || ENGINE_PARAMS.has(definition.code)),
  );
  const searchParam = definitions
    .map((definition) => ({ name: definition.code, definition: definition.url, type: definition.type }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const references = definitions.filter((definition) => definition.type === 'reference');
  const searchInclude = ['*', ...references.map((definition) => `${type}:${definition.code}`).sort()];
  const searchRevInclude: string[] = [];
  for (const source of fhirResourceTypes()) {
    for (const definition of registry.definitionsFor(source)) {
      if (definition.type === 'reference' && definition.expression && (definition.target ?? []).includes(type as never)) searchRevInclude.push(`${source}:${definition.code}`);
    }
  }
  // FHIR JSON forbids empty arrays: leave out what a type does not have.
  return { searchParam, searchInclude, ...(searchRevInclude.length ? { searchRevInclude: searchRevInclude.sort() } : {}) };
}

// Built once per registry version: listing every type's parameters and includes takes ~100 ms.
const cache = new WeakMap<SearchParameterRegistry, { version: number; resource: CapabilityStatementRestResource[] }>();

function resources(registry: SearchParameterRegistry): CapabilityStatementRestResource[] {
  const cached = cache.get(registry);
  if (cached?.version === registry.version) return cached.resource;
  const resource = [...fhirResourceTypes()].sort().map(
    (type): CapabilityStatementRestResource => ({
      type: type as CapabilityStatementRestResource['type'],
      interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: true,
      conditionalDelete: 'single',
      ...searchParams(registry, type),
    }),
  );
  cache.set(registry, { version: registry.version, resource });
  return resource;
}

/** Each offered operation on the types it is defined for (or at the system level). */
function withOperations(resource: CapabilityStatementRestResource[], operations: Operation[]): CapabilityStatementRestResource[] {
  const forType = (type: string) =>
    operations.filter((operation) => operation.types?.includes(type) || (!operation.types && operation.levels.some((level) => level !== 'system')));
  return resource.map((entry) => {
    const offered = forType(entry.type);
    return offered.length ? { ...entry, operation: offered.map((operation) => ({ name: operation.name, definition: operationDefinition(operation.name, entry.type) })) } : entry;
  });
}

/** The operations invoked on the base URL itself (CapabilityStatement.rest.operation). */
const systemOperations = (operations: Operation[]) =>
  operations.filter((operation) => operation.levels.includes('system')).map((operation) => ({ name: operation.name, definition: operationDefinition(operation.name) }));

// Canonical OperationDefinitions: the R4 ones, else the SDC/IG/Bulk Data ones, else the hub's own.
const BULK_EXPORT: Record<string, string> = {
  Patient: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
  Group: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
};
const operationDefinition = (name: string, type?: string): string =>
  (name === 'export' && type ? BULK_EXPORT[type] : undefined) ??
  ({
    export: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
    'evaluate-measure': 'http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure',
    lookup: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup',
    expand: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
    'validate-code': 'http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code',
    translate: 'http://hl7.org/fhir/OperationDefinition/ConceptMap-translate',
    validate: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    extract: 'http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract',
  })[name] ?? `urn:cch:operation:${name}`;

export function capabilityStatement(fhirBase: string, software: { name: string; version: string }, registry: SearchParameterRegistry, operations: Operation[] = []): CapabilityStatement {
  const resource = withOperations(resources(registry), operations);
  const tokenUrl = fhirBase.replace(/\/fhir$/, '/auth/token');
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    // SMART Bulk Data export ($export at system, Patient and Group level).
    instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
    software,
    implementation: { description: 'Community Care Hub FHIR server', url: fhirBase },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }] }],
          description: 'OAuth 2.0 client credentials (SMART Backend Services private_key_jwt, or client_secret_basic); bearer JWT on every request but /metadata. What a client sees follows its disclosure profile, relationships and patient consents.',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: tokenUrl }],
            },
          ],
        },
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        operation: systemOperations(operations),
      },
    ],
  };
}
