// What the benchmarks share: command-line options, percentiles, a concurrent runner, and a private
// database (a fresh PostgreSQL schema when DATABASE_URL is set, else PGlite in a temporary folder).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Database } from '../src/store/database.ts';
import { openPglite } from '../src/store/pglite-database.ts';
import { openPostgres } from '../src/store/postgres-database.ts';

/** `--name value` or `--name=value`. */
export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const arg = args[i];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[i + 1] ?? '');
}

export function integerOption(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got '${raw}'`);
  return value;
}

/** Nearest-rank percentile of ascending `sorted` (NaN when empty). */
export const percentile = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : NaN;

/** Runs `task(i)` for i in [0, n) with `concurrency` in flight; returns the latencies and the wall time. */
export async function runConcurrently(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = new Array(n);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  return { latencies, wallMs: performance.now() - started };
}

async function adminQuery(connectionString: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export interface BenchDatabase {
  db: Database;
  /** The temporary folder (PGlite data, DATA_DIR of the server). */
  dir: string;
  /** The PostgreSQL schema, when on PostgreSQL. */
  schema?: string;
  /** Drops the schema (unless `keep`) and removes the folder. */
  drop(keep?: boolean): Promise<void>;
}

/** A private database for a benchmark named `name`. */
export async function openBenchDatabase(name: string): Promise<BenchDatabase> {
  const url = process.env.DATABASE_URL || undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const schema = url ? `bench_${name}_${randomBytes(4).toString('hex')}` : undefined;
  if (url && schema) await adminQuery(url, `CREATE SCHEMA ${schema}`);
  const db = url && schema ? openPostgres({ connectionString: url, schema, max: 20 }) : await openPglite(path.join(dir, 'data'));
  return {
    db,
    dir,
    schema,
    async drop(keep = false) {
      if (url && schema && !keep) await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
