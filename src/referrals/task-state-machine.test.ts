// The referral Task state machine on its own: the IG's diagram and "Set By" table, edge by edge.
import type { Task } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { allowedTransitions, checkTaskTransition, partyOf, type TaskParty, type TransitionProblem } from './task-state-machine.ts';

type Status = Task['status'];

const REQUESTER = 'Organization/clinic';
const OWNER = 'Organization/food-bank';
const OTHER = 'Organization/elsewhere';
const HUB = 'Organization/hub';

const STATUSES: Status[] = ['draft', 'requested', 'accepted', 'rejected', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error'];
const PARTIES: TaskParty[] = ['requester', 'owner', 'both', 'neither'];

const procedureOutput = {
  type: { coding: [{ system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: 'resulting-activity' }] },
  valueReference: { reference: 'Procedure/p1' },
};

const task = (status: Status, extra: Partial<Task> = {}): Task => ({
  resourceType: 'Task',
  id: 't1',
  status,
  intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
  focus: { reference: 'ServiceRequest/sr1' },
  for: { reference: 'Patient/p1' },
  authoredOn: '2026-05-01T10:00:00Z',
  requester: { reference: REQUESTER },
  owner: { reference: OWNER },
  ...extra,
});

/** A Task in `status` with what any status needs: a reason and an outcome. */
const complete = (status: Status, extra: Partial<Task> = {}) =>
  task(status, { statusReason: { text: 'because' }, output: [procedureOutput], ...extra });

/** The organization that plays `party` on task(). */
const acting: Record<TaskParty, string> = { requester: REQUESTER, owner: OWNER, both: HUB, neither: OTHER };
const forParty = (party: TaskParty, base: Task): Task =>
  party === 'both' ? { ...base, requester: { reference: HUB }, owner: { reference: HUB } } : base;

// The expected machine, written out from the IG (profile page table "Set By" + ReferralTaskStateDiagram.drawio).
const EIE: Status = 'entered-in-error';
const EXPECTED: Record<Exclude<TaskParty, 'both' | 'neither'>, Record<Status, Status[]>> = {
  requester: {
    draft: ['requested', EIE],
    requested: ['cancelled', EIE],
    received: [EIE],
    ready: [EIE],
    accepted: ['cancelled', EIE],
    'in-progress': ['cancelled', EIE],
    'on-hold': ['cancelled', EIE],
    rejected: [EIE],
    cancelled: [EIE],
    failed: [EIE],
    completed: [EIE],
    'entered-in-error': [],
  },
  owner: {
    draft: [],
    requested: ['accepted', 'rejected', 'cancelled'],
    received: [],
    ready: [],
    accepted: ['cancelled', 'in-progress', 'on-hold', 'failed', 'completed'],
    'in-progress': ['cancelled', 'on-hold', 'failed', 'completed'],
    'on-hold': ['cancelled', 'in-progress', 'failed', 'completed'],
    rejected: [],
    cancelled: [],
    failed: [],
    completed: [],
    'entered-in-error': [],
  },
};
const expected = (from: Status, party: TaskParty): Status[] => {
  if (party === 'neither') return [];
  if (party !== 'both') return EXPECTED[party][from];
  const union = new Set([...EXPECTED.requester[from], ...EXPECTED.owner[from]]);
  return STATUSES.filter((status) => union.has(status));
};

const conflict = (diagnostics: string): TransitionProblem => ({ status: 409, code: 'conflict', diagnostics, expression: 'Task.status' });

describe('partyOf', () => {
  it('compares Task.requester and Task.owner with the organization', () => {
    expect(partyOf(task('requested'), REQUESTER)).toBe('requester');
    expect(partyOf(task('requested'), OWNER)).toBe('owner');
    expect(partyOf(task('requested', { requester: { reference: HUB }, owner: { reference: HUB } }), HUB)).toBe('both');
    expect(partyOf(task('requested'), OTHER)).toBe('neither');
  });

  it('an open Task (no owner) has no owner; references without a literal reference match nobody', () => {
    expect(partyOf(task('requested', { owner: undefined }), OWNER)).toBe('neither');
    expect(partyOf(task('requested', { owner: { display: 'Food bank' } }), OWNER)).toBe('neither');
    expect(partyOf(task('requested', { requester: { identifier: { value: 'x' } } }), REQUESTER)).toBe('neither');
  });
});

describe('allowedTransitions', () => {
  it.each(PARTIES.flatMap((party) => STATUSES.map((status) => [status, party] as const)))('from %s as %s', (status, party) => {
    expect(allowedTransitions(status, party)).toEqual(expected(status, party));
  });

  it('received and ready are not referral statuses: only entered-in-error leaves them', () => {
    expect(allowedTransitions('ready', 'both')).toEqual([EIE]);
    expect(allowedTransitions('received', 'owner')).toEqual([]);
  });

  it('the hub on its own Task may do what requester or owner may', () => {
    expect(allowedTransitions('requested', 'both')).toEqual(['accepted', 'rejected', 'cancelled', EIE]);
    expect(allowedTransitions('draft', 'both')).toEqual(['requested', EIE]);
  });
});

describe('checkTaskTransition: updates', () => {
  const cases = PARTIES.flatMap((party) => STATUSES.flatMap((from) => STATUSES.filter((to) => to !== from).map((to) => [from, to, party] as const)));

  it.each(cases.filter(([from, to, party]) => expected(from, party).includes(to)))('allowed: %s → %s as %s', (from, to, party) => {
    expect(checkTaskTransition(forParty(party, task(from)), forParty(party, complete(to)), acting[party])).toEqual([]);
  });

  it.each(cases.filter(([from, to, party]) => !expected(from, party).includes(to)))('refused: %s → %s as %s', (from, to, party) => {
    const problems = checkTaskTransition(forParty(party, task(from)), forParty(party, complete(to)), acting[party]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ status: 409, code: 'conflict', expression: 'Task.status' });
    expect(problems[0]!.diagnostics).toContain(`cannot go from ${from} to ${to} as `);
  });

  it('names from, to and the acting party', () => {
    expect(checkTaskTransition(task('requested'), complete('completed'), OWNER)).toEqual([conflict('cannot go from requested to completed as owner')]);
    expect(checkTaskTransition(task('requested'), task('accepted'), REQUESTER)).toEqual([conflict('cannot go from requested to accepted as requester')]);
    expect(checkTaskTransition(task('accepted'), task('requested'), OWNER)).toEqual([conflict('cannot go from accepted to requested as owner')]);
    expect(checkTaskTransition(task('in-progress'), complete('on-hold'), REQUESTER)).toEqual([conflict('cannot go from in-progress to on-hold as requester')]);
    expect(checkTaskTransition(task('in-progress'), task('entered-in-error'), OWNER)).toEqual([conflict('cannot go from in-progress to entered-in-error as owner')]);
    expect(checkTaskTransition(task('requested'), task('accepted'), OTHER)).toEqual([conflict('cannot go from requested to accepted as neither requester nor owner')]);
    expect(checkTaskTransition(task('requested'), task('cancelled', { statusReason: { text: 'x' } }), OTHER))
      .toEqual([conflict('cannot go from requested to cancelled as neither requester nor owner')]);
    const hub = { requester: { reference: HUB }, owner: { reference: HUB } };
    expect(checkTaskTransition(task('completed', hub), task('in-progress', hub), HUB)).toEqual([conflict('cannot go from completed to in-progress as requester and owner')]);
  });

  it('diagram edges that are absent: no draft → cancelled, no on-hold → accepted, no requested → in-progress', () => {
    expect(checkTaskTransition(task('draft'), complete('cancelled'), REQUESTER)).toEqual([conflict('cannot go from draft to cancelled as requester')]);
    expect(checkTaskTransition(task('on-hold'), task('accepted'), OWNER)).toEqual([conflict('cannot go from on-hold to accepted as owner')]);
    expect(checkTaskTransition(task('requested'), task('in-progress'), OWNER)).toEqual([conflict('cannot go from requested to in-progress as owner')]);
  });

  it('terminal statuses do not change, except that the requester may mark any of them entered-in-error', () => {
    for (const from of ['completed', 'cancelled', 'rejected', 'failed'] as Status[]) {
      expect(checkTaskTransition(task(from), complete('in-progress'), OWNER)).toEqual([conflict(`cannot go from ${from} to in-progress as owner`)]);
      expect(checkTaskTransition(task(from), complete('requested'), REQUESTER)).toEqual([conflict(`cannot go from ${from} to requested as requester`)]);
      expect(checkTaskTransition(task(from), task('entered-in-error'), REQUESTER)).toEqual([]);
    }
    expect(checkTaskTransition(task('entered-in-error'), task('requested'), REQUESTER)).toEqual([conflict('cannot go from entered-in-error to requested as requester')]);
  });

  it('the acting party is read from the stored Task: making oneself owner does not let one act as owner', () => {
    const open = task('requested', { owner: undefined });
    expect(checkTaskTransition(open, task('accepted', { owner: { reference: OTHER } }), OTHER))
      .toEqual([conflict('cannot go from requested to accepted as neither requester nor owner')]);
    // The requester may re-assign and cancel at once: it is the requester on the stored Task.
    expect(checkTaskTransition(task('requested'), task('cancelled', { owner: { reference: OTHER }, statusReason: { text: 'x' } }), REQUESTER)).toEqual([]);
  });

  it('a new status outside the referral value set is a business-rule problem', () => {
    for (const to of ['ready', 'received'] as Status[]) {
      expect(checkTaskTransition(task('requested'), task(to), OWNER)).toEqual([{
        status: 422, code: 'business-rule', expression: 'Task.status',
        diagnostics: `${to} is not a status of a referral Task (the SDOHCC Referral Task Status value set excludes received and ready)`,
      }]);
    }
  });
});

