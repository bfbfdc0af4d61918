// A server with the HL7 listener on a free port and the queues on (Redis, private prefix), the test
// facilities registered, and helpers: fixture messages with a chosen control id, a raw MLLP client on
// node:net (framing edge cases), waiting for processing, reading FHIR as hub-admin.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { saveFacility } from '../../src/hl7/hl7-facility-registry.ts';
import { MllpDecoder, mllpFrame } from '../../src/hl7/mllp-framing.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { migrate } from '../../src/store/migrations.ts';
import { clientToken } from '../helpers/client-token.ts';
import { openTestDatabase } from '../helpers/test-server.ts';
import { deleteQueueKeys } from '../../src/queue/queue-keys.ts';

export interface Hl7TestServer {
  server: RunningServer;
  hl7Port: number;
  token: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get(path: string): Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  put(path: string, body: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startHl7TestServer(env: Record<string, string> = {}): Promise<Hl7TestServer> {
  const { db, drop } = await openTestDatabase();
  await migrate(db);
  const prefix = `t${randomBytes(6).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', HL7_PORT: '0', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, ...env });
  const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: { dispatchIntervalMs: 50 } });
  await saveFacility(db, { sendingApplication: 'EPIC', sendingFacility: 'MERCY_GENERAL', organization: 'Organization/mercy', messageTypes: ['ADT'] });
  await saveFacility(db, { sendingApplication: 'ATHENA', sendingFacility: 'NORTHSIDE_CLINIC', organization: 'Organization/northside', messageTypes: ['REF', 'ORU'] });
  const token = await clientToken(server.url, db, 'hub-admin', 'Organization/hub', []);
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${server.url}/fhir/${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    server,
    hl7Port: server.hl7Port!,
    token,
    get: async (url) => (await call('GET', url)).body,
    put: (url, body) => call('PUT', url, body),
    async close() {
      await server.close();
      await deleteQueueKeys(redisUrl, prefix);
      await db.close();
      await drop();
    },
  };
}

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/hl7');

/** A fixture message (CR-separated), with MSH-10 replaced when `controlId` is given and other MSH/PID edits. */
export function fixture(name: string, edits: { controlId?: string; mrn?: string; msh?: Record<number, string> } = {}): string {
  const lines = fs.readFileSync(path.join(FIXTURES, name), 'utf8').trim().split(/\r?\n/);
  return lines
    .map((line) => {
      const fields = line.split('|');
      if (fields[0] === 'MSH') {
        // MSH-n is fields[n-1] (MSH-1 is the separator itself)
        if (edits.controlId) fields[9] = edits.controlId;
        for (const [n, value] of Object.entries(edits.msh ?? {})) fields[Number(n) - 1] = value;
      }
      if (fields[0] === 'PID' && edits.mrn) fields[3] = fields[3].replace(/^[^^]+/, edits.mrn);
      return fields.join('|');
    })
    .join('\r');
}

/** Field `n` of segment `name` of an ACK text (MSA-1 → field('MSA', 1)). */
export function ackField(ack: string, name: string, n: number): string {
  const segment = ack.split('\r').find((line) => line.startsWith(`${name}|`));
  return segment?.split('|')[n] ?? '';
}

/** A raw MLLP peer: writes bytes exactly as given, collects decoded ACK frames. */
export class RawMllpClient {
  readonly acks: string[] = [];
  readonly #socket: net.Socket;
  readonly #decoder = new MllpDecoder();
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (data) => {
      for (const frame of this.#decoder.push(data)) this.acks.push(frame.toString('utf8'));
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static connect(port: number): Promise<RawMllpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawMllpClient(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.#socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  /** Waits until `count` ACKs have arrived in all. */
  async waitForAcks(count: number, ms = 10_000): Promise<string[]> {
    const until = Date.now() + ms;
    while (this.acks.length < count) {
      if (Date.now() > until) throw new Error(`got ${this.acks.length} ACKs, expected ${count}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.acks.slice(0, count);
  }

  close(): void {
    this.#socket.destroy();
  }
}

export const frame = mllpFrame;

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The inbox row of a message (state, resources written). */
export async function inboxRow(server: RunningServer, controlId: string): Promise<{ id: string; state: string; resources: string[] | null; error: string | null } | undefined> {
  const rows = await server.db.query<{ id: string | number; state: string; resources: string[] | null; error: string | null }>(
    `SELECT id, state, resources, error FROM hl7_inbox WHERE control_id = $1`,
    [controlId],
  );
  return rows[0] ? { ...rows[0], id: String(rows[0].id) } : undefined;
}

export const processed = (server: RunningServer, controlId: string) =>
  waitFor(`message ${controlId} processed`, async () => {
    const row = await inboxRow(server, controlId);
    return row && row.state !== 'received' ? row : undefined;
  });
