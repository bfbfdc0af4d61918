// Rebuilds search index rows from the stored resources, for parameters added after the data
// (a new SearchParameter, a changed expression). Works in batches, each in its own transaction,
// and records its position so an interrupted run resumes where it stopped.
import type { Resource } from 'fhir/r4';
import type { Database } from '../../store/database.ts';
import { writeSearchIndex } from '../../store/search-index.ts';
import { extractIndexRows } from './index-rows.ts';
import type { SearchParameterRegistry } from './search-parameter-registry.ts';

export interface ReindexOptions {
  resourceType?: string;
  batchSize?: number;
  /** Ignore a recorded position and start over. */
  restart?: boolean;
  onProgress?: (progress: { resourceType: string; done: number }) => void;
}

export async function reindex(db: Database, registry: SearchParameterRegistry, options: ReindexOptions = {}): Promise<number> {
  const job = options.resourceType ?? '*';
  const batchSize = options.batchSize ?? 500;
  if (options.restart) await db.query(`DELETE FROM reindex_progress WHERE job = $1`, [job]);
  const saved = (await db.query<{ resource_type: string; last_id: string }>(`SELECT resource_type, last_id FROM reindex_progress WHERE job = $1`, [job]))[0];
  const types = options.resourceType
    ? [options.resourceType]
    : (await db.query<{ resource_type: string }>(`SELECT DISTINCT resource_type FROM resource ORDER BY resource_type`)).map((row) => row.resource_type);

  let done = 0;
  for (const resourceType of types) {
    if (saved && resourceType < saved.resource_type) continue; // finished before the interruption
    let lastId = saved && resourceType === saved.resource_type ? saved.last_id : '';
    for (;;) {
      const batch = await db.query<{ id: string; content: Resource }>(
        `SELECT id, content FROM resource WHERE resource_type = $1 AND id > $2 AND NOT deleted ORDER BY id LIMIT $3`,
        [resourceType, lastId, batchSize],
      );
      if (batch.length === 0) break;
      lastId = batch[batch.length - 1].id;
      const indexed = batch.map((row) => ({ resourceType, id: row.id, rows: extractIndexRows(registry, row.content), replace: true }));
      await db.transaction(async (tx) => {
        await writeSearchIndex(tx, resourceType, indexed);
        await tx.query(
          `INSERT INTO reindex_progress (job, resource_type, last_id) VALUES ($1, $2, $3)
           ON CONFLICT (job) DO UPDATE SET resource_type = EXCLUDED.resource_type, last_id = EXCLUDED.last_id, updated_at = now()`,
          [job, resourceType, lastId],
        );
      });
      done += batch.length;
      options.onProgress?.({ resourceType, done });
    }
  }
  await db.query(`DELETE FROM reindex_progress WHERE job = $1`, [job]);
  return done;
}
