// Policy information: what decide() needs to know about a recipient and the patients in question,
// read fresh from the database for every request. There is no cache, so a Consent revoked or a
// Task closed is in force for the very next request after its transaction commits.
import type { Consent, Period } from 'fhir/r4';
import type { Queryable } from '../store/database.ts';
import type { Actor } from './actor.ts';
import type { RelationshipKind } from './disclosure-profile.ts';

export interface PatientFacts {
  /** active: may read and write; read-only: the grace period after a referral ended. */
  relationship?: 'active' | 'read-only';
  /** For plans: the member's coverage periods with this plan. */
  coveragePeriods?: Period[];
  consents: Consent[];
}

export interface PolicyFacts {
  patients: Map<string, PatientFacts>;
  now: Date;
}

/** How long a CBO keeps read access after its referral Task ends (documentation, billing). */
export const CBO_GRACE_DAYS = 30;
const ACTIVE_TASK = new Set(['requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);
const ENDED_TASK = new Set(['completed', 'cancelled', 'failed', 'rejected']);

const idOf = (organization: string) => organization.replace(/^Organization\//, '');

interface Related {
  patient: string;
  relationship: 'active' | 'read-only';
  period?: Period;
}

/** Patients the recipient is related to (optionally only among `patients`). */
async function related(q: Queryable, kind: RelationshipKind, actor: Actor, patients: string[] | undefined, now: Date): Promise<Related[]> {
  const org = idOf(actor.organization);
  const among = (column: string, params: unknown[]) => {
    if (!patients) return '';
    params.push(patients);
    return ` AND ${column} = ANY($${params.length}::text[])`;
  };
  switch (kind) {
    case 'cbo': {
      const params: unknown[] = [org];
      const rows = await q.query<{ patient: string; status: string; ended: string | null; last_updated: string | Date }>(
        `SELECT p.target_id AS patient, r.content->>'status' AS status, r.content->'executionPeriod'->>'end' AS ended, r.last_updated
           FROM search_reference o
           JOIN search_reference p ON p.resource_type = 'Task' AND p.id = o.id AND p.code = 'patient' AND p.target_type = 'Patient'
           JOIN resource r ON r.resource_type = 'Task' AND r.id = o.id AND NOT r.deleted
          WHERE o.resource_type = 'Task' AND o.code = 'owner' AND o.target_type = 'Organization' AND o.target_id = $1${among('p.target_id', params)}`,
        params as never,
      );
      const graceStart = now.getTime() - CBO_GRACE_DAYS * 86_400_000;
      return rows.flatMap((row): Related[] => {
        if (ACTIVE_TASK.has(row.status)) return [{ patient: row.patient, relationship: 'active' }];
        const endedAt = Date.parse(row.ended ?? new Date(row.last_updated).toISOString());
        if (ENDED_TASK.has(row.status) && endedAt >= graceStart) return [{ patient: row.patient, relationship: 'read-only' }];
        return [];
      });
    }
    case 'referral-source': {
      const params: unknown[] = [org];
      const rows = await q.query<{ patient: string }>(
        `SELECT DISTINCT p.target_id AS patient
           FROM search_reference o
           JOIN search_reference p ON p.resource_type = o.resource_type AND p.id = o.id AND p.code IN ('subject', 'patient') AND p.target_type = 'Patient'
          WHERE o.resource_type IN ('ServiceRequest', 'Task') AND o.code = 'requester'
            AND ((o.target_type = 'Organization' AND o.target_id = $1)
              -- a requester given as a PractitionerRole (as the IG's examples do) of the organization
              OR (o.target_type = 'PractitionerRole' AND o.target_id IN (SELECT r.id FROM search_reference r
                   WHERE r.resource_type = 'PractitionerRole' AND r.code = 'organization' AND r.target_type = 'Organization' AND r.target_id = $1)))${among('p.target_id', params)}`,
        params as never,
      );
      return rows.map((row) => ({ patient: row.patient, relationship: 'active' }));
    }
    case 'plan': {
      const params: unknown[] = [org];
      const rows = await q.query<{ patient: string; period: Period | null }>(
        `SELECT b.target_id AS patient, r.content->'period' AS period
           FROM search_reference o
           JOIN search_reference b ON b.resource_type = 'Coverage' AND b.id = o.id AND b.code = 'beneficiary' AND b.target_type = 'Patient'
           JOIN resource r ON r.resource_type = 'Coverage' AND r.id = o.id AND NOT r.deleted AND r.content->>'status' = 'active'
          WHERE o.resource_type = 'Coverage' AND o.code = 'payor' AND o.target_type = 'Organization' AND o.target_id = $1${among('b.target_id', params)}`,
        params as never,
      );
      return rows.map((row) => ({ patient: row.patient, relationship: 'active', period: row.period ?? {} }));
    }
    case 'hie': {
      // An exchange is related to a patient through a Consent that names it (the consent layer then
      // decides), or through data about the patient that it submitted.
      const params: unknown[] = [actor.organization];
      const byConsent = among('p.target_id', params);
      const bySubmission = among('s.target_id', params);
      const byPatient = among('r.id', params);
      const rows = await q.query<{ patient: string }>(
        `SELECT p.target_id AS patient
           FROM resource c
           JOIN search_reference p ON p.resource_type = 'Consent' AND p.id = c.id AND p.code = 'patient' AND p.target_type = 'Patient'
          WHERE c.resource_type = 'Consent' AND NOT c.deleted AND c.content->>'status' = 'active'
            -- nested provisions name actors too (the 'actor' search parameter indexes only the root's)
            AND jsonb_path_exists(c.content, '$.provision.**.actor.reference.reference ? (@ == $org)', jsonb_build_object('org', $1::text))${byConsent}
         UNION
         SELECT s.target_id FROM resource r
           JOIN search_reference s ON s.resource_type = r.resource_type AND s.id = r.id AND s.code IN ('subject', 'patient', 'beneficiary') AND s.target_type = 'Patient'
          WHERE r.created_by = $1 AND NOT r.deleted${bySubmission}
         UNION
         SELECT r.id FROM resource r WHERE r.created_by = $1 AND r.resource_type = 'Patient' AND NOT r.deleted${byPatient}`,
        params as never,
      );
      return rows.map((row) => ({ patient: row.patient, relationship: 'active' }));
    }
    case 'all':
      return (patients ?? []).map((patient) => ({ patient, relationship: 'active' }));
  }
}

async function consentsOf(q: Queryable, patients: string[]): Promise<Map<string, Consent[]>> {
  const byPatient = new Map<string, Consent[]>();
  if (patients.length === 0) return byPatient;
  const rows = await q.query<{ patient: string; content: Consent }>(
    `SELECT s.target_id AS patient, r.content
       FROM search_reference s JOIN resource r ON r.resource_type = 'Consent' AND r.id = s.id AND NOT r.deleted
      WHERE s.resource_type = 'Consent' AND s.code = 'patient' AND s.target_type = 'Patient' AND s.target_id = ANY($1::text[])`,
    [patients],
  );
  for (const row of rows) byPatient.set(row.patient, [...(byPatient.get(row.patient) ?? []), row.content]);
  return byPatient;
}

/**
 * Facts about the recipient and `patients` (or, when undefined, every patient the recipient is
 * related to: the candidates of search narrowing).
 */
export async function loadPolicyFacts(q: Queryable, actor: Actor, kind: RelationshipKind, patients: string[] | undefined, withConsents: boolean): Promise<PolicyFacts> {
  const now = new Date();
  const relations = await related(q, kind, actor, patients, now);
  const facts = new Map<string, PatientFacts>();
  for (const patient of patients ?? []) facts.set(patient, { consents: [] });
  for (const relation of relations) {
    const entry = facts.get(relation.patient) ?? { consents: [] };
    if (entry.relationship !== 'active') entry.relationship = relation.relationship;
    if (relation.period) entry.coveragePeriods = [...(entry.coveragePeriods ?? []), relation.period];
    facts.set(relation.patient, entry);
  }
  if (withConsents) {
    const consents = await consentsOf(q, [...facts.keys()]);
    for (const [patient, list] of consents) facts.get(patient)!.consents = list;
  }
  return { patients: facts, now };
}
