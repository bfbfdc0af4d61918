// npm run bench:startup — time from process spawn to a ready server (/readyz 200) on the embedded
// default (PGlite), cold (fresh DATA_DIR: initdb + migrations) and warm (existing DATA_DIR),
// against a raw baseline in the same run: a bare Node process that only opens PGlite in a data dir.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function serverStart(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'silent' }, stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - started;
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

async function rawPgliteOpen(dataDir: string): Promise<number> {
  const started = performance.now();
  const script = `import { PGlite } from '@electric-sql/pglite'; const db = await PGlite.create(${JSON.stringify(path.join(dataDir, 'pglite'))}); await db.query('SELECT 1'); await db.close();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: 'ignore' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error('raw PGlite open failed');
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rows: [string, number[], number[]][] = [];
const cold: number[] = [], warm: number[] = [], rawCold: number[] = [], rawWarm: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const serverDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
  const rawDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-raw-'));
  try {
    cold.push(await serverStart(serverDir));
    warm.push(await serverStart(serverDir));
    rawCold.push(await rawPgliteOpen(rawDir));
    rawWarm.push(await rawPgliteOpen(rawDir));
  } finally {
    fs.rmSync(serverDir, { recursive: true, force: true });
    fs.rmSync(rawDir, { recursive: true, force: true });
  }
}
rows.push(['cold (new DATA_DIR)', cold, rawCold], ['warm (existing DATA_DIR)', warm, rawWarm]);
console.log(`bench:startup  runs=${RUNS}  (median ms: spawn → /readyz 200, vs spawn → bare PGlite open + SELECT 1 + exit)`);
for (const [name, server, raw] of rows) {
  console.log(`  ${name.padEnd(26)} server ${median(server).toFixed(0).padStart(5)} ms   raw PGlite ${median(raw).toFixed(0).padStart(5)} ms   ratio ${(median(server) / median(raw)).toFixed(2)}`);
}
