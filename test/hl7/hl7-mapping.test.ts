// Each mapping end to end: a message sent over MLLP (Hl7Client), stored, processed by the hl7-inbox
// queue (Redis) into FHIR resources read back over HTTP. Also: one patient's messages in order,
// the ADT triggers, REF starting referral routing, ORU through the screening-to-findings mapping,
// and re-processing a message changing nothing.
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue } from '../../src/queue/outbox.ts';
import { ackField, fixture, inboxRow, processed, startHl7TestServer, waitFor, type Hl7TestServer } from './hl7-test-kit.ts';

let t: Hl7TestServer;
let client: Hl7Client;
const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';

beforeAll(async () => {
  t = await startHl7TestServer();
  client = new Hl7Client({ host: '127.0.0.1', port: t.hl7Port });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await t?.close();
});

async function send(text: string): Promise<void> {
  const ack = (await client.sendAndWait(Hl7Message.parse(text), { returnAck: 'first', timeoutMs: 10_000 })).toString();
  expect(ackField(ack, 'MSA', 1)).toBe('AA');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const resources = async (query: string): Promise<any[]> => ((await t.get(query)).entry ?? []).map((entry: { resource: unknown }) => entry.resource);
const patientByMrn = async (mrn: string) => (await resources(`Patient?identifier=${mrn}`))[0];

describe('ADT', () => {
  it('A01, A08, A03 of one patient are applied in order: Patient, Encounter, Coverage, Z-code Condition, Provenance', async () => {
    // Sent back to back without waiting for processing: per-patient order must hold.
    await send(fixture('adt-a01-admit.hl7', { controlId: 'ORD-1' }));
    await send(fixture('adt-a08-update.hl7', { controlId: 'ORD-2' }));
    await send(fixture('adt-a03-discharge.hl7', { controlId: 'ORD-3' }));
    for (const id of ['ORD-1', 'ORD-2', 'ORD-3']) expect((await processed(t.server, id)).state).toBe('processed');

    const patient = await patientByMrn('MRN100234');
    expect(patient.name[0]).toMatchObject({ family: 'RIVERA', given: ['ANA', 'LUCIA'], use: 'official' });
    expect(patient.birthDate).toBe('1967-04-12');
    expect(patient.gender).toBe('female');
    expect(patient.address[0]).toMatchObject({ line: ['88 SE Division St'], city: 'Portland', postalCode: '97202', use: 'home' }); // A08's
    expect(patient.identifier[0]).toMatchObject({ system: 'urn:oid:2.16.840.1.113883.3.9001', value: 'MRN100234' });
    expect(patient.identifier.some((id: { system: string }) => id.system === 'http://hl7.org/fhir/sid/us-ssn')).toBe(true);

    const [encounter] = await resources(`Encounter?subject=Patient/${patient.id}`);
    expect(encounter.status).toBe('finished');
    expect(encounter.class.code).toBe('IMP');
    expect(encounter.period).toEqual({ start: '2026-11-02T08:20:00-05:00', end: '2026-11-05T14:15:00-05:00' });
    expect(encounter.hospitalization.dischargeDisposition.coding[0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/v2-0112', code: '01' });
    expect(encounter.location[0].location.display).toBe('4W 415 A');
    expect(encounter.serviceProvider.reference).toBe('Organization/mercy');
    const history = (await t.get(`Encounter/${encounter.id}/_history`)).entry.map((e: { resource: { status: string } }) => e.resource.status);
    expect(history.reverse()).toEqual(['in-progress', 'in-progress', 'finished']); // A01, A08 (room change), A03

    const [coverage] = await resources(`Coverage?beneficiary=Patient/${patient.id}`);
    expect(coverage).toMatchObject({ status: 'active', subscriberId: 'OHP44556677', payor: [{ display: 'Oregon Health Plan' }], period: { start: '2026-01-01', end: '2027-12-31' } });
    expect(coverage.relationship.coding[0].code).toBe('self');

    const conditions = await resources(`Condition?subject=Patient/${patient.id}`);
    expect(conditions).toHaveLength(1); // Z59.41 only; I50.9 is not an SDOH Z code
    expect(conditions[0].code.coding[0]).toMatchObject({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z59.41' });
    expect(conditions[0].category.some((c: { coding: { code: string }[] }) => c.coding[0].code === 'food-insecurity')).toBe(true);

    const row = await inboxRow(t.server, 'ORD-1');
    const provenanceRef = row!.resources!.find((ref) => ref.startsWith('Provenance/'))!;
    const provenance = await t.get(provenanceRef);
    expect(provenance.entity[0].what.identifier).toEqual({ system: 'urn:cch:hl7-inbox', value: row!.id });
    expect(provenance.agent[0].who.reference).toBe('Organization/mercy');
    expect(provenance.target.map((target: { reference: string }) => target.reference.split('/_history')[0])).toEqual(
      expect.arrayContaining([`Patient/${patient.id}`, `Encounter/${encounter.id}`, `Coverage/${coverage.id}`, `Condition/${conditions[0].id}`]),
    );
  });

  it('A13 undoes the discharge; re-processing a message changes nothing', async () => {
    await send(fixture('adt-a13-cancel-discharge.hl7', { controlId: 'UNDO-1' }));
    await processed(t.server, 'UNDO-1');
    const patient = await patientByMrn('MRN100234');
    const [encounter] = await resources(`Encounter?subject=Patient/${patient.id}`);
    expect(encounter.status).toBe('in-progress');
    expect(encounter.period.end).toBeUndefined();
    expect(encounter.hospitalization).toBeUndefined();

    // Its job runs again (state reset, a new outbox message): every write finds its content in place.
    const before = { patient: patient.meta.versionId, encounter: encounter.meta.versionId, provenances: (await resources('Provenance?_count=100')).length };
    const row = await inboxRow(t.server, 'UNDO-1');
    const [{ processed_at: firstRun }] = await t.server.db.query<{ processed_at: Date }>(`SELECT processed_at FROM hl7_inbox WHERE id = $1`, [row!.id]);
    await t.server.db.query(`UPDATE hl7_inbox SET state = 'received' WHERE id = $1`, [row!.id]);
    await enqueue(t.server.db, { queue: 'hl7-inbox', payload: { inboxId: row!.id } });
    t.server.queues!.nudge();
    await processed(t.server, 'UNDO-1');
    const [{ processed_at: secondRun }] = await t.server.db.query<{ processed_at: Date }>(`SELECT processed_at FROM hl7_inbox WHERE id = $1`, [row!.id]);
    expect(new Date(secondRun).getTime()).toBeGreaterThan(new Date(firstRun).getTime()); // it did run again
    expect((await patientByMrn('MRN100234')).meta.versionId).toBe(before.patient);
    expect((await t.get(`Encounter/${encounter.id}`)).meta.versionId).toBe(before.encounter);
    expect(await resources('Provenance?_count=100')).toHaveLength(before.provenances);
  });

  it('A40 merges: the prior Patient is replaced by the surviving one', async () => {
    await send(fixture('adt-a01-admit.hl7', { controlId: 'MRG-0', mrn: 'MRN555001' }));
    await processed(t.server, 'MRG-0');
    await send(fixture('adt-a40-merge.hl7', { controlId: 'MRG-1' }));
    await processed(t.server, 'MRG-1');
    const prior = await patientByMrn('MRN555001');
    const survivor = await patientByMrn('MRN100234');
    expect(prior.active).toBe(false);
    expect(prior.link).toEqual([{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }]);
    expect(survivor.link).toEqual([{ other: { reference: `Patient/${prior.id}` }, type: 'replaces' }]);
  });

  it('A04 in the ED without a screening this year creates a screening Task for hub staff; A11 cancels the visit', async () => {
    await send(fixture('adt-a04-ed-registration.hl7', { controlId: 'ED-1' }));
    await processed(t.server, 'ED-1');
    const patient = await patientByMrn('MRN200871');
    const [encounter] = await resources(`Encounter?subject=Patient/${patient.id}`);
    expect(encounter).toMatchObject({ status: 'in-progress', class: { code: 'EMER' }, identifier: [{ value: 'V20261110-0101' }] });
    const tasks = await resources(`Task?patient=Patient/${patient.id}`);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: 'requested', owner: { reference: 'Organization/hub' }, requester: { reference: 'Organization/hub' }, code: { text: 'SDOH screening' } });

    await send(fixture('adt-a11-cancel-admit.hl7', { controlId: 'ED-2' }));
    await processed(t.server, 'ED-2');
    expect((await t.get(`Encounter/${encounter.id}`)).status).toBe('cancelled');
    // A second ED visit this year does not ask again.
    await send(fixture('adt-a04-ed-registration.hl7', { controlId: 'ED-3' }));
    await processed(t.server, 'ED-3');
    expect(await resources(`Task?patient=Patient/${patient.id}`)).toHaveLength(1);
  });

  it('A03 of a member with an open food referral at a CBO notifies that CBO', async () => {
    await send(fixture('adt-a01-admit.hl7', { controlId: 'FOOD-0', mrn: 'MRN-FOOD' }));
    await processed(t.server, 'FOOD-0');
    const patient = await patientByMrn('MRN-FOOD');
    const sr = {
      resourceType: 'ServiceRequest', id: 'food-sr', status: 'active', intent: 'order', subject: { reference: `Patient/${patient.id}` },
      category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }], code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
    };
    const task = {
      resourceType: 'Task', id: 'food-task', status: 'accepted', intent: 'order', code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: 'ServiceRequest/food-sr' }, for: { reference: `Patient/${patient.id}` }, requester: { reference: 'Organization/hub' }, owner: { reference: 'Organization/cbo-meals' },
    };
    expect((await t.put('ServiceRequest/food-sr', sr)).status).toBeLessThan(300);
    expect((await t.put('Task/food-task', task)).status).toBeLessThan(300);
    await send(fixture('adt-a03-discharge.hl7', { controlId: 'FOOD-1', mrn: 'MRN-FOOD' }));
    await processed(t.server, 'FOOD-1');
    const notices = await resources(`Communication?subject=Patient/${patient.id}`);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ recipient: [{ reference: 'Organization/cbo-meals' }], about: [{ reference: 'Task/food-task' }], status: 'completed' });
    expect(notices[0].payload[0].contentString).toContain('2026-11-05');
    expect(notices[0].payload[0].contentString).not.toContain('RIVERA');
  });
});

