// Policy epochs: one counter per resource type whose writes change who may see what (see migration
// 007). Bumped inside the writing transaction; read to tell whether cached policy facts still hold.
import type { Queryable } from './database.ts';

export const POLICY_TYPES: ReadonlySet<string> = new Set(['Consent', 'Coverage', 'ServiceRequest', 'Task']);

export async function bumpPolicyEpoch(q: Queryable, type: string): Promise<void> {
  if (POLICY_TYPES.has(type)) await q.query('UPDATE policy_epoch SET epoch = epoch + 1 WHERE kind = $1', [type]);
}

/**
 * Bumps the epochs of `types` once each, in one fixed (sorted) order. Each epoch row is a lock held
 * until commit: transactions that took them in the order they happened to write (Coverage then
 * Consent here, Consent then Coverage there) deadlocked on PostgreSQL; one order for all cannot.
 */
export async function bumpPolicyEpochs(q: Queryable, types: Iterable<string>): Promise<void> {
  for (const type of [...new Set(types)].sort()) await bumpPolicyEpoch(q, type);
}

/** The current epochs of `kinds`, as one comparable string. */
export async function readPolicyEpochs(q: Queryable, kinds: readonly string[]): Promise<string> {
  const rows = await q.query<{ kind: string; epoch: string | number }>('SELECT kind, epoch FROM policy_epoch WHERE kind = ANY($1::text[]) ORDER BY kind', [kinds as string[]]);
  return rows.map((row) => `${row.kind}:${row.epoch}`).join(',');
}
