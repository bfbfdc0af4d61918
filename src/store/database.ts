// The database port: the one SQL surface the rest of the server sees. PostgreSQL (pg) and PGlite
// implement it with the same SQL, so every query is exercised both ways by the tests.

export type SqlValue = string | number | boolean | null | Date | SqlValue[] | object;

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<Row[]>;
}

export interface Database extends Queryable {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'postgres' | 'pglite';
}
