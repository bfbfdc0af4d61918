// The IG's rules for writing a referral Task (SDOHCC TaskForReferralManagement), as one check on
// the write path: which elements each party may change (src/policy/task-write-rules.ts) and which
// status transitions it may make (src/referrals/task-state-machine.ts). Task-for-patient Tasks
// (questionnaires for the patient to fill in) follow neither.
//
// Parties are organizations. A requester or owner given as a PractitionerRole (as the IG's own
// examples do) stands for the PractitionerRole's organization.
import type { Reference, Task } from 'fhir/r4';
import { forbiddenTaskChange } from '../policy/task-write-rules.ts';
import { checkTaskTransition } from '../referrals/task-state-machine.ts';
import type { Queryable } from '../store/database.ts';
import { readCurrent } from '../store/resource-store.ts';
import { FhirError } from './errors.ts';

const TASK_FOR_PATIENT = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForPatient';

export const isReferralTask = (task: Task) => !(task.meta?.profile ?? []).some((profile) => profile.split('|')[0] === TASK_FOR_PATIENT);

async function asOrganization(q: Queryable, reference: Reference | undefined): Promise<Reference | undefined> {
  const match = reference?.reference ? /^PractitionerRole\/([A-Za-z0-9\-.]{1,64})$/.exec(reference.reference) : null;
  if (!match) return reference;
  const role = (await readCurrent(q, 'PractitionerRole', match[1]))?.resource as { organization?: Reference } | undefined;
  return role?.organization ?? reference;
}

/** The Task with requester and owner as organizations, for comparing with the acting organization. */
async function withOrganizations(q: Queryable, task: Task): Promise<Task> {
  return { ...task, requester: await asOrganization(q, task.requester), owner: await asOrganization(q, task.owner) };
}

/** Refuses a write of referral Task `after` (over `before`, undefined for a create) by `organization`. */
export async function checkReferralTaskWrite(q: Queryable, organization: string, before: Task | undefined, after: Task): Promise<void> {
  if (!isReferralTask(after)) return;
  const previous = before && (await withOrganizations(q, before));
  const next = await withOrganizations(q, after);
  if (previous) {
    const element = forbiddenTaskChange(previous, next, organization);
    if (element) {
      throw new FhirError(403, { code: 'forbidden', diagnostics: `${organization} may not change ${element} of this Task (IG Task rules: only the requester may change it)`, expression: element });
    }
  }
  const problems = checkTaskTransition(previous, next, organization);
  if (problems.length) {
    throw new FhirError(problems[0].status, problems.map((problem) => ({ code: problem.code, diagnostics: problem.diagnostics, expression: problem.expression })));
  }
}
