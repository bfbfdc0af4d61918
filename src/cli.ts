// Admin commands: `npm run cli -- <command>`.
//   migrate
//   client create --name NAME --role ROLE --org Organization/ID [--purpose CODE ...]
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { ClientInputError, createClient } from './policy/client-registry.ts';
import type { Database } from './store/database.ts';
import { migrate } from './store/migrations.ts';
import { openDatabase } from './store/open-database.ts';
import { DataDirInUseError } from './store/pglite-database.ts';

const USAGE = `usage:
  npm run cli -- migrate
  npm run cli -- client create --name NAME --role ROLE --org Organization/ID [--purpose CODE ...]`;

async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadConfig());
  try {
    await migrate(db);
    return await work(db);
  } finally {
    await db.close();
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
      },
    });
    const created = await withDatabase((db) =>
      createClient(db, { name: values.name ?? '', role: values.role ?? '', organization: values.org ?? '', purposes: values.purpose ?? [] }),
    );
    console.log(JSON.stringify(created));
    return;
  }
  throw new ClientInputError(USAGE);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ClientInputError || error instanceof ConfigError || error instanceof DataDirInUseError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    console.error((error as Error).message);
    process.exit(2);
  }
  throw error;
}
