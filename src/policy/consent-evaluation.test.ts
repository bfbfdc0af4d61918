// R4 Consent provision semantics as the hub evaluates them (see consent-evaluation.ts).
import type { Consent, ConsentProvision, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { evaluateConsents, type ConsentRequest } from './consent-evaluation.ts';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CBO = 'Organization/cbo-a';
const read = (overrides: Partial<ConsentRequest> = {}): ConsentRequest => ({
  organization: CBO, purposeOfUse: 'COC', actions: ['access', 'disclose'], consentRequired: true, now: new Date('2026-06-01T00:00:00Z'), ...overrides,
});
const actor = (reference: string) => [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference } }];

function consent(id: string, provision: ConsentProvision, extra: Partial<Consent> = {}): Consent {
  return {
    resourceType: 'Consent', id, meta: { versionId: '3' }, status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: ACT_CODE, code: 'IDSCL' }] }], dateTime: '2026-01-01', provision, ...extra,
  };
}
const optOut = (id: string, provision: ConsentProvision = { type: 'deny' }, dateTime = '2026-02-01') =>
  consent(id, provision, { category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }], dateTime });

const task: Resource = { resourceType: 'Task', id: 't1', status: 'in-progress', intent: 'order', focus: { reference: 'ServiceRequest/sr1' } } as Resource;
const observation = (date: string, code = '88122-7'): Resource =>
  ({ resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, effectiveDateTime: date }) as Resource;
const target = (resource: Resource, date?: string) => ({ resource, date });

