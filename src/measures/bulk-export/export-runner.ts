// One run of an export job: for each resource type, keyset pages through the store's search (the
// same SQL as REST searches, with the `_typeFilter` queries, `_since` and the transaction time as
// filters), and writes NDJSON. Every page is decided under the EXPORTING client's actor through the
// DisclosureGuard: SQL narrowing to the patients it may see, then decide() per resource (relationship,
// consent, labels), then redaction to its disclosure profile. Memory holds one page at a time.
import type { Group, Resource } from 'fhir/r4';
import path from 'node:path';
import { DisclosureGuard } from '../../fhir/disclosure-guard.ts';
import { FhirError, notFound } from '../../fhir/errors.ts';
import { isPatientLinked, patientParams } from '../../fhir/patient-links.ts';
import { parseSearch } from '../../fhir/search/parse-search.ts';
import type { SearchParameterRegistry } from '../../fhir/search/search-parameter-registry.ts';
import type { Filter, SearchCursor, SearchRequest } from '../../fhir/search/search-request.ts';
import type { Actor } from '../../policy/actor.ts';
import { AuditTrail } from '../../policy/audit-trail.ts';
import { decide, isUnrestricted } from '../../policy/decide.ts';
import type { DisclosureProfiles } from '../../policy/disclosure-profile.ts';
import type { PolicyFactsCache } from '../../policy/policy-facts-cache.ts';
import type { Queryable } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { searchPage, searchPageText } from '../../store/search-sql.ts';
import { R4_RESOURCE_TYPES } from '../../validation/r4-resource-types.ts';
import { NdjsonWriter, type ExportFileStore } from './export-file-store.ts';
import type { ExportFile } from './export-job-store.ts';
import type { ExportRequest } from './export-request.ts';

export interface ExportServices {
  profiles: DisclosureProfiles;
  registry: SearchParameterRegistry;
  cache: PolicyFactsCache;
  /** Resources per page. */
  pageSize: number;
  /** The FHIR base for parsing `_typeFilter` references. */
  fhirBase: string;
}

/** Lines per NDJSON file before the next file of the type is started. */
export const FILE_LINES = 100_000;
/** Group members per SQL chunk of a Group export (one page of patients, not the whole roster, in each query). */
const MEMBER_CHUNK = 1000;

/** Thrown inside a run when it must stop: the job was cancelled or a newer run took it over. */
export class ExportStopped extends Error {}

/**
 * Test seam: called after each page a run has written. Tests use it to make a run fail or "die"
 * mid-export (restart survival); it is never set in production.
 */
export const exportRunObserver: { afterPage?: (event: { jobId: string; runId: string; pages: number }) => Promise<void> | void } = {};

export const guardFor = (actor: Actor, services: ExportServices) =>
  new DisclosureGuard(actor, { profiles: services.profiles, registry: services.registry, cache: services.cache }, new AuditTrail(), true);

/** The types an export writes: those asked for (or all, or the patient compartment's), that the actor may search. */
export function exportTypes(profiles: DisclosureProfiles, actor: Actor, request: ExportRequest): string[] {
  const candidates = request.types ?? R4_RESOURCE_TYPES.filter((type) => request.level === 'system' || isPatientLinked(type));
  if (isUnrestricted(actor)) return [...candidates];
  return candidates.filter((type) => decide(profiles, { actor, interaction: 'search-type', resourceType: type }).permit);
}

export function parseTypeFilter(services: ExportServices, type: string, query: string) {
  return parseSearch(type, new URLSearchParams(query), services.registry, { maxPageSize: services.pageSize, strict: true, fhirBase: services.fhirBase });
}

/** The patients of a Group export: its active Patient members (the Group read and checked under the actor). */
export async function groupPatients(q: Queryable, actor: Actor, services: ExportServices, groupId: string): Promise<string[]> {
  const stored = await readCurrent(q, 'Group', groupId);
  const group = stored && !stored.deleted ? (stored.resource as Group) : undefined;
  if (!group || !(await guardFor(actor, services).permits(q, 'read', group))) throw notFound(`Group/${groupId} is not known`);
  const ids = new Set<string>();
  for (const member of group.member ?? []) {
    const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(member.entity.reference ?? '');
    if (match && !member.inactive) ids.add(match[1]);
  }
  return [...ids].sort();
}

const instantAfter = (iso: string) => new Date(Date.parse(iso) + 1).toISOString();

