// The referral Task state machine of the SDOH Clinical Care IG (STU 3.0.0) for
// SDOHCC TaskForReferralManagement: which status changes exist, who may make each, and what a new
// status needs. Pure: no store, no clock; the write path calls it with the stored and the new Task.
//
// Sources (IG = HL7/fhir-sdoh-clinicalcare, STU 3.0.0; summary in ../shared/docs/domain/gravity-ig.md §3.1):
// - [VS]      input/fsh/valuesets/SDOHCCValueSetReferralTaskStatus.fsh: every task-status code except `received` and `ready`.
// - [DIAGRAM] "Images Source/ReferralTaskStateDiagram.drawio" (Figure 1 of the profile page), edges read from the source:
//             start→Draft, Draft→Requested, Requested→{Accepted, Rejected, Cancelled},
//             Accepted→{In Progress, On-Hold, Completed or Failed, Cancelled}, In Progress→{Completed or Failed, Cancelled},
//             In Progress↔On-Hold (edge drawn with arrowheads at both ends), On-Hold→{Completed or Failed, Cancelled},
//             and "Entered in Error — can be reached from any other status".
// - [SET BY]  input/pagecontent/StructureDefinition-SDOHCC-TaskForReferralManagement-intro.md, table "Set By":
//             draft, requested, entered-in-error: Requester; accepted, rejected, in-progress, on-hold, failed, completed:
//             Responder (the owner); cancelled: Requester or Responder.
// - [REASON]  profile comment on Task.statusReason: rejected, cancelled, on-hold and failed should say why in statusReason.text.
// - [REFER-9] referral_workflow.md, refer-9 (SHALL): when Task.status moves to completed, the CBO adds one or more outputs
//             referencing resources that describe the outcome, such as an SDOHCC Procedure.
// - [OUTPUT]  SDOHCCTaskForReferralManagement.fsh output slices: PerformedActivityReference (Reference(SDOHCC Procedure))
//             and, new in 3.0.0, AdditionalContent (Reference(SDOHCC Observation Program Enrollment Status | Observation
//             Assessment | Observation Screening Response | Goal | Condition | QuestionnaireResponse | CarePlan)),
//             the outcome of referrals for further assessment (rffa.md) and enrollment (enrollment.md).
import type { Reference, Task } from 'fhir/r4';

export type TaskParty = 'requester' | 'owner' | 'both' | 'neither';

export interface TransitionProblem {
  status: 409 | 422;
  code: 'conflict' | 'business-rule' | 'required';
  diagnostics: string;
  expression: string;
}

type Status = Task['status'];
type Setter = 'requester' | 'owner' | 'either';

/** [VS] The statuses of a referral Task, in the order of the profile page's table. */
const REFERRAL_STATUSES: readonly Status[] = [
  'draft', 'requested', 'accepted', 'rejected', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error',
];

/** [DIAGRAM] + [SET BY] Every edge of the diagram, with the party the "Set By" table gives for its target status. */
const EDGES: readonly { from: Status; to: Status; by: Setter }[] = [
  // Draft (optional) → Requested: the requester releases its draft ([SET BY] requested: Requester).
  { from: 'draft', to: 'requested', by: 'requester' },
  // Requested → Accepted / Rejected: the potential performer decides ([SET BY] accepted, rejected: Responder).
  { from: 'requested', to: 'accepted', by: 'owner' },
  { from: 'requested', to: 'rejected', by: 'owner' },
  // Requested → Cancelled: either side withdraws ([SET BY] cancelled: Requester or Responder).
  { from: 'requested', to: 'cancelled', by: 'either' },
  // Accepted → In Progress / On-Hold / Completed or Failed: the performer works ([SET BY] Responder for all four).
  { from: 'accepted', to: 'in-progress', by: 'owner' },
  { from: 'accepted', to: 'on-hold', by: 'owner' },
  { from: 'accepted', to: 'completed', by: 'owner' },
  { from: 'accepted', to: 'failed', by: 'owner' },
  { from: 'accepted', to: 'cancelled', by: 'either' },
  // In Progress ↔ On-Hold (both arrowheads), In Progress → Completed or Failed ([SET BY] Responder).
  { from: 'in-progress', to: 'on-hold', by: 'owner' },
  { from: 'in-progress', to: 'completed', by: 'owner' },
  { from: 'in-progress', to: 'failed', by: 'owner' },
  // In Progress → Cancelled (the diagram draws this edge from Cancelled with the arrowhead at its start).
  { from: 'in-progress', to: 'cancelled', by: 'either' },
  // On-Hold → In Progress (resume), Completed or Failed, Cancelled. There is no On-Hold → Accepted edge.
  { from: 'on-hold', to: 'in-progress', by: 'owner' },
  { from: 'on-hold', to: 'completed', by: 'owner' },
  { from: 'on-hold', to: 'failed', by: 'owner' },
  { from: 'on-hold', to: 'cancelled', by: 'either' },
  // Rejected, cancelled, completed, failed and entered-in-error are end states (thick borders in the diagram): no edge
  // leaves them but the one to Entered in Error below.
];

/**
 * [DIAGRAM] Entered in Error "can be reached from any other status" (terminal ones included, and a stray received/ready
 * Task too); [SET BY] entered-in-error: Requester. Nothing leaves entered-in-error.
 */
const ENTERED_IN_ERROR_BY: Setter = 'requester';