describe('REF and ORU', () => {
  it('REF^I12 becomes an SDOHCC ServiceRequest and a referral Task owned by the hub, which routing picks up; I14 cancels', async () => {
    await send(fixture('ref-i12-food-referral.hl7'));
    await processed(t.server, 'NC-REF-88121');
    const patient = await patientByMrn('NC-77821');
    const [request] = await resources(`ServiceRequest?subject=Patient/${patient.id}`);
    expect(request).toMatchObject({
      status: 'active', intent: 'order', requester: { reference: 'Organization/northside' },
      category: [{ coding: [{ system: SDOHCC, code: 'food-insecurity' }] }],
      code: { coding: [{ system: 'http://snomed.info/sct', code: '467771000124109' }] },
      note: [{ text: 'Family of three; prefers weekday deliveries.' }],
    });
    expect(request.meta.profile).toContain('http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest');
    const [task] = await resources(`Task?focus=ServiceRequest/${request.id}`);
    expect(task).toMatchObject({ intent: 'order', owner: { reference: 'Organization/hub' }, requester: { reference: 'Organization/northside' } });
    // The referral workflow took it up: with no CBO in the directory it is rejected with the reason, as a FHIR referral would be.
    const routed = await waitFor('routing', async () => {
      const current = await t.get(`Task/${task.id}`);
      return current.status !== 'requested' ? current : undefined;
    });
    expect(routed.status).toBe('rejected');
    expect(routed.statusReason.text).toMatch(/^No CBO can take this referral/);

    await send(fixture('ref-i14-cancel.hl7'));
    await processed(t.server, 'NC-REF-88121-C');
    expect((await t.get(`ServiceRequest/${request.id}`)).status).toBe('revoked');
  });

  it('ORU^R01 Hunger Vital Sign becomes screening Observations and a food insecurity Condition', async () => {
    await send(fixture('oru-r01-hunger-vital-sign.hl7'));
    await processed(t.server, 'NC-ORU-55120');
    const patient = await patientByMrn('NC-77821');
    const observations = await resources(`Observation?subject=Patient/${patient.id}&_count=50`);
    const answers = observations.filter((o) => ['88122-7', '88123-5'].includes(o.code.coding[0].code));
    expect(answers).toHaveLength(2);
    expect(answers[0].meta.profile[0]).toMatch(/SDOHCC-ObservationScreeningResponse$/);
    expect(observations.some((o) => o.code.coding[0].code === '88121-9' || o.code.coding[0].code === '88124-3')).toBe(true);
    const conditions = await resources(`Condition?subject=Patient/${patient.id}`);
    const fromScreening = conditions.filter((c) => c.verificationStatus.coding[0].code === 'unconfirmed');
    expect(fromScreening.length).toBeGreaterThan(0);
    expect(fromScreening[0].evidence[0].detail.length).toBeGreaterThan(0);
  });

  it('marks a message that cannot be mapped as failed with a reason free of PHI', async () => {
    const text = fixture('ref-i12-food-referral.hl7', { controlId: 'BAD-REF' }).replace('|NC-REF-88121|20261104|', '||20261104|');
    await send(text);
    const row = await processed(t.server, 'BAD-REF');
    expect(row.state).toBe('failed');
    expect(row.error).toBe('RF1-6 (originating referral identifier) is required');
  });
});