/** The filters of a type that do not depend on the page: time bounds, the level's patients and `_typeFilter`. */
function typeFilters(services: ExportServices, type: string, request: ExportRequest, transactionTime: string): Filter[] {
  // Nothing changed after the transaction time (export.md: transactionTime); `_since`: changed after it.
  const filters: Filter[] = [{ kind: 'lastUpdated', anyOf: [{ prefix: 'le', start: transactionTime, end: instantAfter(transactionTime) }] }];
  if (request.since) filters.push({ kind: 'lastUpdated', anyOf: [{ prefix: 'gt', start: request.since, end: instantAfter(request.since) }] });
  if (request.level === 'patient' && type !== 'Patient') {
    // Patient/$export: data in any patient's compartment.
    const codes = patientParams(type) ?? [];
    filters.push({ kind: 'or', anyOf: codes.map((code) => ({ kind: 'index', code, match: { table: 'search_reference', anyOf: [{ targetType: 'Patient' }] } })) });
  }
  const queries = request.typeFilters[type];
  if (queries?.length) {
    const alternatives = queries.map((query): Filter => ({ kind: 'and', allOf: parseTypeFilter(services, type, query).filters }));
    filters.push(alternatives.length === 1 ? alternatives[0] : { kind: 'or', anyOf: alternatives });
  }
  return filters;
}

function memberFilter(type: string, patients: string[]): Filter {
  return type === 'Patient' ? { kind: 'id', ids: patients } : { kind: 'compartment', codes: patientParams(type) ?? [], patients };
}

export interface RunContext {
  q: Queryable;
  jobId: string;
  runId: string;
  actor: Actor;
  request: ExportRequest;
  transactionTime: string;
  services: ExportServices;
  store: ExportFileStore;
  /** The run's directory. */
  dir: string;
  /** Records progress; resolves false when the run must stop. */
  progress(text: string): Promise<boolean>;
}

/** Writes every file of the export; throws ExportStopped when cancelled or superseded. */
export async function runExport(run: RunContext): Promise<ExportFile[]> {
  const { q, actor, request, services } = run;
  const types = exportTypes(services.profiles, actor, request);
  const members = request.level === 'group' ? await groupPatients(q, actor, services, request.groupId!) : undefined;
  const restricted = !isUnrestricted(actor);
  const files: ExportFile[] = [];
  let pages = 0;
  let total = 0;

  for (const [index, type] of types.entries()) {
    const base = typeFilters(services, type, request, run.transactionTime);
    const parse = (t: string, query: URLSearchParams) => parseSearch(t, query, services.registry, { maxPageSize: services.pageSize, strict: true, fhirBase: services.fhirBase });
    let writer: NdjsonWriter | undefined;
    const closeWriter = async () => {
      if (!writer) return;
      await writer.close();
      files.push({ name: path.basename(writer.file), resourceType: type, count: writer.count, path: run.store.relative(writer.file) });
      writer = undefined;
    };
    const write = async (lines: string[]) => {
      for (let start = 0; start < lines.length; ) {
        if (writer && writer.count >= FILE_LINES) await closeWriter();
        writer ??= new NdjsonWriter(path.join(run.dir, `${type}-${files.filter((file) => file.resourceType === type).length + 1}.ndjson`));
        const room = FILE_LINES - writer.count;
        await writer.write(lines.slice(start, start + room));
        start += room;
      }
    };
    try {
      // A Group export runs chunk by chunk of members, so no query carries the whole roster.
      const chunks = members ? Array.from({ length: Math.ceil(members.length / MEMBER_CHUNK) }, (_, i) => members.slice(i * MEMBER_CHUNK, (i + 1) * MEMBER_CHUNK)) : [undefined];
      for (const chunk of chunks) {
        const filters = chunk ? [...base, memberFilter(type, chunk)] : base;
        // The same narrowing as a REST search by this client: hidden patients' rows never leave SQL.
        if (restricted) filters.push(...(await guardFor(actor, services).narrowing(q, type, 'search-type', parse, filters)));
        let cursor: SearchCursor | undefined;
        for (;;) {
          const search: SearchRequest = {
            resourceType: type, filters, sort: [{ kind: 'column', column: 'id', descending: false }], count: services.pageSize,
            includes: [], revincludes: [], used: [], unknown: [], cursor,
          };
          let rows: { keys: (string | null)[] }[];
          let lines: string[];
          if (restricted) {
            const page = await searchPage(q, search, services.pageSize);
            // A fresh guard (and audit trail) per page: decisions use current facts, memory stays flat.
            const guard = guardFor(actor, services);
            const resources: Resource[] = (await guard.filter(q, 'search-type', page.map((row) => row.resource))).map((resource) => guard.redact(resource));
            [rows, lines] = [page, resources.map((resource) => JSON.stringify(resource))];
          } else {
            // Nothing to decide or trim: copy the stored JSON text as it is (jsonb text has no newlines).
            const page = await searchPageText(q, search, services.pageSize);
            [rows, lines] = [page, page.map((row) => row.text)];
          }
          if (rows.length === 0) break;
          await write(lines);
          total += lines.length;
          pages += 1;
          if (!(await run.progress(`${type} (${index + 1} of ${types.length} types): ${total} resources written`))) throw new ExportStopped();
          await exportRunObserver.afterPage?.({ jobId: run.jobId, runId: run.runId, pages });
          if (rows.length < services.pageSize) break;
          cursor = { direction: 'next', values: rows[rows.length - 1].keys };
        }
      }
    } finally {
      await closeWriter();
    }
  }
  return files;
}

export const isExportError = (error: unknown): error is FhirError => error instanceof FhirError;