/** [DIAGRAM] A referral Task begins at Draft (optional) or, per refer-5 (the referral source SHOULD set requested), Requested. */
const INITIAL_STATUSES: readonly Status[] = ['draft', 'requested'];

/** [REASON] The statuses that must say why in statusReason.text (the IG says "should"; the hub enforces it, issue 6). */
const NEEDS_REASON: ReadonlySet<Status> = new Set<Status>(['rejected', 'cancelled', 'on-hold', 'failed']);

/** [REFER-9] + [OUTPUT] The resource types an output may reference as the outcome of a completed referral. */
const OUTCOME_TYPES: readonly string[] = ['Procedure', 'Observation', 'Goal', 'Condition', 'QuestionnaireResponse', 'CarePlan'];

const PARTY_WORDS: Record<TaskParty, string> = {
  requester: 'requester',
  owner: 'owner',
  both: 'requester and owner',
  neither: 'neither requester nor owner',
};

/** The party `organization` plays on `task` (compares Task.requester / Task.owner references with it). */
export function partyOf(task: Task, organization: string): TaskParty {
  // Exact comparison of literal references, as src/policy/task-write-rules.ts does, so both modules agree on who is who.
  const requester = task.requester?.reference !== undefined && task.requester.reference === organization;
  const owner = task.owner?.reference !== undefined && task.owner.reference === organization;
  return requester && owner ? 'both' : requester ? 'requester' : owner ? 'owner' : 'neither';
}

/** The statuses reachable from `status` by `party` (for docs/tests and the capability of clients). */
export function allowedTransitions(status: Task['status'], party: TaskParty): Task['status'][] {
  // The hub on its own Tasks (requester and owner at once) may do what either may do.
  const may = (by: Setter) =>
    by === 'either' ? party !== 'neither' : party === 'both' || party === by;
  const reachable = new Set(EDGES.filter((edge) => edge.from === status && may(edge.by)).map((edge) => edge.to));
  if (status !== 'entered-in-error' && may(ENTERED_IN_ERROR_BY)) reachable.add('entered-in-error');
  return REFERRAL_STATUSES.filter((to) => reachable.has(to));
}

/** Problems with changing `before` into `after` by `organization` (before undefined: a create). Empty = allowed. */
export function checkTaskTransition(before: Task | undefined, after: Task, organization: string): TransitionProblem[] {
  const to = after.status;
  if (before === undefined) return checkCreate(after, organization);
  const from = before.status;
  // An update that keeps the status is not a transition: what else it may change is task-write-rules' business.
  if (from === to) return [];
  if (!REFERRAL_STATUSES.includes(to)) return [notReferralStatus(to)];
  // The acting party is the one the stored Task gives: an update cannot make its writer owner and act as owner at once.
  const party = partyOf(before, organization);
  if (!allowedTransitions(from, party).includes(to)) {
    return [{ status: 409, code: 'conflict', diagnostics: `cannot go from ${from} to ${to} as ${PARTY_WORDS[party]}`, expression: 'Task.status' }];
  }
  return requirementsOf(after);
}

function checkCreate(task: Task, organization: string): TransitionProblem[] {
  const problems: TransitionProblem[] = [];
  if (!REFERRAL_STATUSES.includes(task.status)) problems.push(notReferralStatus(task.status));
  else if (!INITIAL_STATUSES.includes(task.status)) {
    problems.push({
      status: 422, code: 'business-rule', expression: 'Task.status',
      diagnostics: `a referral Task is created as draft or requested, not ${task.status}`,
    });
  }
  // [SET BY] draft and requested are the requester's: only the requester creates a referral Task.
  const party = partyOf(task, organization);
  if (party !== 'requester' && party !== 'both') {
    problems.push({
      status: 422, code: 'business-rule', expression: 'Task.requester',
      diagnostics: `only the requester creates a referral Task: ${organization} is not Task.requester`,
    });
  }
  return problems;
}

function notReferralStatus(status: Status): TransitionProblem {
  return {
    status: 422, code: 'business-rule', expression: 'Task.status',
    diagnostics: `${status} is not a status of a referral Task (the SDOHCC Referral Task Status value set excludes received and ready)`,
  };
}

/** What the status `task` arrives at needs: a reason ([REASON]) or an outcome ([REFER-9]). */
function requirementsOf(task: Task): TransitionProblem[] {
  if (NEEDS_REASON.has(task.status) && !task.statusReason?.text?.trim()) {
    return [{
      status: 422, code: 'required', expression: 'Task.statusReason',
      diagnostics: `a Task that becomes ${task.status} needs statusReason.text saying why`,
    }];
  }
  if (task.status === 'completed' && !(task.output ?? []).some((output) => isOutcome(output.valueReference))) {
    return [{
      status: 422, code: 'required', expression: 'Task.output',
      diagnostics: `a Task that becomes completed needs an output referencing its outcome: a Procedure, or an ${OUTCOME_TYPES.slice(1).join(', ')}`,
    }];
  }
  return [];
}

function isOutcome(reference: Reference | undefined): boolean {
  const type = reference && referencedType(reference);
  return type !== undefined && OUTCOME_TYPES.includes(type);
}

/** The resource type a Reference points at: its `type`, else read from a relative or absolute literal reference. */
function referencedType(reference: Reference): string | undefined {
  if (reference.type) return reference.type.replace(/^http:\/\/hl7\.org\/fhir\/StructureDefinition\//, '');
  const match = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(reference.reference ?? '');
  return match?.[1];
}
