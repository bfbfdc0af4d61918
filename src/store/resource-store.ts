// Resource rows: the current version per resource, and every version in resource_version.
// This is the only module that writes SQL for resources; the FHIR engine calls it.
import type { Resource } from 'fhir/r4';
import type { Queryable, SqlValue } from './database.ts';

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO instant with milliseconds, UTC. */
  lastUpdated: string;
  deleted: boolean;
  /** The resource as stored, with id and meta filled in; undefined for a delete tombstone. */
  resource: Resource | undefined;
  /** The writer's Organization (when writing; not read back). */
  author?: string;
}

export interface HistoryRow extends StoredVersion {
  seq: number;
  /** This version brought the resource into existence: the first version, or the first after a delete. */
  created: boolean;
}

interface Row {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: string;
  deleted: boolean;
  content: Resource | null;
  seq?: number;
}

const COLUMNS = 'resource_type, id, version_id, last_updated, deleted, content';

/** PostgreSQL prints timestamptz as `2025-01-01 10:00:00.123+00`; FHIR wants an ISO instant. */
export function toInstant(value: string | Date): string {
  return (value instanceof Date ? value : new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'))).toISOString();
}

function fromRow(row: Row): StoredVersion {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: toInstant(row.last_updated),
    deleted: row.deleted,
    resource: row.content ?? undefined,
  };
}

/** The current version (possibly a tombstone). `lock` takes a row lock until the transaction ends. */
export async function readCurrent(q: Queryable, type: string, id: string, lock = false): Promise<StoredVersion | undefined> {
  const rows = await q.query<Row>(
    `SELECT ${COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [type, id],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function readVersion(q: Queryable, type: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
  const rows = await q.query<Row>(
    `SELECT ${COLUMNS} FROM resource_version WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
    [type, id, versionId],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Appends a version and makes it current. The caller holds the row lock (or knows the row is new). */
export async function writeVersion(q: Queryable, version: StoredVersion): Promise<void> {
  const params: SqlValue[] = [
    version.resourceType,
    version.id,
    version.versionId,
    version.lastUpdated,
    version.deleted,
    version.resource ? JSON.stringify(version.resource) : null,
    version.author ?? null,
  ];
  // One statement (one round trip) appends the version and makes it current. created_by keeps
  // the first writer: an update does not change who submitted the resource.
  await q.query(
    `WITH version AS (
       INSERT INTO resource_version (${COLUMNS}, author) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
     )
     INSERT INTO resource (${COLUMNS}, created_by) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
     ON CONFLICT (resource_type, id) DO UPDATE
       SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
           deleted = EXCLUDED.deleted, content = EXCLUDED.content`,
    params,
  );
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  since?: string;
  /** Keyset cursor: only versions written before (older than) this seq, or after it when `newer`. */
  cursor?: { seq: number; newer: boolean };
  limit: number;
}

function historyFilter(query: Omit<HistoryQuery, 'limit'>): { where: string; params: SqlValue[] } {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  if (query.resourceType) clauses.push(`resource_type = $${params.push(query.resourceType)}`);
  // Every request writes an AuditEvent: system history would be all audit. They have their own (AuditEvent/_history).
  else clauses.push(`resource_type <> 'AuditEvent'`);
  if (query.id) clauses.push(`id = $${params.push(query.id)}`);
  if (query.since) clauses.push(`last_updated >= $${params.push(query.since)}`);
  if (query.cursor) clauses.push(`seq ${query.cursor.newer ? '>' : '<'} $${params.push(query.cursor.seq)}`);
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Versions newest first (by write order), one page of them. */
export async function history(q: Queryable, query: HistoryQuery): Promise<HistoryRow[]> {
  const { where, params } = historyFilter(query);
  const newer = query.cursor?.newer ?? false;
  const rows = await q.query<Row & { created: boolean }>(
    `SELECT seq, ${COLUMNS},
            version_id = 1 OR COALESCE((SELECT p.deleted FROM resource_version p
              WHERE p.resource_type = v.resource_type AND p.id = v.id AND p.version_id = v.version_id - 1), false) AS created
       FROM resource_version v ${where} ORDER BY seq ${newer ? 'ASC' : 'DESC'} LIMIT $${params.push(query.limit)}`,
    params,
  );
  const page = rows.map((row) => ({ ...fromRow(row), seq: Number(row.seq), created: row.created }));
  return newer ? page.reverse() : page;
}

export async function countHistory(q: Queryable, query: Omit<HistoryQuery, 'cursor' | 'limit'>): Promise<number> {
  const { where, params } = historyFilter(query);
  const rows = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource_version ${where}`, params);
  return rows[0].n;
}
