// Receipt over MLLP with real peers on loopback: @medplum/hl7's Hl7Client and our raw node:net client
// for the framing edge cases. Every accepted message is stored before its ACK; duplicates get the
// original ACK and are processed once; refusals are AR with an ERR segment; a database failure is AE
// and the sender's retry is stored and processed once.
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackField, fixture, frame, inboxRow, processed, RawMllpClient, startHl7TestServer, type Hl7TestServer } from './hl7-test-kit.ts';

let t: Hl7TestServer;
let client: Hl7Client;

beforeAll(async () => {
  t = await startHl7TestServer();
  client = new Hl7Client({ host: '127.0.0.1', port: t.hl7Port });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await t?.close();
});

const send = async (text: string) => (await client.sendAndWait(Hl7Message.parse(text), { returnAck: 'first', timeoutMs: 10_000 })).toString();

describe('acknowledgment', () => {
  it('stores the message before answering AA, then processes it', async () => {
    const ack = await send(fixture('adt-a01-admit.hl7', { controlId: 'ACK-1', mrn: 'MRN-ACK-1' }));
    expect(ackField(ack, 'MSA', 1)).toBe('AA');
    expect(ackField(ack, 'MSA', 2)).toBe('ACK-1');
    // The row exists the moment the ACK is in the sender's hands.
    const row = await inboxRow(t.server, 'ACK-1');
    expect(row).toBeDefined();
    expect((await processed(t.server, 'ACK-1')).state).toBe('processed');
  });

  it('answers a duplicate (same MSH-3, MSH-4, MSH-10) with the original ACK and processes it once', async () => {
    const text = fixture('adt-a01-admit.hl7', { controlId: 'DUP-1', mrn: 'MRN-DUP-1' });
    const first = await send(text);
    const row = await processed(t.server, 'DUP-1');
    const second = await send(text);
    expect(second).toBe(first);
    const rows = await t.server.db.query(`SELECT id FROM hl7_inbox WHERE control_id = 'DUP-1'`);
    expect(rows).toHaveLength(1);
    const patients = await t.get('Patient?identifier=MRN-DUP-1');
    expect(patients.total ?? patients.entry?.length).toBe(1);
    expect(patients.entry[0].resource.meta.versionId).toBe('1');
    expect(row.resources?.length).toBeGreaterThan(0);
  });

  it('answers CA in enhanced mode (MSH-15 AL)', async () => {
    const ack = await send(fixture('adt-a01-admit.hl7', { controlId: 'ENH-1', mrn: 'MRN-ENH-1', msh: { 15: 'AL', 16: 'NE' } }));
    expect(ackField(ack, 'MSA', 1)).toBe('CA');
    expect(await inboxRow(t.server, 'ENH-1')).toBeDefined();
  });

  it('refuses an unregistered facility with AR and ERR 204, storing nothing', async () => {
    const ack = await send(fixture('adt-a01-admit.hl7', { controlId: 'UNREG-1', msh: { 4: 'UNKNOWN_HOSPITAL' } }));
    expect(ackField(ack, 'MSA', 1)).toBe('AR');
    expect(ackField(ack, 'ERR', 2)).toBe('MSH^1^4');
    expect(ackField(ack, 'ERR', 3)).toMatch(/^204\^/);
    expect(await inboxRow(t.server, 'UNREG-1')).toBeUndefined();
  });

  it('refuses a message type the facility may not send (AR 200) and an unsupported version (AR 203)', async () => {
    const wrongType = await send(fixture('oru-r01-hunger-vital-sign.hl7', { controlId: 'TYPE-1', msh: { 3: 'EPIC', 4: 'MERCY_GENERAL' } }));
    expect(ackField(wrongType, 'MSA', 1)).toBe('AR');
    expect(ackField(wrongType, 'ERR', 3)).toMatch(/^200\^/);
    const version = await send(fixture('adt-a01-admit.hl7', { controlId: 'VER-1', msh: { 12: '2.1' } }));
    expect(ackField(version, 'MSA', 1)).toBe('AR');
    expect(ackField(version, 'ERR', 3)).toMatch(/^203\^/);
    const event = await send(fixture('adt-a01-admit.hl7', { controlId: 'EVT-1', msh: { 9: 'ADT^A31^ADT_A05' } }));
    expect(ackField(event, 'ERR', 3)).toMatch(/^201\^/);
    expect(await inboxRow(t.server, 'TYPE-1')).toBeUndefined();
  });

  it('answers AE while the inbox cannot be written; the retry is stored and processed once', async () => {
    const text = fixture('adt-a01-admit.hl7', { controlId: 'OUTAGE-1', mrn: 'MRN-OUTAGE-1' });
    await t.server.db.exec(`CREATE FUNCTION refuse_inbox() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'inbox down'; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER refuse_inbox BEFORE INSERT ON hl7_inbox FOR EACH ROW EXECUTE FUNCTION refuse_inbox();`);
    try {
      const failed = await send(text);
      expect(ackField(failed, 'MSA', 1)).toBe('AE');
      expect(ackField(failed, 'ERR', 3)).toMatch(/^207\^/);
      expect(await inboxRow(t.server, 'OUTAGE-1')).toBeUndefined();
    } finally {
      await t.server.db.exec('DROP TRIGGER refuse_inbox ON hl7_inbox; DROP FUNCTION refuse_inbox();');
    }
    const retried = await send(text);
    expect(ackField(retried, 'MSA', 1)).toBe('AA');
    await processed(t.server, 'OUTAGE-1');
    const again = await send(text); // a sender that missed the ACK sends once more
    expect(again).toBe(retried);
    const patients = await t.get('Patient?identifier=MRN-OUTAGE-1');
    expect(patients.entry).toHaveLength(1);
    const encounters = await t.get(`Encounter?subject=Patient/${patients.entry[0].resource.id}`);
    expect(encounters.entry).toHaveLength(1);
  });
});

