// Applies an inbound X12 interchange in the caller's transaction (the $x12-inbound request's, or the
// watched folder's system job): the envelope is read and checked first, then each transaction set
// by its type: 999, 277 (277CA) or 835. Each set is applied once: an 835 by its TRN (TRN03|TRN02),
// a 999 or 277CA by sender, interchange and set control numbers (table x12_inbound); a repeat
// answers what the first application did and changes nothing.
import type { Scope } from '../../fhir/scope.ts';
import { apply277ca } from './claim-ack-277ca.ts';
import { apply999 } from './acknowledgment-999.ts';
import { apply835, trace835 } from './remittance-835.ts';
import { el, readX12, transactionSets, x12Error } from './x12-reader.ts';

export interface AppliedTransaction {
  type: '999' | '277' | '835';
  key: string;
  duplicate: boolean;
  /** The resources written (or, for a duplicate, written the first time). */
  references: string[];
}

export async function applyX12(scope: Scope, text: string, adminFeePercent: number): Promise<AppliedTransaction[]> {
  const segments = await readX12(text);
  const isa = segments[0];
  const applied: AppliedTransaction[] = [];
  const sets = transactionSets(segments);
  if (sets.length === 0) throw x12Error(isa.position, 'ISA', 'the interchange holds no transaction set');
  for (const { st, body } of sets) {
    const type = el(st, 1);
    if (type !== '999' && type !== '277' && type !== '835') throw x12Error(st.position, 'ST', `transaction set ${type} is not one the hub receives (999, 277CA, 835)`);
    const key = type === '835' ? trace835(body) : `${el(isa, 6).trim()}|${el(isa, 13)}|${el(st, 2)}`;
    // Claims the key first: a concurrent duplicate waits here for this transaction, then finds it.
    const claimed = await scope.q.query(`INSERT INTO x12_inbound (kind, control_key, result) VALUES ($1, $2, '[]'::jsonb) ON CONFLICT DO NOTHING RETURNING kind`, [type, key]);
    if (claimed.length === 0) {
      const [previous] = await scope.q.query<{ result: string[] | string }>(`SELECT result FROM x12_inbound WHERE kind = $1 AND control_key = $2`, [type, key]);
      const references = typeof previous?.result === 'string' ? (JSON.parse(previous.result) as string[]) : (previous?.result ?? []);
      applied.push({ type, key, duplicate: true, references });
      continue;
    }
    const references = type === '999' ? await apply999(scope, body) : type === '277' ? await apply277ca(scope, body) : (await apply835(scope, body, adminFeePercent)).references;
    await scope.q.query(`UPDATE x12_inbound SET result = $3::jsonb WHERE kind = $1 AND control_key = $2`, [type, key, JSON.stringify(references)]);
    applied.push({ type, key, duplicate: false, references });
  }
  return applied;
}
