// The CapabilityStatement, generated from what the router, search and auth actually implement.
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import { fhirResourceTypes, fhirSchema } from '../validation/fhir-schema.ts';

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

function searchParams(type: string): CapabilityStatementRestResource['searchParam'] {
  const params: NonNullable<CapabilityStatementRestResource['searchParam']> = [
    { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
    { name: '_lastUpdated', type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated' },
  ];
  if ((fhirSchema().definitions[type]?.properties as Record<string, unknown> | undefined)?.identifier) {
    params.push({ name: 'identifier', type: 'token', documentation: 'system|value, |value, system| or value' });
  }
  return params;
}

export function capabilityStatement(fhirBase: string, software: { name: string; version: string }): CapabilityStatement {
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
      searchParam: searchParams(type),
    }),
  );
  const tokenUrl = fhirBase.replace(/\/fhir$/, '/auth/token');
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
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
          description: 'OAuth 2.0 client credentials (client_secret_basic); bearer JWT on every request but /metadata.',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: tokenUrl }],
            },
          ],
        },
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
      },
    ],
  };
}