describe('evaluateConsents', () => {
  it('a disclosure authorization naming the CBO permits, citing the consent version', () => {
    const verdict = evaluateConsents([consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO) }] })], read(), target(task));
    expect(verdict).toEqual({ effect: 'permit', consents: ['Consent/c1/_history/3'], labelsGranted: [] });
  });

  it('one naming another organization releases nothing to this CBO', () => {
    // The authorization's base (opt-in) deny is what applies to this CBO.
    expect(evaluateConsents([consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor('Organization/other') }] })], read(), target(task)).effect).toBe('deny');
  });

  it('a permit naming nobody does not count for a recipient that needs consent', () => {
    expect(evaluateConsents([consent('c1', { type: 'permit' })], read(), target(task)).effect).toBe('none');
  });

  it('inactive, draft or non-privacy consents are ignored', () => {
    const permit = { type: 'deny' as const, provision: [{ type: 'permit' as const, actor: actor(CBO) }] };
    const ignored = [
      consent('c1', permit, { status: 'inactive' }),
      consent('c2', permit, { status: 'draft' }),
      consent('c3', permit, { scope: { coding: [{ code: 'treatment' }] } }),
    ];
    expect(evaluateConsents(ignored, read(), target(task)).effect).toBe('none');
  });

  it('an authorization\'s base deny does not block a disclosure that needs no consent (HIPAA TPO)', () => {
    const authorization = consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO) }] });
    expect(evaluateConsents([authorization], read({ organization: 'Organization/plan', consentRequired: false }), target(task)).effect).toBe('none');
  });

  it('an opt-out denies every recipient, plans included', () => {
    expect(evaluateConsents([optOut('c9')], read({ organization: 'Organization/plan', consentRequired: false }), target(task))).toEqual({
      effect: 'deny', consents: ['Consent/c9/_history/3'], labelsGranted: [],
    });
  });

  it('the deepest matching provision wins: a nested deny on Observations inside a permit', () => {
    const c = consent('c1', {
      type: 'deny',
      provision: [{ type: 'permit', actor: actor(CBO), provision: [{ type: 'deny', class: [{ code: 'Observation' }] }] }],
    });
    expect(evaluateConsents([c], read(), target(task)).effect).toBe('permit');
    expect(evaluateConsents([c], read(), target(observation('2026-03-01'))).effect).toBe('deny');
  });

  it('siblings matching at the same depth: deny overrides', () => {
    const c = consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO) }, { type: 'deny', purpose: [{ code: 'COC' }] }] });
    expect(evaluateConsents([c], read(), target(task)).effect).toBe('deny');
  });

  it('purpose and action must match when given', () => {
    const c = consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO), purpose: [{ code: 'TREAT' }] }] });
    expect(evaluateConsents([c], read(), target(task)).effect).toBe('deny');
    const collect = consent('c2', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO), action: [{ coding: [{ code: 'collect' }] }] }] });
    expect(evaluateConsents([collect], read(), target(task)).effect).toBe('deny');
    expect(evaluateConsents([collect], read({ actions: ['collect'] }), target(task)).effect).toBe('permit');
  });

  it('dataPeriod bounds the data by its clinical date', () => {
    const c = consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO), dataPeriod: { start: '2026-01-01' } }] });
    expect(evaluateConsents([c], read(), target(observation('2026-03-01'), '2026-03-01')).effect).toBe('permit');
    expect(evaluateConsents([c], read(), target(observation('2025-03-01'), '2025-03-01')).effect).toBe('deny');
  });

  it('a deny on a code matches any coding inside the resource', () => {
    const c = optOut('c1', { type: 'permit', provision: [{ type: 'deny', code: [{ coding: [{ system: 'http://loinc.org', code: '76513-1' }] }] }] });
    expect(evaluateConsents([c], read({ consentRequired: false }), target(observation('2026-03-01', '76513-1'))).effect).toBe('deny');
    expect(evaluateConsents([c], read({ consentRequired: false }), target(observation('2026-03-01'))).effect).toBe('permit');
  });

  it('data references: dependents releases the resources that point at the named one', () => {
    const c = consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO), data: [{ meaning: 'dependents', reference: { reference: 'ServiceRequest/sr1' } }] }] });
    expect(evaluateConsents([c], read(), target(task)).effect).toBe('permit');
    const other = { ...task, focus: { reference: 'ServiceRequest/sr2' } } as Resource;
    expect(evaluateConsents([c], read(), target(other)).effect).toBe('deny');
  });

  it('the root period bounds the whole consent', () => {
    const c = consent('c1', { type: 'deny', period: { end: '2026-03-01' }, provision: [{ type: 'permit', actor: actor(CBO) }] });
    expect(evaluateConsents([c], read(), target(task)).effect).toBe('none');
  });

  it('policyRule OPTOUT without a root type means permit by default', () => {
    const c = optOut('c1', {}, '2026-01-01');
    c.policyRule = { coding: [{ system: ACT_CODE, code: 'OPTOUT' }] };
    expect(evaluateConsents([c], read({ consentRequired: false }), target(task)).effect).toBe('permit');
  });

  it('within a category the newest consent decides; across categories deny overrides', () => {
    const older = optOut('old', { type: 'deny' }, '2026-01-01');
    const newer = optOut('new', { type: 'permit' }, '2026-03-01');
    expect(evaluateConsents([older, newer], read({ consentRequired: false }), target(task))).toEqual({ effect: 'permit', consents: ['Consent/new/_history/3'], labelsGranted: [] });
    const authorization = consent('auth', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO) }] });
    expect(evaluateConsents([authorization, older], read(), target(task)).effect).toBe('deny');
  });

  it('for a patient as a whole, resource-specific permits count and resource-specific denies do not', () => {
    const c = consent('c1', {
      type: 'deny',
      provision: [{ type: 'permit', actor: actor(CBO), class: [{ code: 'Task' }] }, { type: 'deny', actor: actor(CBO), class: [{ code: 'Observation' }] }],
    });
    expect(evaluateConsents([c], read()).effect).toBe('permit');
  });

  it('sibling permits release the union of the security labels they name', () => {
    const eth = { system: ACT_CODE, code: 'ETH' };
    const c = consent('c1', { type: 'deny', provision: [{ type: 'permit', actor: actor(CBO) }, { type: 'permit', actor: actor(CBO), securityLabel: [eth] }] });
    const labelled = { ...observation('2026-03-01'), meta: { security: [eth] } } as Resource;
    expect(evaluateConsents([c], read(), target(labelled)).labelsGranted).toEqual([eth]);
  });
});
