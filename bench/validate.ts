// npm run bench:validate [-- BUNDLES]  (default 20; BENCH_ROUNDS=N in-process rounds, default 50)
//
// What validating a write costs. A 100-entry transaction-like set of SDOH resources (10 patients,
// each with a ServiceRequest, a referral Task, 3 screening-response Observations, 2 Conditions and
// 2 Procedures, all claiming their SDOHCC / US Core profiles and linked by urn:uuid references):
//
// 1. In process: the R4 JSON schema (SchemaValidator) and the profile rules (ProfileValidator, with
//    enforceDefault as for partner writes) on every resource, after a warm-up; resources/s each and
//    together, and the validation time of one 100-entry bundle.
// 2. Through the server (in process; PostgreSQL when DATABASE_URL is set, else PGlite in a temporary DATA_DIR): the same bundle POSTed BUNDLES
//    times as a hub-admin transaction; bundle write time, and the share of it that validation takes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, BundleEntry, Condition, Observation, Patient, Procedure, Resource, ServiceRequest, Task } from 'fhir/r4';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { migrate } from '../src/store/migrations.ts';
import { openDatabase } from '../src/store/open-database.ts';
import { TerminologyService } from '../src/terminology/terminology-service.ts';
import { ProfileValidator } from '../src/validation/profile-validator.ts';
import { SchemaValidator } from '../src/validation/schema-validator.ts';
import { clientToken } from '../test/helpers/client-token.ts';

