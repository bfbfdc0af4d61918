// npm run bench:hl7 [-- --messages N] [--senders N] [--timeout-s N]
//
// HL7 v2 intake under load: N ADT messages (default 1000; A01 admits of N/4 patients, each followed by
// A08, A08 and A03) sent by --senders (default 10) concurrent MLLP senders (@medplum/hl7 Hl7Client, each
// waiting for every ACK, as MLLP senders do) to the listener of a real server (queues on).
// Figures: messages/s receipt→ACK (N / wall time of the sends) with ACK latency p50/p95/p99, and
// messages/s receipt→FHIR resources (N / time from the first send until the last message is processed).
// Baseline in the same run and database: the same raw messages inserted with plain single-row INSERTs
// at the same concurrency (no parsing, no duplicate check, no outbox, no ACK).
// PostgreSQL when DATABASE_URL is set (fresh schema, dropped at the end), else PGlite in a temporary
// folder; Redis from REDIS_URL, else 127.0.0.1:6379, under a private prefix deleted at the end.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { saveFacility } from '../src/hl7/hl7-facility-registry.ts';
import { startServer } from '../src/server.ts';
import { migrate } from '../src/store/migrations.ts';
import { integerOption, openBenchDatabase, percentile, runConcurrently } from './bench-kit.ts';
import { deleteQueueKeys } from '../src/queue/queue-keys.ts';

const MESSAGES = Math.max(4, Math.floor(integerOption('messages', 1000) / 4) * 4);
const SENDERS = integerOption('senders', 10);
const TIMEOUT_S = integerOption('timeout-s', 600);
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/hl7');

const read = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8').trim().split(/\r?\n/);
const TEMPLATES = [read('adt-a01-admit.hl7'), read('adt-a08-update.hl7'), read('adt-a08-update.hl7'), read('adt-a03-discharge.hl7')];

/** Message i: patient floor(i/4)'s admit, update, update, discharge (sent in that order by one sender). */
function message(i: number): string {
  const patient = Math.floor(i / 4);
  return TEMPLATES[i % 4]
    .map((line) => {
      const fields = line.split('|');
      if (fields[0] === 'MSH') fields[9] = `BENCH-${i}`;
      if (fields[0] === 'PID') fields[3] = fields[3].replace(/^[^^]+/, `BMRN${patient}`);
      return fields.join('|');
    })
    .join('\r');
}

const bench = await openBenchDatabase('hl7');
const prefix = `bench${randomBytes(4).toString('hex')}`;
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const db = bench.db;
try {
  await migrate(db);
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', HL7_PORT: '0', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, DATA_DIR: bench.dir, HL7_TRIGGERS: 'none' });
  const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: { dispatchIntervalMs: 20 } });
  try {
    await saveFacility(db, { sendingApplication: 'EPIC', sendingFacility: 'MERCY_GENERAL', organization: 'Organization/mercy', messageTypes: ['ADT'] });
    const texts = Array.from({ length: MESSAGES }, (_, i) => message(i));

    // Baseline: the raw messages, plain INSERTs.
    await db.query(`CREATE TABLE bench_raw_message (id bigserial PRIMARY KEY, raw text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`);
    const baseline = await runConcurrently(MESSAGES, SENDERS, async (i) => {
      await db.query(`INSERT INTO bench_raw_message (raw) VALUES ($1)`, [texts[i]]);
    });

    // Each sender owns whole patients (4 consecutive messages), so its ACK order is the patient's order.
    const clients = Array.from({ length: SENDERS }, () => new Hl7Client({ host: '127.0.0.1', port: server.hl7Port! }));
    const patients = MESSAGES / 4;
    const latencies: number[] = [];
    let nextPatient = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        while (nextPatient < patients) {
          const patient = nextPatient++;
          for (let k = 0; k < 4; k++) {
            const t0 = performance.now();
            const ack = await client.sendAndWait(Hl7Message.parse(texts[patient * 4 + k]), { returnAck: 'first', timeoutMs: 30_000 });
            latencies.push(performance.now() - t0);
            if (ack.getSegment('MSA')?.getField(1)?.toString() !== 'AA') throw new Error(`message ${patient * 4 + k} not accepted`);
          }
        }
      }),
    );
    const ackWallMs = performance.now() - started;
    const deadline = Date.now() + TIMEOUT_S * 1000;
    for (;;) {
      const [{ pending }] = await db.query<{ pending: string | number }>(`SELECT count(*) AS pending FROM hl7_inbox WHERE state = 'received'`);
      if (Number(pending) === 0) break;
      if (Date.now() > deadline) throw new Error(`${pending} messages still unprocessed after ${TIMEOUT_S} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const fhirWallMs = performance.now() - started;
    const [{ failed }] = await db.query<{ failed: string | number }>(`SELECT count(*) AS failed FROM hl7_inbox WHERE state = 'failed'`);
    await Promise.all(clients.map((client) => client.close()));

    const sorted = latencies.sort((a, b) => a - b);
    const rate = (ms: number) => (MESSAGES / ms) * 1000;
    const baselineRate = rate(baseline.wallMs);
    console.log(`HL7 v2 intake: ${MESSAGES} ADT messages (${patients} patients × A01, A08, A08, A03), ${SENDERS} concurrent MLLP senders, ${db.kind}`);
    console.log(`  raw baseline (plain INSERT of the raw messages): ${baselineRate.toFixed(0)} messages/s`);
    console.log(`  receipt → ACK:            ${rate(ackWallMs).toFixed(0)} messages/s (${(rate(ackWallMs) / baselineRate).toFixed(2)}× baseline); ACK latency p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p95 ${percentile(sorted, 0.95).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms`);
    console.log(`  receipt → FHIR resources: ${rate(fhirWallMs).toFixed(0)} messages/s (${(rate(fhirWallMs) / baselineRate).toFixed(2)}× baseline); ${failed} failed`);
  } finally {
    await server.close();
  }
} finally {
  await deleteQueueKeys(redisUrl, prefix);
  await db.close();
  await bench.drop();
}
