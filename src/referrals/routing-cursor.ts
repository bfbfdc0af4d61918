// The round-robin cursor of routing (src/referrals/routing.ts), kept in the database so that every
// server process continues the same rotation.
import type { Queryable } from '../store/database.ts';
import type { RoundRobinCursor } from './routing.ts';

export async function loadCursor(q: Queryable): Promise<RoundRobinCursor> {
  const rows = await q.query<{ key: string; last_chosen: string }>('SELECT key, last_chosen FROM routing_cursor');
  return { lastChosen: Object.fromEntries(rows.map((row) => [row.key, row.last_chosen])) };
}

export async function saveCursor(q: Queryable, key: string, organization: string): Promise<void> {
  await q.query(
    `INSERT INTO routing_cursor (key, last_chosen) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET last_chosen = EXCLUDED.last_chosen`,
    [key, organization],
  );
}
