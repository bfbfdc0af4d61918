// Schema migrations, applied in order at start and by `npm run cli -- migrate`.
// Each entry runs once, in one transaction, under an advisory lock so that several processes
// starting together against one PostgreSQL do not race.
import type { Database } from './database.ts';

const migrations: { id: string; sql: string }[] = [
  {
    id: '001-resources',
    sql: `
      -- Every version of every resource, deletes included (content NULL). seq is the global write
      -- order: history is paged on it, so pages stay put while new versions arrive.
      CREATE TABLE resource_version (
        seq bigserial PRIMARY KEY,
        resource_type text NOT NULL,
        id text NOT NULL,
        version_id integer NOT NULL,
        last_updated timestamptz NOT NULL,
        deleted boolean NOT NULL,
        content jsonb,
        UNIQUE (resource_type, id, version_id)
      );
      CREATE INDEX resource_version_type_seq ON resource_version (resource_type, seq);

      -- The current version of each resource; reads and searches use this table.
      CREATE TABLE resource (
        resource_type text NOT NULL,
        id text NOT NULL,
        version_id integer NOT NULL,
        last_updated timestamptz NOT NULL,
        deleted boolean NOT NULL,
        content jsonb,
        PRIMARY KEY (resource_type, id)
      );
      CREATE INDEX resource_type_last_updated ON resource (resource_type, last_updated, id);
      CREATE INDEX resource_identifier ON resource USING gin ((content -> 'identifier') jsonb_path_ops);
    `,
  },
  {
    id: '002-clients-and-keys',
    sql: `
      CREATE TABLE client (
        client_id text PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL,
        organization text NOT NULL,
        purposes text[] NOT NULL,
        secret_hash text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- Token signing keys, shared by every server process so tokens survive restarts and load balancing.
      CREATE TABLE signing_key (
        kid text PRIMARY KEY,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];

export async function migrate(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(727001)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ id: string }>(`SELECT id FROM schema_migration`)).map((row) => row.id));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query(`INSERT INTO schema_migration (id) VALUES ($1)`, [migration.id]);
      applied.push(migration.id);
    }
    return applied;
  });
}

/** Splits a migration script on semicolons at line ends (our scripts hold no procedural bodies). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
}
