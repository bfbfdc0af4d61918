// PostgreSQL adapter over a pg connection pool.
import pg from 'pg';
import type { Database, Queryable, SqlValue } from './database.ts';

// Keep timestamps and bigints as text: the FHIR layer formats instants itself and versions fit in numbers.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1184 || oid === 1114) return (value: string) => value; // timestamptz / timestamp
    if (oid === 20) return (value: string) => Number(value); // int8
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PostgresOptions {
  connectionString: string;
  /** Schema to put first on the search_path (tests isolate themselves this way). */
  schema?: string;
  max?: number;
}

export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 20,
    types,
    // JIT compilation costs more than it saves on short index-driven queries like ours.
    options: `-c jit=off${options.schema ? ` -c search_path=${options.schema}` : ''}`,
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);

  const run = async <Row>(client: pg.Pool | pg.PoolClient, sql: string, params?: SqlValue[]): Promise<Row[]> => {
    const result = await client.query(sql, params as unknown[] | undefined);
    return result.rows as Row[];
  };

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: Queryable = { query: (sql, params) => run(client, sql, params) };
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}
