// _include and _revinclude: the resources that page resources reference, or that reference them.
import type { Resource } from 'fhir/r4';
import type { Include } from '../fhir/search/search-request.ts';
import type { Queryable } from './database.ts';
import { Params } from './search-sql.ts';

type Keyed = Resource & { id: string };

/** Resources referenced from `sources` through the include's parameter (live resources only). */
export async function includedResources(q: Queryable, include: Include, sources: Keyed[]): Promise<Keyed[]> {
  const ids = sources.filter((source) => source.resourceType === include.sourceType).map((source) => source.id);
  if (ids.length === 0) return [];
  const p = new Params();
  const conditions = [`s.resource_type = ${p.add(include.sourceType)}`, `s.id = ANY(${p.add(ids)}::text[])`, 's.target_id IS NOT NULL'];
  if (include.code !== '*') conditions.push(`s.code = ${p.add(include.code)}`);
  if (include.targetType) conditions.push(`s.target_type = ${p.add(include.targetType)}`);
  const rows = await q.query<{ content: Keyed }>(
    `SELECT r.content FROM resource r
      WHERE NOT r.deleted AND (r.resource_type, r.id) IN (SELECT DISTINCT s.target_type, s.target_id FROM search_reference s WHERE ${conditions.join(' AND ')})`,
    p.values,
  );
  return rows.map((row) => row.content);
}

/** Resources of the include's source type that reference `targets` through its parameter. */
export async function revincludedResources(q: Queryable, include: Include, targets: Keyed[]): Promise<Keyed[]> {
  const byType = new Map<string, string[]>();
  for (const target of targets) {
    if (include.targetType && include.targetType !== target.resourceType) continue;
    byType.set(target.resourceType, [...(byType.get(target.resourceType) ?? []), target.id]);
  }
  const found: Keyed[] = [];
  for (const [type, ids] of byType) {
    const p = new Params();
    const conditions = [`s.resource_type = ${p.add(include.sourceType)}`, `s.target_type = ${p.add(type)}`, `s.target_id = ANY(${p.add(ids)}::text[])`];
    if (include.code !== '*') conditions.push(`s.code = ${p.add(include.code)}`);
    const rows = await q.query<{ content: Keyed }>(
      `SELECT r.content FROM resource r
        WHERE r.resource_type = ${p.add(include.sourceType)} AND NOT r.deleted AND r.id IN (SELECT s.id FROM search_reference s WHERE ${conditions.join(' AND ')})`,
      p.values,
    );
    found.push(...rows.map((row) => row.content));
  }
  return found;
}