describe('checkTaskTransition: same-status updates', () => {
  it.each(STATUSES)('%s → %s is not a transition, whoever writes and whatever is missing', (status) => {
    for (const organization of [REQUESTER, OWNER, OTHER]) {
      expect(checkTaskTransition(task(status), task(status, { note: [{ text: 'n' }] }), organization)).toEqual([]);
    }
  });

  it('even for statuses outside the value set or with the reason removed', () => {
    expect(checkTaskTransition(task('ready'), task('ready'), OWNER)).toEqual([]);
    expect(checkTaskTransition(task('on-hold', { statusReason: { text: 'waiting' } }), task('on-hold'), OWNER)).toEqual([]);
  });
});

describe('checkTaskTransition: reasons', () => {
  const required = (to: Status): TransitionProblem => ({
    status: 422, code: 'required', expression: 'Task.statusReason', diagnostics: `a Task that becomes ${to} needs statusReason.text saying why`,
  });

  it.each([
    ['requested', 'rejected', OWNER],
    ['requested', 'cancelled', REQUESTER],
    ['accepted', 'cancelled', OWNER],
    ['in-progress', 'on-hold', OWNER],
    ['accepted', 'on-hold', OWNER],
    ['in-progress', 'failed', OWNER],
    ['on-hold', 'failed', OWNER],
  ] as const)('%s → %s needs statusReason.text', (from, to, organization) => {
    expect(checkTaskTransition(task(from), task(to), organization)).toEqual([required(to)]);
    expect(checkTaskTransition(task(from), task(to, { statusReason: { coding: [{ code: 'x' }] } }), organization)).toEqual([required(to)]);
    expect(checkTaskTransition(task(from), task(to, { statusReason: { text: '   ' } }), organization)).toEqual([required(to)]);
    expect(checkTaskTransition(task(from), task(to, { statusReason: { text: 'At capacity' } }), organization)).toEqual([]);
  });

  it('other statuses need no reason', () => {
    expect(checkTaskTransition(task('requested'), task('accepted'), OWNER)).toEqual([]);
    expect(checkTaskTransition(task('on-hold'), task('in-progress'), OWNER)).toEqual([]);
    expect(checkTaskTransition(task('draft'), task('requested'), REQUESTER)).toEqual([]);
    expect(checkTaskTransition(task('accepted'), task('entered-in-error'), REQUESTER)).toEqual([]);
  });

  it('a refused transition reports the conflict only', () => {
    expect(checkTaskTransition(task('requested'), task('rejected'), REQUESTER)).toEqual([conflict('cannot go from requested to rejected as requester')]);
  });
});