const BUNDLES = Number(process.argv[2] ?? process.env.BENCH_BUNDLES ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const WARMUP_BUNDLES = 2;

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare';
const CODES = `${SDOHCC}/CodeSystem/SDOHCC-CodeSystemTemporaryCodes`;
const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const profile = (id: string) => ({ profile: [`${SDOHCC}/StructureDefinition/${id}`] });
const coded = (system: string, code: string, display?: string) => ({ coding: [{ system, code, ...(display ? { display } : {}) }] });

/** A fixed v4-shaped urn:uuid per (kind, index), so the bundle is the same on every POST. */
function uuid(kind: number, index: number): string {
  return `urn:uuid:00000000-0000-4000-8000-${(kind * 1000 + index).toString(16).padStart(12, '0')}`;
}

function buildEntries(): BundleEntry[] {
  const entries: BundleEntry[] = [];
  // Generic so each literal is checked against its own resource type, not just Resource.
  const add = <T extends Resource>(fullUrl: string, resource: T) => entries.push({ fullUrl, resource, request: { method: 'POST', url: resource.resourceType } });
  const screening = [
    ['88122-7', 'LA28397-0'],
    ['88123-5', 'LA6729-3'],
    ['88124-3', 'LA19952-3'],
  ];
  for (let p = 0; p < 10; p++) {
    const patient = uuid(1, p);
    const request = uuid(2, p);
    const subject = { reference: patient };
    add<Patient>(patient, {
      resourceType: 'Patient',
      meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|7.0.0'] },
      identifier: [{ system: 'http://hospital.example.org/mrn', value: `BENCH-${p}` }],
      name: [{ family: `Bench${p}`, given: ['Pat'] }],
      gender: p % 2 ? 'female' : 'male',
      birthDate: '1980-05-17',
    });
    const conditions: string[] = [];
    for (let c = 0; c < 2; c++) {
      conditions.push(uuid(4, p * 2 + c));
      add<Condition>(conditions[c], {
        resourceType: 'Condition',
        meta: profile('SDOHCC-Condition'),
        clinicalStatus: coded('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active'),
        verificationStatus: coded('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'confirmed'),
        category: [coded('http://hl7.org/fhir/us/core/CodeSystem/condition-category', 'health-concern'), coded('http://hl7.org/fhir/us/core/CodeSystem/us-core-category', 'sdoh'), coded(CODES, c ? 'housing-instability' : 'food-insecurity')],
        code: c ? coded(SNOMED, '1156191002', 'Housing instability') : coded(SNOMED, '733423003', 'Food insecurity'),
        subject,
        onsetDateTime: '2026-01-10',
        recordedDate: '2026-01-12',
      });
    }
    add<ServiceRequest>(request, {
      resourceType: 'ServiceRequest',
      meta: profile('SDOHCC-ServiceRequest'),
      status: 'active',
      intent: 'order',
      category: [coded(SNOMED, '410606002', 'Social service procedure'), coded(CODES, 'food-insecurity')],
      code: coded(SNOMED, '467771000124109', 'Assistance with application for food pantry program'),
      subject,
      authoredOn: '2026-01-12T10:00:00Z',
      occurrenceDateTime: '2026-01-20',
      reasonReference: [{ reference: conditions[0] }],
    });
    add<Task>(uuid(3, p), {
      resourceType: 'Task',
      meta: profile('SDOHCC-TaskForReferralManagement'),
      status: 'requested',
      intent: 'order',
      priority: 'routine',
      code: coded('http://hl7.org/fhir/CodeSystem/task-code', 'fulfill'),
      focus: { reference: request },
      for: subject,
      authoredOn: '2026-01-12T10:05:00Z',
      requester: { reference: 'Organization/hub' },
      owner: { reference: 'Organization/food-bank' },
    });
    screening.forEach(([question, answer], q) => {
      add<Observation>(uuid(5, p * 3 + q), {
        resourceType: 'Observation',
        meta: profile('SDOHCC-ObservationScreeningResponse'),
        status: 'final',
        category: [coded('http://terminology.hl7.org/CodeSystem/observation-category', 'survey'), coded('http://hl7.org/fhir/us/core/CodeSystem/us-core-category', 'sdoh'), coded(CODES, 'food-insecurity')],
        code: coded(LOINC, question),
        subject,
        effectiveDateTime: '2026-01-11T09:00:00Z',
        performer: [subject],
        valueCodeableConcept: coded(LOINC, answer),
      });
    });
    for (let r = 0; r < 2; r++) {
      add<Procedure>(uuid(6, p * 2 + r), {
        resourceType: 'Procedure',
        meta: profile('SDOHCC-Procedure'),
        basedOn: [{ reference: request }],
        status: 'completed',
        category: { coding: [{ system: SNOMED, code: '410606002' }, { system: CODES, code: 'food-insecurity' }] },
        code: r ? coded(SNOMED, '710925007', 'Provision of food') : coded(SNOMED, '467771000124109'),
        subject,
        performedDateTime: '2026-01-25',
        reasonReference: [{ reference: conditions[0] }],
      });
    }
  }
  return entries;
}

const entries = buildEntries();
const resources = entries.map((entry) => entry.resource as Resource);
const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };

// ------------------------------------------------------------------ 1. in process

const schema = new SchemaValidator();
const loadStarted = performance.now();
const profiles = ProfileValidator.load(TerminologyService.load());
const loadMs = performance.now() - loadStarted;

let errors = 0;
const validateAll = (withSchema: boolean, withProfiles: boolean) => {
  for (const resource of resources) {
    if (withSchema) schema.validate(resource);
    if (withProfiles) errors += profiles.validate(resource, { enforceDefault: true }).filter((issue) => issue.severity === 'error').length;
  }
};
for (let i = 0; i < 20; i++) validateAll(true, true); // compiles the schema per type, warms the JIT
if (errors) throw new Error(`the benchmark resources have ${errors / 20} profile errors`);

/** ms per 100 resources: the median of 7 trials of ROUNDS rounds, the three kinds interleaved so drift hits all alike. */
function timeAll(): { schemaMs: number; profileMs: number; bothMs: number } {
  const trials: Record<'schema' | 'profiles' | 'both', number[]> = { schema: [], profiles: [], both: [] };
  const run = (withSchema: boolean, withProfiles: boolean) => {
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++) validateAll(withSchema, withProfiles);
    return (performance.now() - started) / ROUNDS;
  };
  for (let trial = 0; trial < 7; trial++) {
    trials.schema.push(run(true, false));
    trials.profiles.push(run(false, true));
    trials.both.push(run(true, true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { schemaMs: median(trials.schema), profileMs: median(trials.profiles), bothMs: median(trials.both) };
}
const { schemaMs, profileMs, bothMs } = timeAll();
const perSecond = (ms: number) => ((resources.length / ms) * 1000).toFixed(0).padStart(7);

const counts = new Map<string, number>();
for (const resource of resources) counts.set(resource.resourceType, (counts.get(resource.resourceType) ?? 0) + 1);
console.log(`bench:validate  ${resources.length} resources (${[...counts].map(([type, n]) => `${n} ${type}`).join(', ')})  rounds=${ROUNDS}`);
console.log(`  profile load + compile          ${loadMs.toFixed(1)} ms (once, at start)`);
console.log(`  R4 schema (SchemaValidator)     ${perSecond(schemaMs)} resources/s   ${schemaMs.toFixed(2)} ms per bundle`);
console.log(`  profiles  (ProfileValidator)    ${perSecond(profileMs)} resources/s   ${profileMs.toFixed(2)} ms per bundle`);
console.log(`  schema + profiles               ${perSecond(bothMs)} resources/s   ${bothMs.toFixed(2)} ms per bundle`);

// ------------------------------------------------------------------ 2. through the server

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-validate-'));
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
const db = await openDatabase(config);
await migrate(db);
const server = await startServer(config, { db, logger: pino({ level: 'silent' }), queues: false });
try {
  const token = await clientToken(server.url, db, 'hub-admin');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' };
  const body = JSON.stringify(bundle);
  const post = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${server.url}/fhir`, { method: 'POST', headers, body });
    const text = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`transaction failed: ${response.status} ${text.slice(0, 500)}`);
    return elapsed;
  };
  for (let i = 0; i < WARMUP_BUNDLES; i++) await post();
  const times: number[] = [];
  for (let i = 0; i < BUNDLES; i++) times.push(await post());
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
  const pct = (share: number) => `${((share / mean) * 100).toFixed(1)}%`;
  console.log(`  transaction POST (${resources.length} entries, hub-admin, ${db.kind}), ${BUNDLES} bundles after ${WARMUP_BUNDLES} warm-up:`);
  console.log(`    write time per bundle         mean ${mean.toFixed(1)} ms   p50 ${sorted[Math.floor(times.length * 0.5)].toFixed(1)} ms   p95 ${sorted[Math.min(times.length - 1, Math.floor(times.length * 0.95))].toFixed(1)} ms   (${((resources.length / mean) * 1000).toFixed(0)} resources/s)`);
  console.log(`    share of write time validating: schema ${pct(schemaMs)}   profiles ${pct(profileMs)}   schema + profiles ${pct(bothMs)}`);
  console.log('  The server checks every write against the R4 schema and the profiles the resource claims (partners: also');
  console.log('  the SDOHCC default profile), so the measured write time includes the validation timed above in-process.');
} finally {
  await server.close();
  await db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
