// The watched folder of inbound X12 (X12_INBOUND_DIR, polled every X12_INBOUND_POLL_MS): each file
// is claimed by an atomic rename (so several processes polling one share never apply it twice),
// applied as the system in one transaction, then moved to `processed/`, or to `failed/` beside a
// `.error.txt` saying why (the OperationOutcome's diagnostics: segment positions, never contents).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { FhirEngine } from '../../fhir/engine.ts';
import { FhirError } from '../../fhir/errors.ts';
import { applyX12 } from './x12-inbound.ts';

export interface X12FolderOptions {
  engine: FhirEngine;
  directory: string;
  pollMs: number;
  hubOrganization: string;
  adminFeePercent: number;
  logger: Logger;
}

export interface X12Folder {
  /** Processes what is in the folder now (tests and the poll timer). */
  poll(): Promise<void>;
  close(): Promise<void>;
}

export async function startX12Folder(options: X12FolderOptions): Promise<X12Folder> {
  const { directory, engine, logger } = options;
  const processed = path.join(directory, 'processed');
  const failed = path.join(directory, 'failed');
  await fs.mkdir(processed, { recursive: true });
  await fs.mkdir(failed, { recursive: true });
  let running: Promise<void> | undefined;
  let closed = false;

  async function processFile(name: string): Promise<void> {
    const claimed = path.join(directory, `.${name}.${randomUUID()}.work`);
    try {
      await fs.rename(path.join(directory, name), claimed);
    } catch {
      return; // another process took it
    }
    try {
      const text = await fs.readFile(claimed, 'utf8');
      const applied = await engine.runAsSystem('$x12-inbound', options.hubOrganization, (scope) => applyX12(scope, text, options.adminFeePercent));
      await fs.rename(claimed, path.join(processed, name));
      logger.info({ file: name, transactions: applied.map((t) => ({ type: t.type, duplicate: t.duplicate })) }, 'inbound X12 applied');
    } catch (error) {
      const reason = error instanceof FhirError ? error.message : `${(error as Error).name}: unexpected error`;
      await fs.rename(claimed, path.join(failed, name));
      await fs.writeFile(path.join(failed, `${name}.error.txt`), `${reason}\n`);
      logger.warn({ file: name, reason }, 'inbound X12 refused');
    }
  }

  async function pollOnce(): Promise<void> {
    const entries = await fs.readdir(directory, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (closed) return;
      if (entry.isFile() && !entry.name.startsWith('.')) await processFile(entry.name);
    }
  }

  const poll = () => (running ??= pollOnce().finally(() => (running = undefined)));
  const timer = setInterval(() => void poll().catch((error: unknown) => logger.error({ err: error }, 'X12 folder poll failed')), options.pollMs);
  timer.unref();
  return {
    poll,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