describe('checkTaskTransition: outcomes of a completed Task', () => {
  const missing: TransitionProblem = {
    status: 422, code: 'required', expression: 'Task.output',
    diagnostics: 'a Task that becomes completed needs an output referencing its outcome: a Procedure, or an Observation, Goal, Condition, QuestionnaireResponse, CarePlan',
  };
  const completing = (output: Task['output']) => checkTaskTransition(task('in-progress'), task('completed', { output }), OWNER);

  it('needs at least one output', () => {
    expect(completing(undefined)).toEqual([missing]);
    expect(completing([])).toEqual([missing]);
  });

  it('a Procedure reference (PerformedActivityReference), relative, absolute, versioned or typed', () => {
    expect(completing([procedureOutput])).toEqual([]);
    expect(completing([{ ...procedureOutput, valueReference: { reference: 'https://cbo.example.org/fhir/Procedure/p-9' } }])).toEqual([]);
    expect(completing([{ ...procedureOutput, valueReference: { reference: 'Procedure/p1/_history/3' } }])).toEqual([]);
    expect(completing([{ ...procedureOutput, valueReference: { reference: 'urn:uuid:0b7c2f3e-1111-4c1e-9c1a-2b3c4d5e6f70', type: 'Procedure' } }])).toEqual([]);
  });

  it('the outcome resources of the 3.0.0 AdditionalContent slice (further assessment, enrollment)', () => {
    const additional = (reference: string) => [{ type: { coding: [{ code: 'additional-content' }] }, valueReference: { reference } }];
    for (const reference of ['Observation/enrolled', 'Goal/g', 'Condition/c', 'QuestionnaireResponse/qr', 'CarePlan/cp']) {
      expect(completing(additional(reference))).toEqual([]);
    }
  });

  it('not a code alone, a reference to something else, or a contained or unresolvable reference', () => {
    expect(completing([{ type: procedureOutput.type, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '710925007' }] } }])).toEqual([missing]);
    expect(completing([{ ...procedureOutput, valueReference: { reference: 'DocumentReference/d1' } }])).toEqual([missing]);
    expect(completing([{ ...procedureOutput, valueReference: { reference: '#p1' } }])).toEqual([missing]);
    expect(completing([{ ...procedureOutput, valueReference: { reference: 'urn:uuid:0b7c2f3e-1111-4c1e-9c1a-2b3c4d5e6f70' } }])).toEqual([missing]);
    expect(completing([{ ...procedureOutput, valueReference: { display: 'a procedure' } }])).toEqual([missing]);
  });

  it('one outcome among other outputs is enough, from accepted and on-hold too', () => {
    const outputs = [{ type: { text: 'note' }, valueString: 'x' }, procedureOutput];
    expect(completing(outputs)).toEqual([]);
    expect(checkTaskTransition(task('accepted'), task('completed', { output: outputs }), OWNER)).toEqual([]);
    expect(checkTaskTransition(task('on-hold'), task('completed', { output: outputs }), OWNER)).toEqual([]);
  });

  it('failed needs a reason, not an outcome', () => {
    expect(checkTaskTransition(task('in-progress'), task('failed', { statusReason: { text: 'client unreachable' } }), OWNER)).toEqual([]);
  });
});

