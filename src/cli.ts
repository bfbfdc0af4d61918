// Admin commands: `npm run cli -- <command>`.
//   migrate
//   client create --name NAME --role ROLE --org Organization/ID [--purpose CODE ...] [--scope "SCOPE ..."]
//                 [--jwks FILE | --jwks-url URL]   a key-pair client (private_key_jwt) instead of a secret
//   conformance DIR      validate every JSON resource in DIR; exit 1 if any fails
//   reindex [--type T] [--restart]   rebuild search index rows (resumable)
//   contract load FILE   import a contract bundle (src/billing/contract-load.ts)
//   hl7 facility add --app APP --facility FAC --org Organization/ID --types ADT,REF,ORU   register an HL7 v2 sender
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { FhirError } from './fhir/errors.ts';
import { ClientInputError, createClient } from './policy/client-registry.ts';
import type { Database } from './store/database.ts';
import { migrate } from './store/migrations.ts';
import { openDatabase } from './store/open-database.ts';
import { DataDirInUseError } from './store/pglite-database.ts';
import { checkFolder } from './validation/conformance.ts';
import { loadContract } from './billing/contract-load.ts';
import { commandLineEngine } from './command-line-engine.ts';
import { checkFacility, FacilityInputError, saveFacility } from './hl7/hl7-facility-registry.ts';
import { fhirResourceTypes } from './validation/fhir-schema.ts';
import { reindex } from './fhir/search/reindex.ts';
import { SearchParameterRegistry } from './fhir/search/search-parameter-registry.ts';
import { loadStoredSearchParameters } from './fhir/search/stored-search-parameters.ts';

const USAGE = `usage:
  npm run cli -- migrate
  npm run cli -- client create --name NAME --role ROLE --org Organization/ID [--purpose CODE ...]
                 [--scope "system/Task.rs system/Procedure.c"] [--jwks FILE | --jwks-url URL]
  npm run cli -- reindex [--type T] [--restart]
  npm run cli -- contract load FILE   (a contract Bundle: payer, billing Endpoint, Accounts, fee schedule)
  npm run cli -- hl7 facility add --app APP --facility FAC --org Organization/ID --types ADT,REF,ORU
  npm run conformance -- DIR`;

async function withDatabase<T>(work: (db: Database) => Promise<T>, config = loadConfig()): Promise<T> {
  const db = await openDatabase(config);
  try {
    await migrate(db);
    return await work(db);
  } finally {
    await db.close();
  }
}

function readJson(file: string, flag: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ClientInputError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be read'}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ClientInputError(`${flag} ${file} is not JSON`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (command === 'migrate') {
    const db = await openDatabase(loadConfig());
    try {
      console.log(JSON.stringify({ applied: await migrate(db) }));
    } finally {
      await db.close();
    }
    return;
  }
  if (command === 'client' && sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        org: { type: 'string' },
        purpose: { type: 'string', multiple: true },
        scope: { type: 'string', multiple: true },
        jwks: { type: 'string' },
        'jwks-url': { type: 'string' },
      },
    });
    const config = loadConfig();
    const input = {
      name: values.name ?? '',
      role: values.role ?? '',
      organization: values.org ?? '',
      purposes: values.purpose ?? [],
      // Each --scope may hold several scopes separated by spaces, as the OAuth scope parameter does.
      scopes: values.scope?.flatMap((scope) => scope.split(/\s+/).filter(Boolean)),
      jwks: values.jwks === undefined ? undefined : readJson(values.jwks, '--jwks'),
      jwksUrl: values['jwks-url'],
    };
    const created = await withDatabase((db) => createClient(db, input, { allowHttpEndpoints: config.allowHttpEndpoints }), config);
    console.log(JSON.stringify(created));
    return;
  }
  if (command === 'hl7' && sub === 'facility' && rest[0] === 'add') {
    const { values } = parseArgs({
      args: rest.slice(1),
      options: { app: { type: 'string' }, facility: { type: 'string' }, org: { type: 'string' }, types: { type: 'string' } },
    });
    const facility = checkFacility(values);
    await withDatabase((db) => saveFacility(db, facility));
    console.log(JSON.stringify(facility));
    return;
  }
  if (command === 'reindex') {
    const { values } = parseArgs({ args: argv.slice(1), options: { type: { type: 'string' }, restart: { type: 'boolean' } } });
    if (values.type && !fhirResourceTypes().has(values.type)) throw new ClientInputError(`--type ${values.type} is not an R4 resource type`);
    const done = await withDatabase(async (db) => {
      const registry = new SearchParameterRegistry();
      await loadStoredSearchParameters(db, registry);
      return reindex(db, registry, {
        resourceType: values.type,
        restart: values.restart,
        onProgress: ({ resourceType, done }) => process.stderr.write(`\r${resourceType}: ${done} resources reindexed`),
      });
    });
    if (done) process.stderr.write('\n');
    console.log(JSON.stringify({ reindexed: done }));
    return;
  }
  if (command === 'contract' && sub === 'load' && rest[0]) {
    const config = loadConfig();
    const loaded = await withDatabase(async (db) => loadContract(await commandLineEngine(db, config), config.hubOrganization, readJson(rest[0], 'contract load')), config);
    console.log(JSON.stringify({ loaded }));
    return;
  }
  if (command === 'conformance' && sub) {
    const results = checkFolder(sub);
    const failed = results.filter((result) => result.problems.length > 0);
    for (const result of failed) console.log(`FAIL ${result.file}\n  ${result.problems.join('\n  ')}`);
    console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
    if (failed.length) process.exitCode = 1;
    return;
  }
  throw new ClientInputError(USAGE);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ClientInputError || error instanceof FacilityInputError || error instanceof ConfigError || error instanceof DataDirInUseError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    console.error((error as Error).message);
    process.exit(2);
  }
  // A rejected import (contract load): print its OperationOutcome's issues, not a stack trace.
  if (error instanceof FhirError) {
    for (const issue of error.outcome.issue) console.error(`${issue.expression?.[0] ?? ''}: ${issue.diagnostics ?? issue.code}`);
    process.exit(1);
  }
  throw error;
}
