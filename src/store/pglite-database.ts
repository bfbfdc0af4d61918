// Embedded PGlite adapter (PostgreSQL compiled to WASM), persisted in a data directory.
// PGlite is single-process: a lock file stops a second process (say, the CLI) from opening the
// same directory while the server has it, which would corrupt it.
import fs from 'node:fs';
import path from 'node:path';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import type { Database, Queryable, SqlValue } from './database.ts';
import { takePidLock } from './pid-lock-file.ts';

const parsers = {
  [pgliteTypes.TIMESTAMPTZ]: (value: string) => value,
  [pgliteTypes.TIMESTAMP]: (value: string) => value,
  [pgliteTypes.INT8]: (value: string) => Number(value),
};

export class DataDirInUseError extends Error {}

function takeLock(dir: string): () => void {
  return takePidLock(
    path.join(dir, 'server.lock'),
    (holder) =>
      new DataDirInUseError(
        `DATA_DIR ${dir} is in use by process ${holder}. The embedded database serves one process at a time: ` +
          'stop that process first, or set DATABASE_URL to use PostgreSQL.',
      ),
  );
}

/** Opens PGlite in `dataDir` (created if missing), or in memory when `dataDir` is undefined. */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  let releaseLock = () => undefined as void;
  let store: string | undefined;
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    releaseLock = takeLock(dataDir);
    store = path.join(dataDir, 'pglite');
  }
  let db: PGlite;
  try {
    db = await PGlite.create(store, { parsers });
  } catch (error) {
    releaseLock();
    throw error;
  }

  const run = async <Row>(target: Pick<PGlite, 'query'>, sql: string, params?: SqlValue[]): Promise<Row[]> => {
    const result = await target.query<Row>(sql, params as unknown[] | undefined);
    return result.rows;
  };

  return {
    kind: 'pglite',
    query: (sql, params) => run(db, sql, params),
    // PGlite runs one transaction at a time and queues other queries behind it.
    transaction: (work) => db.transaction((tx) => work({ query: (sql, params) => run(tx, sql, params) } as Queryable)),
    async exec(sql) {
      await db.exec(sql);
    },
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      try {
        await db.close();
      } finally {
        releaseLock();
      }
    },
  };
}