describe('framing (raw node:net peer)', () => {
  const message = (id: string) => fixture('adt-a01-admit.hl7', { controlId: id, mrn: `MRN-${id}` });

  it('reassembles a frame split across writes, and reads two frames from one write', async () => {
    const raw = await RawMllpClient.connect(t.hl7Port);
    try {
      const bytes = frame(message('SPLIT-1'));
      await raw.write(bytes.subarray(0, 1)); // VT alone
      await raw.write(bytes.subarray(1, 40));
      await raw.write(bytes.subarray(40, bytes.length - 1)); // ends on FS: the CR comes next
      await raw.write(bytes.subarray(bytes.length - 1));
      await raw.write(Buffer.concat([frame(message('TWO-1')), frame(message('TWO-2'))]));
      const acks = await raw.waitForAcks(3);
      expect(acks.map((ack) => `${ackField(ack, 'MSA', 1)} ${ackField(ack, 'MSA', 2)}`)).toEqual(['AA SPLIT-1', 'AA TWO-1', 'AA TWO-2']);
    } finally {
      raw.close();
    }
  });

  it('skips junk between frames and answers an unparseable frame with AR', async () => {
    const raw = await RawMllpClient.connect(t.hl7Port);
    try {
      await raw.write(Buffer.concat([Buffer.from('\r\n garbage \x1c\r'), frame(message('JUNK-1')), Buffer.from('\n\n'), frame('this is not HL7'), frame(message('JUNK-2'))]));
      const acks = await raw.waitForAcks(3);
      expect(acks.map((ack) => ackField(ack, 'MSA', 1))).toEqual(['AA', 'AR', 'AA']);
      expect(ackField(acks[1], 'ERR', 3)).toMatch(/^100\^/);
      expect(ackField(acks[2], 'MSA', 2)).toBe('JUNK-2');
    } finally {
      raw.close();
    }
  });

  it('waits for a slow sender, byte by byte, on a connection kept open', async () => {
    const raw = await RawMllpClient.connect(t.hl7Port);
    try {
      const bytes = frame(message('SLOW-1'));
      for (let i = 0; i < bytes.length; i += 25) {
        await raw.write(bytes.subarray(i, i + 25));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [ack] = await raw.waitForAcks(1);
      expect(ackField(ack, 'MSA', 2)).toBe('SLOW-1');
      await new Promise((resolve) => setTimeout(resolve, 300)); // idle, then the same connection again
      await raw.write(frame(message('SLOW-2')));
      const acks = await raw.waitForAcks(2);
      expect(ackField(acks[1], 'MSA', 1)).toBe('AA');
    } finally {
      raw.close();
    }
  });
});
