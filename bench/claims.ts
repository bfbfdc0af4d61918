// bench:claims — claims built and rendered per second. N members of the demo plan each have 3 unbilled
// charges; one $build-equivalent run (buildForPeriod in one transaction, as the daily job does) turns them
// into N Claims, then each is rendered as an 837P. Raw baselines in the same run: the same number of Claim
// documents INSERTed as JSON into a scratch table (the storage floor), and the same segments serialized
// by plain string joins (the text floor). Then, when present, bench/claims-delivery-bench.ts's
// benchDelivery prints claims delivered per second through the queue.
//   npm run bench:claims -- [--members 300]
import fs from 'node:fs';
import type { Claim } from 'fhir/r4';
import { loadConfig } from '../src/config.ts';
import { loadContract } from '../src/billing/contract-load.ts';
import { commandLineEngine } from '../src/command-line-engine.ts';
import { buildForPeriod } from '../src/billing/claim-build.ts';
import { captureCharges } from '../src/billing/charge-capture.ts';
import { create } from '../src/fhir/interactions/create.ts';
import { migrate } from '../src/store/migrations.ts';
import { TerminologyService } from '../src/terminology/terminology-service.ts';
import { renderClaim837p } from '../src/billing/x12-837p/render-claim-837p.ts';
import { integerOption, openBenchDatabase } from './bench-kit.ts';

const members = integerOption('members', 300);
const bench = await openBenchDatabase('claims');
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent', CLAIM_BATCH_INTERVAL_HOURS: '0' });
try {
  await migrate(bench.db);
  const engine = await commandLineEngine(bench.db, config);
  const hub = config.hubOrganization;
  const contract = JSON.parse(fs.readFileSync(new URL('../fixtures/billing/demo-plan-contract.json', import.meta.url), 'utf8'));
  await loadContract(engine, hub, contract);
  // Members, their Coverage and a completed hub Task with 3 Procedures each; charges captured as the queue would.
  const HCPCS = 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes';
  const MOD = 'http://cch.example.org/fhir/StructureDefinition/service-modifier';
  await engine.runAsSystem('bench-setup', hub, async (scope) => {
    for (let c = 0; c < 10; c++) await create(scope, 'Organization', { resourceType: 'Organization', name: `CBO ${c}`, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '9876543213' }] }, undefined, `cbo-${c}`);
  });
  for (let i = 0; i < members; i++) {
    await engine.runAsSystem('bench-setup', hub, async (scope) => {
      const p = `m${i}`;
      await create(scope, 'Patient', { resourceType: 'Patient', name: [{ family: 'Member', given: [`N${i}`] }], gender: 'female', birthDate: '1980-01-01', address: [{ line: ['1 A ST'], city: 'SAN DIEGO', state: 'CA', postalCode: '92101' }] }, undefined, p);
      await create(scope, 'Coverage', { resourceType: 'Coverage', status: 'active', subscriberId: `MCD${i}`, beneficiary: { reference: `Patient/${p}` }, payor: [{ reference: 'Organization/demo-plan' }], class: [{ type: { coding: [{ code: 'plan' }] }, value: 'demo-plan-calaim-cs' }] }, undefined, `cov-${p}`);
      await create(scope, 'ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: `Patient/${p}` }, reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z59.41' }] }] }, undefined, `sr-${p}`);
      const outputs = [];
      for (const [d, code, mod] of [['2026-11-02', 'S5170', 'U6'], ['2026-11-03', 'H0043', 'U6'], ['2026-11-04', 'S9977', 'U7']]) {
        const id = `proc-${p}-${code}`;
        await create(scope, 'Procedure', { resourceType: 'Procedure', status: 'completed', subject: { reference: `Patient/${p}` }, performedDateTime: d, extension: [{ url: MOD, valueCoding: { system: HCPCS, code: mod } }], code: { coding: [{ system: HCPCS, code }] } }, undefined, id);
        outputs.push({ type: { text: 'service' }, valueReference: { reference: `Procedure/${id}` } });
      }
      await create(scope, 'Task', { resourceType: 'Task', status: 'completed', intent: 'order', for: { reference: `Patient/${p}` }, focus: { reference: `ServiceRequest/sr-${p}` }, owner: { reference: `Organization/cbo-${i % 10}` }, output: outputs }, undefined, `task-${p}`);
      await captureCharges(scope, { hubTaskId: `task-${p}`, sourceTaskId: `task-${p}` });
    });
  }
  await bench.db.query(`CREATE TABLE bench_claim_raw (id text PRIMARY KEY, content jsonb NOT NULL)`);

  const context = { terminology: TerminologyService.load(), billing: config.billing };
  let t0 = performance.now();
  const built = await engine.runAsSystem('bench-build', hub, (scope) => buildForPeriod(scope, context, { payer: 'Organization/demo-plan', start: '2026-11-01', end: '2026-11-30' }));
  const buildMs = performance.now() - t0;
  const claims = built.claims as Claim[];

  t0 = performance.now();
  await bench.db.transaction(async (tx) => {
    for (const claim of claims) await tx.query(`INSERT INTO bench_claim_raw (id, content) VALUES ($1, $2::jsonb)`, [`raw-${claim.id}`, JSON.stringify(claim)]);
  });
  const rawInsertMs = performance.now() - t0;

  const texts: string[] = [];
  t0 = performance.now();
  await engine.runAsSystem('bench-render', hub, async (scope) => {
    for (const claim of claims) texts.push(await renderClaim837p(scope, claim, config.billing));
  });
  const renderMs = performance.now() - t0;

  // Raw text floor: the same segments re-joined from already-split strings (no data lookups, no loop logic).
  const split = texts.map((text) => text.split('\n').map((line) => line.split('*')));
  t0 = performance.now();
  let bytes = 0;
  for (const segments of split) bytes += segments.map((elements) => elements.join('*')).join('\n').length;
  const rawJoinMs = Math.max(performance.now() - t0, 0.001);

  const rate = (n: number, ms: number) => (n / ms) * 1000;
  const line = (label: string, ours: number, raw: number) => console.log(`${label.padEnd(34)} ${ours.toFixed(1).padStart(9)} /s   raw ${raw.toFixed(1).padStart(11)} /s   ratio ${(ours / raw).toFixed(4)}`);
  console.log(`bench:claims  ${members} members × 3 charges → ${claims.length} claims (${built.held.length} held); database ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}; ${bytes} bytes of 837P`);
  line('claims built (buildForPeriod)', rate(claims.length, buildMs), rate(claims.length, rawInsertMs));
  line('claims rendered (837P)', rate(texts.length, renderMs), rate(texts.length, rawJoinMs));
  line('claims built + rendered', rate(claims.length, buildMs + renderMs), rate(claims.length, rawInsertMs + rawJoinMs));

  // The delivery half's figure, when its bench module exists.
  const deliveryBench = new URL('./claims-delivery-bench.ts', import.meta.url);
  if (fs.existsSync(deliveryBench)) {
    const module = (await import(deliveryBench.href)) as { benchDelivery?: (options: Record<string, unknown>) => Promise<unknown> };
    if (module.benchDelivery) await module.benchDelivery({ db: bench.db, config, engine, claims: claims.map((claim) => `Claim/${claim.id}`), payer: 'Organization/demo-plan' });
  }
} finally {
  await bench.db.close();
  await bench.drop();
}
