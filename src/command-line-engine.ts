// An engine for the command line and benchmarks (no queues, no HTTP): validation, the policy and the
// server's write hooks as in src/server.ts, so what it writes is indexed and followed up the same way.
import type { Config } from './config.ts';
import { FhirEngine } from './fhir/engine.ts';
import { OperationRegistry } from './fhir/operations/operation-registry.ts';
import { SearchParameterRegistry } from './fhir/search/search-parameter-registry.ts';
import { loadStoredSearchParameters } from './fhir/search/stored-search-parameters.ts';
import { DisclosureProfiles } from './policy/disclosure-profile.ts';
import type { Database } from './store/database.ts';
import { TerminologyService } from './terminology/terminology-service.ts';
import { ProfileValidator } from './validation/profile-validator.ts';
import { SchemaValidator } from './validation/schema-validator.ts';
import { featureWriteHooks } from './write-hooks.ts';

export async function commandLineEngine(db: Database, config: Config): Promise<FhirEngine> {
  const searchParameters = new SearchParameterRegistry();
  await loadStoredSearchParameters(db, searchParameters);
  return new FhirEngine(db, {
    validator: new SchemaValidator(),
    profileValidator: ProfileValidator.load(TerminologyService.load()),
    searchParameters,
    maxPageSize: config.maxPageSize,
    disclosureProfiles: DisclosureProfiles.load(),
    operations: new OperationRegistry(),
    hubOrganization: config.hubOrganization,
    // No dispatcher here: messages wait in the outbox for the next server to start.
    nudgeOutbox: () => undefined,
    writeHooks: featureWriteHooks,
    fhirBase: `${config.baseUrl ?? `http://localhost:${config.port}`}/fhir`,
    software: { name: 'cch-cli', version: '0' },
    onUnexpected: () => undefined,
  });
}
