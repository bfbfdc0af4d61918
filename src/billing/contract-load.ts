// Importing a contract bundle (`npm run cli -- contract load FILE`): the payer Organization with its
// billing Endpoint, the funding Accounts and the fee schedule (ChargeItemDefinitions). Every entry must
// carry an id (contracts are versioned by re-loading: PUT semantics) and be one of those types; the
// whole bundle is written in one transaction, validated like any other write, or not at all.
import type { Bundle, Resource } from 'fhir/r4';
import type { FhirEngine } from '../fhir/engine.ts';
import { badRequest } from '../fhir/errors.ts';
import { update } from '../fhir/interactions/update.ts';

const CONTRACT_TYPES: ReadonlySet<string> = new Set(['Organization', 'Endpoint', 'Account', 'ChargeItemDefinition', 'InsurancePlan', 'Coverage']);

export function contractResources(bundle: unknown): Resource[] {
  const entries = (bundle as Bundle | undefined)?.resourceType === 'Bundle' ? ((bundle as Bundle).entry ?? []) : undefined;
  if (!entries) throw badRequest('A contract must be a Bundle', 'Bundle');
  return entries.map((entry, i) => {
    const resource = entry.resource;
    if (!resource || !CONTRACT_TYPES.has(resource.resourceType)) {
      throw badRequest(`Entry ${i} must be one of ${[...CONTRACT_TYPES].join(', ')}`, `Bundle.entry[${i}].resource`);
    }
    if (!resource.id) throw badRequest(`Entry ${i} (${resource.resourceType}) needs an id`, `Bundle.entry[${i}].resource.id`);
    return resource;
  });
}

/** Writes the contract's resources in one transaction; returns their references. */
export async function loadContract(engine: FhirEngine, hubOrganization: string, bundle: unknown): Promise<string[]> {
  const resources = contractResources(bundle);
  return engine.runAsSystem('$contract-load', hubOrganization, async (scope) => {
    for (const resource of resources) await update(scope, resource.resourceType, resource.id!, resource);
    return resources.map((resource) => `${resource.resourceType}/${resource.id}`);
  });
}
