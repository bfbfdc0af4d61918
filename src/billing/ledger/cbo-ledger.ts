// The payable ledger of each CBO (table cbo_ledger, migration 014-remittance): what the hub owes a CBO
// for its paid claim lines, less the hub's admin fee. Rows are only appended (a reversal is a
// negative row), in the transaction that applies the remittance, so the ledger and the 835 commit
// together or not at all.
import type { Queryable } from '../../store/database.ts';

export interface PaidLine {
  /** The CBO's Organization reference (the claim line's rendering provider). */
  cbo: string;
  /** What the payer paid for the line (negative for a reversal). */
  paid: number;
  claim: string;
  lineControlNumber: string | undefined;
  /** The 835 it came from: `TRN03|TRN02`. */
  remittance: string;
}

const cents = (amount: number) => Math.round(amount * 100) / 100;

/** The payable Account of a CBO: one per CBO, a stable id derived from its Organization id. */
export function payableAccountId(cbo: string): string {
  const orgId = cbo.replace(/^Organization\//, '');
  return `cbo-payable-${orgId}`.slice(0, 64);
}

/** Posts a paid line: the payment to the CBO's credit and the hub's fee as a separate debit. */
export async function postPaidLine(q: Queryable, line: PaidLine, adminFeePercent: number): Promise<{ payable: number; fee: number }> {
  const account = payableAccountId(line.cbo);
  const fee = cents((line.paid * adminFeePercent) / 100);
  const insert = `INSERT INTO cbo_ledger (account_id, cbo, entry, amount, claim, line_control_number, remittance) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  await q.query(insert, [account, line.cbo, 'line-paid', cents(line.paid), line.claim, line.lineControlNumber ?? null, line.remittance]);
  if (fee !== 0) await q.query(insert, [account, line.cbo, 'hub-admin-fee', -fee, line.claim, line.lineControlNumber ?? null, line.remittance]);
  return { payable: cents(line.paid - fee), fee };
}

/** The balance the hub owes on `accountId` (sum of its rows). */
export async function ledgerBalance(q: Queryable, accountId: string): Promise<number> {
  const rows = await q.query<{ balance: string | number | null }>(`SELECT COALESCE(SUM(amount), 0) AS balance FROM cbo_ledger WHERE account_id = $1`, [accountId]);
  return cents(Number(rows[0]?.balance ?? 0));
}
