// What a plan's referral report is computed from, read from the store as the system: the plan's
// members (a Coverage with the plan as payor), their referrals authored in the period (the inbound
// referral Tasks the hub owns), the CBOs' rejections of the hub's Tasks (with reasons), the charges
// (services delivered, with their funding Account and price) and the members' demographics.
import type { ChargeItem, Patient, Task } from 'fhir/r4';
import { payerMembers } from '../measures/sns-e/measure-data.ts';
import type { Queryable } from '../store/database.ts';

export interface ReportPeriod {
  /** Inclusive dates, YYYY-MM-DD. */
  start: string;
  end: string;
}

export interface ReportData {
  patients: Map<string, Patient>;
  /** Inbound referrals (Task owned by the hub, requested by someone else), by patient id. */
  referrals: { patient: string; task: Task }[];
  /** The hub's Tasks to CBOs that a CBO rejected. */
  rejections: { patient: string; task: Task }[];
  charges: { patient: string; charge: ChargeItem }[];
}

const CHUNK = 2_000;

async function byPatient<T>(q: Queryable, type: string, code: string, patients: string[]): Promise<{ patient: string; resource: T }[]> {
  const found: { patient: string; resource: T }[] = [];
  for (let i = 0; i < patients.length; i += CHUNK) {
    const rows = await q.query<{ patient: string; content: T }>(
      `SELECT s.target_id AS patient, r.content
         FROM search_reference s JOIN resource r ON r.resource_type = s.resource_type AND r.id = s.id AND NOT r.deleted
        WHERE s.resource_type = $1 AND s.code = $2 AND s.target_type = 'Patient' AND s.target_id = ANY($3::text[])
        ORDER BY r.id`,
      [type, code, patients.slice(i, i + CHUNK)],
    );
    found.push(...rows.map((row) => ({ patient: row.patient, resource: row.content })));
  }
  return found;
}

const inPeriod = (date: string | undefined, period: ReportPeriod) => !!date && date.slice(0, 10) >= period.start && date.slice(0, 10) <= period.end;

export async function loadReportData(q: Queryable, payer: string, period: ReportPeriod, hubOrganization: string): Promise<ReportData> {
  const members = await payerMembers(q, payer.replace(/^Organization\//, ''));
  const patients = new Map<string, Patient>();
  for (let i = 0; i < members.length; i += CHUNK) {
    const rows = await q.query<{ id: string; content: Patient }>(`SELECT id, content FROM resource WHERE resource_type = 'Patient' AND id = ANY($1::text[]) AND NOT deleted`, [members.slice(i, i + CHUNK)]);
    for (const row of rows) patients.set(row.id, row.content);
  }
  const tasks = await byPatient<Task>(q, 'Task', 'patient', members);
  const referrals = tasks
    .filter(({ resource }) => resource.owner?.reference === hubOrganization && resource.requester?.reference !== hubOrganization && inPeriod(resource.authoredOn, period))
    .map(({ patient, resource }) => ({ patient, task: resource }));
  const rejections = tasks
    .filter(({ resource }) => resource.requester?.reference === hubOrganization && resource.status === 'rejected' && inPeriod(resource.authoredOn, period))
    .map(({ patient, resource }) => ({ patient, task: resource }));
  const charges = (await byPatient<ChargeItem>(q, 'ChargeItem', 'patient', members))
    .filter(({ resource }) => resource.status !== 'entered-in-error' && inPeriod(resource.occurrenceDateTime ?? resource.occurrencePeriod?.start, period))
    .map(({ patient, resource }) => ({ patient, charge: resource }));
  return { patients, referrals, rejections, charges };
}
