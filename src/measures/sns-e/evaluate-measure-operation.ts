// GET|POST [base]/Measure/sns-e/$evaluate-measure (FHIR R4 Measure-evaluate-measure):
//   periodStart, periodEnd  1..1, dates (a dateTime counts by its date)
//   reportType              subject | subject-list | population; default subject with a subject, else population
//   subject                 Patient/x or Group/x (a Group's member.entity are the patients evaluated)
//   payer                   Organization/x: the hub's convenience, the plan's members from Coverage; also
//                           limits enrollment to that payer's Coverages
// Who may call: hub-admin and hub-staff for anyone; plan and plan-analytics clients (their disclosure
// profile lists the operation) for their own members only: a payer other than their own Organization, a
// Group it does not manage, or a patient who is not its member (or whose data the policy withholds from
// it, e.g. an opt-out) is reported as not known, exactly like one that does not exist. Plan callers are
// evaluated over the members the policy admits (src/fhir/disclosure-guard.ts filter on the Patient), so
// the counts cannot reveal withheld members either.
import type { Group, Patient } from 'fhir/r4';
import { badRequest, FhirError, forbidden, notFound } from '../../fhir/errors.ts';
import type { Operation, OperationCall } from '../../fhir/operations/operation.ts';
import { dayOf } from './calendar-days.ts';
import { groupPatients, payerMembers, readStored, type LoadOptions } from './measure-data.ts';
import { SNS_E_ID } from './measure-definition.ts';
import { evaluateOne, evaluatePopulation } from './population-evaluation.ts';
import { individualReport, type ReportContext } from './report-builder.ts';
import type { SnsERules } from './sns-e-config.ts';

const PLAN_ROLES = new Set(['plan', 'plan-analytics']);
const HUB_ROLES = new Set(['hub-admin', 'hub-staff', 'system']);
const REPORT_TYPES = ['subject', 'subject-list', 'population'] as const;
type ReportType = (typeof REPORT_TYPES)[number];

const DATE = /^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/;

function dateInput(call: OperationCall, name: string): number {
  const value = call.input.string(name);
  const expression = `Parameters.parameter[${name}]`;
  if (value === undefined) throw badRequest(`Parameter '${name}' is required`, expression, 'required');
  const day = DATE.test(value) ? dayOf(value) : undefined;
  if (day === undefined || Number.isNaN(day)) throw badRequest(`Parameter '${name}' must be a date (YYYY-MM-DD), got '${value}'`, expression);
  return day;
}

function referenceInput(call: OperationCall, name: string, types: string[]): { type: string; id: string } | undefined {
  const value = call.input.string(name) ?? call.input.value<{ reference?: string }>(name, 'Reference')?.reference;
  if (value === undefined) return undefined;
  const match = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(value);
  if (!match || !types.includes(match[1])) throw badRequest(`Parameter '${name}' must be ${types.map((t) => `${t}/[id]`).join(' or ')}, got '${value}'`, `Parameters.parameter[${name}]`);
  return { type: match[1], id: match[2] };
}

const unknown = (reference: string) => notFound(`${reference} is not known`);

export function evaluateMeasureOperation(rules: SnsERules): Operation {
  return {
    name: 'evaluate-measure',
    levels: ['instance'],
    types: ['Measure'],
    affectsState: false,
    async run(call) {
      const { scope, input } = call;
      if (call.id !== SNS_E_ID) throw new FhirError(404, { code: 'not-found', diagnostics: `Measure/${call.id} is not known: $evaluate-measure runs the SNS-E measure (Measure/${SNS_E_ID})` });
      const actor = scope.ctx.actor;
      const plan = PLAN_ROLES.has(actor.role);
      if (!plan && !HUB_ROLES.has(actor.role)) throw forbidden(`Access denied: ${actor.role} clients may not evaluate measures`);

      const start = dateInput(call, 'periodStart');
      const end = dateInput(call, 'periodEnd');
      if (end < start) throw badRequest('periodEnd is before periodStart', 'Parameters.parameter[periodEnd]');
      const payerRef = referenceInput(call, 'payer', ['Organization']);
      const subjectRef = referenceInput(call, 'subject', ['Patient', 'Group']);
      const reportTypeText = input.string('reportType') ?? (subjectRef ? 'subject' : 'population');
      if (!(REPORT_TYPES as readonly string[]).includes(reportTypeText)) {
        throw badRequest(`Parameter 'reportType' must be one of ${REPORT_TYPES.join(', ')}, got '${reportTypeText}'`, 'Parameters.parameter[reportType]', 'code-invalid');
      }
      const reportType = reportTypeText as ReportType;
      if (reportType === 'subject' && subjectRef?.type !== 'Patient') {
        throw badRequest("reportType 'subject' evaluates one Patient: give subject=Patient/[id]", 'Parameters.parameter[subject]', 'required');
      }
      if (!payerRef && !subjectRef && !plan) throw badRequest("Give 'payer' (Organization/[id]) or 'subject' (Patient/[id] or Group/[id])", 'Parameters.parameter[payer]', 'required');

      // A plan's population is its own members: its Organization is the payer, whatever it names.
      const own = actor.organization.replace(/^Organization\//, '');
      if (plan && payerRef && payerRef.id !== own) throw unknown(`Organization/${payerRef.id}`);
      let payer = plan ? own : payerRef?.id;
      if (payer && !(await readStored(scope.q, 'Organization', payer)) && !plan) throw unknown(`Organization/${payer}`);

      let patientIds: string[];
      if (subjectRef?.type === 'Group') {
        const group = await readStored<Group>(scope.q, 'Group', subjectRef.id);
        const managedBy = group?.managingEntity?.reference;
        if (!group || (plan && managedBy !== `Organization/${own}`)) throw unknown(`Group/${subjectRef.id}`);
        // A per-payer Group (managingEntity = the payer) makes its payer's Coverages the enrolment.
        if (!payer && managedBy?.startsWith('Organization/')) payer = managedBy.slice('Organization/'.length);
        patientIds = groupPatients(group);
      } else if (subjectRef) {
        patientIds = [subjectRef.id];
      } else {
        patientIds = await payerMembers(scope.q, payer!);
      }
      if (plan) {
        const members = new Set(await payerMembers(scope.q, own));
        patientIds = patientIds.filter((id) => members.has(id));
      }

      const options: LoadOptions = { payer };
      if (scope.guard.restricted) options.admit = (patients: Patient[]) => scope.guard.filter(scope.q, 'read', patients);
      const period = { start, end };
      const context: ReportContext = {
        period,
        reporter: scope.services.hubOrganization,
        payer: payer ? `Organization/${payer}` : undefined,
        subject: subjectRef ? `${subjectRef.type}/${subjectRef.id}` : undefined,
      };
      if (subjectRef?.type === 'Patient') {
        const result = patientIds.length ? await evaluateOne(scope.q, rules, subjectRef.id, period, options) : undefined;
        if (!result) throw unknown(`Patient/${subjectRef.id}`);
        if (reportType === 'subject') return { status: 200, resource: individualReport(rules, result, context) };
      }
      const tally = await evaluatePopulation(scope.q, rules, patientIds, period, { ...options, keepMembers: reportType === 'subject-list' });
      return { status: 200, resource: tally.report(reportType === 'subject-list' ? 'subject-list' : 'summary', context) };
    },
  };
}
