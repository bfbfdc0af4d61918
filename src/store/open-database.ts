// Chooses the database from config: PostgreSQL when DATABASE_URL is set, else PGlite in DATA_DIR.
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from './database.ts';
import { openPglite } from './pglite-database.ts';
import { openPostgres } from './postgres-database.ts';

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>, options: { schema?: string } = {}): Promise<Database> {
  if (config.databaseUrl) return openPostgres({ connectionString: config.databaseUrl, schema: options.schema });
  return openPglite(path.resolve(config.dataDir));
}
