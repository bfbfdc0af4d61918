// Reads the population and each member's data from the store in bulk: a member at a time through the
// search API would take minutes for a plan of 100,000. Read-only SQL over the store's current-version
// and reference-index tables, as the policy's own fact loading does (src/policy/policy-facts.ts);
// nothing is written here. Members are read in chunks so memory stays bounded by the chunk.
import type { Claim, Condition, Coverage, Encounter, Group, Observation, Patient, Procedure, Resource } from 'fhir/r4';
import type { Queryable } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { emptyMemberData, type MemberData } from './member-data.ts';

export const MEMBER_CHUNK = 2_000;

const idOf = (reference: string, type: string): string | undefined => {
  const match = new RegExp(`^${type}/([A-Za-z0-9\\-.]{1,64})$`).exec(reference);
  return match?.[1];
};

/** The patients with a Coverage (any status, any period) whose payor is Organization/`payer`, in id order. */
export async function payerMembers(q: Queryable, payer: string): Promise<string[]> {
  const rows = await q.query<{ patient: string }>(
    `SELECT DISTINCT b.target_id AS patient
       FROM search_reference o
       JOIN search_reference b ON b.resource_type = 'Coverage' AND b.id = o.id AND b.code = 'beneficiary' AND b.target_type = 'Patient'
       JOIN resource r ON r.resource_type = 'Coverage' AND r.id = o.id AND NOT r.deleted
      WHERE o.resource_type = 'Coverage' AND o.code = 'payor' AND o.target_type = 'Organization' AND o.target_id = $1
      ORDER BY 1`,
    [payer],
  );
  return rows.map((row) => row.patient);
}

/** Every payer (Organization id) with an active Coverage: the plans the monthly job reports to. */
export async function activePayers(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ payer: string }>(
    `SELECT DISTINCT o.target_id AS payer
       FROM search_reference o JOIN resource r ON r.resource_type = 'Coverage' AND r.id = o.id AND NOT r.deleted AND r.content->>'status' = 'active'
      WHERE o.resource_type = 'Coverage' AND o.code = 'payor' AND o.target_type = 'Organization'
      ORDER BY 1`,
  );
  return rows.map((row) => row.payer);
}

/** A stored, not deleted resource of `type` (undefined otherwise). */
export async function readStored<T extends Resource>(q: Queryable, type: string, id: string): Promise<T | undefined> {
  const stored = await readCurrent(q, type, id);
  return stored && !stored.deleted ? (stored.resource as T) : undefined;
}

/** The Patient ids a Group lists as members (member.entity), skipping inactive memberships. */
export function groupPatients(group: Group): string[] {
  const ids = (group.member ?? []).filter((member) => !member.inactive).map((member) => idOf(member.entity.reference ?? '', 'Patient'));
  return [...new Set(ids.filter((id): id is string => !!id))];
}

async function byPatient<T extends Resource>(q: Queryable, type: string, code: string, patients: string[], extra = '', extraParams: unknown[] = []): Promise<Map<string, T[]>> {
  const rows = await q.query<{ patient: string; content: T }>(
    `SELECT s.target_id AS patient, r.content
       FROM search_reference s JOIN resource r ON r.resource_type = s.resource_type AND r.id = s.id AND NOT r.deleted
      WHERE s.resource_type = $1 AND s.code = $2 AND s.target_type = 'Patient' AND s.target_id = ANY($3::text[])${extra}`,
    [type, code, patients, ...extraParams] as never,
  );
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(row.patient);
    if (list) list.push(row.content);
    else map.set(row.patient, [row.content]);
  }
  return map;
}

export interface LoadOptions {
  /** Only this payer's Coverages count for enrollment (Organization id); all when undefined. */
  payer?: string;
  /** Decides which of the chunk's patients may be evaluated (the caller's policy); all when undefined. */
  admit?: (patients: Patient[]) => Promise<Patient[]>;
}

/** The members' data, one chunk at a time (existing, not deleted Patients only). */
export async function* memberChunks(q: Queryable, patientIds: readonly string[], options: LoadOptions = {}): AsyncGenerator<MemberData[]> {
  for (let i = 0; i < patientIds.length; i += MEMBER_CHUNK) {
    const chunk = patientIds.slice(i, i + MEMBER_CHUNK);
    const rows = await q.query<{ content: Patient }>(`SELECT content FROM resource WHERE resource_type = 'Patient' AND id = ANY($1::text[]) AND NOT deleted ORDER BY id`, [chunk]);
    let patients = rows.map((row) => row.content);
    if (options.admit) patients = await options.admit(patients);
    if (patients.length === 0) continue;
    const ids = patients.map((patient) => patient.id!);
    const payerFilter = options.payer
      ? ` AND EXISTS (SELECT 1 FROM search_reference p WHERE p.resource_type = 'Coverage' AND p.id = s.id AND p.code = 'payor' AND p.target_type = 'Organization' AND p.target_id = $4)`
      : '';
    const loads = [
      () => byPatient<Coverage>(q, 'Coverage', 'beneficiary', ids, payerFilter, options.payer ? [options.payer] : []),
      () => byPatient<Observation>(q, 'Observation', 'subject', ids),
      () => byPatient<Procedure>(q, 'Procedure', 'subject', ids),
      () => byPatient<Condition>(q, 'Condition', 'subject', ids),
      () => byPatient<Encounter>(q, 'Encounter', 'subject', ids),
      () => byPatient<Claim>(q, 'Claim', 'patient', ids),
    ] as const;
    // On the pool the six reads run at once (each on its own connection); a transaction is one
    // connection, where overlapping queries only queue (and pg 9 will refuse them): one after another.
    const [coverages, observations, procedures, conditions, encounters, claims] = (
      'transaction' in q ? await Promise.all(loads.map((load) => load())) : await sequentially(loads)
    ) as [Map<string, Coverage[]>, Map<string, Observation[]>, Map<string, Procedure[]>, Map<string, Condition[]>, Map<string, Encounter[]>, Map<string, Claim[]>];
    yield patients.map((patient) => ({
      ...emptyMemberData(patient),
      coverages: coverages.get(patient.id!) ?? [],
      observations: observations.get(patient.id!) ?? [],
      procedures: procedures.get(patient.id!) ?? [],
      conditions: conditions.get(patient.id!) ?? [],
      encounters: encounters.get(patient.id!) ?? [],
      claims: claims.get(patient.id!) ?? [],
    }));
  }
}

async function sequentially(loads: readonly (() => Promise<unknown>)[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const load of loads) results.push(await load());
  return results;
}