describe('checkTaskTransition: creates', () => {
  it('the requester creates at draft or requested', () => {
    expect(checkTaskTransition(undefined, task('draft'), REQUESTER)).toEqual([]);
    expect(checkTaskTransition(undefined, task('requested'), REQUESTER)).toEqual([]);
    expect(checkTaskTransition(undefined, task('requested', { owner: undefined }), REQUESTER)).toEqual([]);
    expect(checkTaskTransition(undefined, task('requested', { requester: { reference: HUB }, owner: { reference: HUB } }), HUB)).toEqual([]);
  });

  it('no other status to start from', () => {
    for (const status of ['accepted', 'in-progress', 'on-hold', 'completed', 'failed', 'rejected', 'cancelled', 'entered-in-error'] as Status[]) {
      expect(checkTaskTransition(undefined, complete(status), REQUESTER)).toEqual([{
        status: 422, code: 'business-rule', expression: 'Task.status', diagnostics: `a referral Task is created as draft or requested, not ${status}`,
      }]);
    }
    expect(checkTaskTransition(undefined, task('ready'), REQUESTER)).toEqual([{
      status: 422, code: 'business-rule', expression: 'Task.status',
      diagnostics: 'ready is not a status of a referral Task (the SDOHCC Referral Task Status value set excludes received and ready)',
    }]);
  });

  it('only the requester creates', () => {
    const notRequester = (organization: string): TransitionProblem => ({
      status: 422, code: 'business-rule', expression: 'Task.requester',
      diagnostics: `only the requester creates a referral Task: ${organization} is not Task.requester`,
    });
    expect(checkTaskTransition(undefined, task('requested'), OWNER)).toEqual([notRequester(OWNER)]);
    expect(checkTaskTransition(undefined, task('requested'), OTHER)).toEqual([notRequester(OTHER)]);
    expect(checkTaskTransition(undefined, task('accepted'), OWNER)).toEqual([
      { status: 422, code: 'business-rule', expression: 'Task.status', diagnostics: 'a referral Task is created as draft or requested, not accepted' },
      notRequester(OWNER),
    ]);
  });
});
