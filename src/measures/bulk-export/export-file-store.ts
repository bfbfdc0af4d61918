// Where export files live: DATA_DIR/bulk-export/{jobId}/{runId}/{Type}-{n}.ndjson. Each run writes
// its own directory, so a superseded run (a worker that died and came back) cannot mix its lines
// into the files of the run that replaced it. (Production with several hosts points DATA_DIR at
// shared storage; ARCHITECTURE §6 names object storage as the next step.)
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';

export class ExportFileStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'bulk-export');
  }

  jobDir(jobId: string): string {
    return path.join(this.root, safe(jobId));
  }

  /** A fresh directory for run `runId`, after removing what earlier runs of the job left. */
  async startRun(jobId: string, runId: string): Promise<string> {
    await this.remove(jobId);
    const dir = path.join(this.jobDir(jobId), safe(runId));
    await fs.promises.mkdir(dir, { recursive: true });
    return dir;
  }

  /** The absolute path of a stored file (paths are relative to the root). */
  resolve(relative: string): string {
    const full = path.resolve(this.root, relative);
    if (!full.startsWith(`${path.resolve(this.root)}${path.sep}`)) throw new Error('Export file path outside the export root');
    return full;
  }

  relative(full: string): string {
    return path.relative(this.root, full);
  }

  async remove(jobId: string): Promise<void> {
    await fs.promises.rm(this.jobDir(jobId), { recursive: true, force: true });
  }
}

const safe = (name: string) => {
  if (!/^[A-Za-z0-9\-]{1,64}$/.test(name)) throw new Error('Invalid export file name part');
  return name;
};

/**
 * Appends NDJSON lines to one file with backpressure: memory holds at most one page of lines and
 * the stream's buffer, however large the export.
 */
export class NdjsonWriter {
  readonly file: string;
  #stream: fs.WriteStream;
  #count = 0;
  /** A write error (disk full...): kept so the next write or close throws it instead of the process crashing. */
  #error: Error | undefined;

  constructor(file: string) {
    this.file = file;
    this.#stream = fs.createWriteStream(file, { flags: 'w' });
    this.#stream.on('error', (error) => (this.#error = error));
  }

  get count(): number {
    return this.#count;
  }

  async write(lines: string[]): Promise<void> {
    if (this.#error) throw this.#error;
    if (lines.length === 0) return;
    this.#count += lines.length;
    // once() rejects if the stream errors while waiting (no listener is left behind per page).
    if (!this.#stream.write(`${lines.join('\n')}\n`)) await once(this.#stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.#error) throw this.#error;
    const finished = once(this.#stream, 'finish');
    this.#stream.end();
    await finished;
  }
}
