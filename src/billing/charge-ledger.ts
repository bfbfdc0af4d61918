// The billing_charge table (migration 013-billing): one row per recorded ChargeItem, written in the
// same transaction as the ChargeItem. capture_key makes capture idempotent (and forbids billing one
// service twice); billed_on marks a charge put on a Claim or Invoice, so it is billed once.
import type { Queryable } from '../store/database.ts';

export interface ChargeRow {
  charge_id: string;
  account_id: string;
  payer: string;
  patient_id: string;
  service_date: string;
  state: string;
}

export interface NewCharge {
  chargeId: string;
  captureKey: string;
  accountId: string;
  payer: string;
  patientId: string;
  serviceDate: string;
  state: 'billable' | 'not-billable';
}

/** Records a charge; false when one with the same capture key exists (nothing to do). */
export async function recordCharge(q: Queryable, charge: NewCharge): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO billing_charge (charge_id, capture_key, account_id, payer, patient_id, service_date, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (capture_key) DO NOTHING RETURNING charge_id`,
    [charge.chargeId, charge.captureKey, charge.accountId, charge.payer, charge.patientId, charge.serviceDate, charge.state],
  );
  return rows.length > 0;
}

/** Unbilled billable charges of a payer with service dates in [start, end], locked until the transaction ends. */
export async function unbilledCharges(q: Queryable, payer: string, start: string, end: string): Promise<ChargeRow[]> {
  return q.query<ChargeRow>(
    `SELECT charge_id, account_id, payer, patient_id, to_char(service_date, 'YYYY-MM-DD') AS service_date, state FROM billing_charge
      WHERE payer = $1 AND billed_on IS NULL AND state = 'billable' AND service_date BETWEEN $2 AND $3
      ORDER BY account_id, patient_id, service_date, charge_id FOR UPDATE`,
    [payer, start, end],
  );
}

export async function markBilled(q: Queryable, chargeIds: string[], billedOn: string): Promise<void> {
  if (chargeIds.length) await q.query(`UPDATE billing_charge SET billed_on = $1 WHERE charge_id = ANY($2)`, [billedOn, chargeIds]);
}

/** Whether charges of `accountId` in [start, end] are already on an Invoice (a later one is supplemental). */
export async function invoicedBefore(q: Queryable, accountId: string, start: string, end: string): Promise<boolean> {
  const rows = await q.query(`SELECT 1 FROM billing_charge WHERE account_id = $1 AND billed_on LIKE 'Invoice/%' AND service_date BETWEEN $2 AND $3 LIMIT 1`, [accountId, start, end]);
  return rows.length > 0;
}

/** The held (draft) claims a rebuild re-examines: claims holding charges of this payer in [start, end]. */
export async function claimsWithChargesIn(q: Queryable, payer: string, start: string, end: string): Promise<string[]> {
  const rows = await q.query<{ billed_on: string }>(
    `SELECT DISTINCT billed_on FROM billing_charge WHERE payer = $1 AND billed_on LIKE 'Claim/%' AND service_date BETWEEN $2 AND $3 ORDER BY billed_on`,
    [payer, start, end],
  );
  return rows.map((row) => row.billed_on);
}

/** Payers with unbilled billable charges up to `end` (the daily batch builds for each). */
export async function payersWithUnbilled(q: Queryable, end: string): Promise<string[]> {
  const rows = await q.query<{ payer: string }>(`SELECT DISTINCT payer FROM billing_charge WHERE billed_on IS NULL AND state = 'billable' AND service_date <= $1 ORDER BY payer`, [end]);
  return rows.map((row) => row.payer);
}

/** The next claim control number: `prefix` + 9 digits (also the 837P's ISA13/GS06 base). */
export async function nextControlNumber(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: string | number }>(`SELECT nextval('billing_control_number') AS n`);
  return Number(rows[0].n);
}
