// The decision function on its own: data-independent gates and the data-dependent layers.
import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import type { Actor } from './actor.ts';
import { decide } from './decide.ts';
import { DisclosureProfiles } from './disclosure-profile.ts';
import type { PolicyFacts } from './policy-facts.ts';

const profiles = DisclosureProfiles.load();
const actor = (overrides: Partial<Actor> = {}): Actor => ({
  clientId: 'c', role: 'cbo', organization: 'Organization/cbo-a', purposeOfUse: 'COC', scopes: ['system/*.cruds'], ...overrides,
});
const observation = (date: string, security?: { system: string; code: string }[]) =>
  ({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' }, effectiveDateTime: date, meta: { security } }) as Resource;
const permitConsent = {
  resourceType: 'Consent', id: 'c1', status: 'active', scope: { coding: [{ code: 'patient-privacy' }] }, category: [{ coding: [{ code: 'IDSCL' }] }],
  provision: { type: 'deny', provision: [{ type: 'permit', actor: [{ role: { text: 'r' }, reference: { reference: 'Organization/cbo-a' } }] }] },
} as const;
const facts = (relationship: 'active' | 'read-only' | undefined, extra: object = {}): PolicyFacts => ({
  now: new Date('2026-06-01T00:00:00Z'),
  patients: new Map([['p1', { relationship, consents: [permitConsent as never], ...extra }]]),
});
const about = (resource: Resource) => ({ resource, patients: ['p1'], patientLinked: true });

describe('decide', () => {
  it('hub-admin is unrestricted', () => {
    expect(decide(profiles, { actor: actor({ role: 'hub-admin', purposeOfUse: undefined }), interaction: 'delete', resourceType: 'AuditEvent' }).permit).toBe(true);
  });

  it('no purpose of use, or one without a profile, is a data-independent denial', () => {
    expect(decide(profiles, { actor: actor({ purposeOfUse: undefined }), interaction: 'read', resourceType: 'Task' })).toMatchObject({ permit: false, reason: 'NO_PURPOSE', dataDependent: false });
    expect(decide(profiles, { actor: actor({ purposeOfUse: 'HMARKT' }), interaction: 'read', resourceType: 'Task' })).toMatchObject({ permit: false, reason: 'NO_PROFILE', dataDependent: false });
  });

  it('the profile lists the interactions per type', () => {
    expect(decide(profiles, { actor: actor(), interaction: 'delete', resourceType: 'Task' })).toMatchObject({ permit: false, reason: 'INTERACTION' });
    expect(decide(profiles, { actor: actor(), interaction: 'read', resourceType: 'MedicationRequest' })).toMatchObject({ permit: false, reason: 'INTERACTION' });
  });

  it('SMART scopes apply on top of the profile', () => {
    expect(decide(profiles, { actor: actor({ scopes: ['system/Patient.rs'] }), interaction: 'read', resourceType: 'Task' })).toMatchObject({ permit: false, reason: 'SCOPE' });
    expect(decide(profiles, { actor: actor({ scopes: ['system/Task.r'] }), interaction: 'read', resourceType: 'Task' }).permit).toBe(true);
  });

  it('data needs a relationship with its patient and a consent naming the CBO', () => {
    const resource = observation('2026-03-01');
    expect(decide(profiles, { actor: actor(), interaction: 'read', resourceType: 'Observation', target: about(resource), facts: facts('active') })).toMatchObject({ permit: true, consents: ['Consent/c1/_history/1'] });
    expect(decide(profiles, { actor: actor(), interaction: 'read', resourceType: 'Observation', target: about(resource), facts: facts(undefined) })).toMatchObject({ permit: false, reason: 'NO_RELATIONSHIP', dataDependent: true });
  });

  it('a read-only relationship cannot write', () => {
    const resource = observation('2026-03-01');
    expect(decide(profiles, { actor: actor(), interaction: 'read', resourceType: 'Observation', target: about(resource), facts: facts('read-only') }).permit).toBe(true);
    expect(decide(profiles, { actor: actor(), interaction: 'create', resourceType: 'Observation', target: about(resource), facts: facts('read-only') })).toMatchObject({ permit: false, reason: 'READ_ONLY' });
  });

  it('patient data without a patient is withheld', () => {
    const orphan = { ...observation('2026-03-01'), subject: undefined } as Resource;
    expect(decide(profiles, { actor: actor(), interaction: 'read', resourceType: 'Observation', target: { resource: orphan, patients: [], patientLinked: true }, facts: facts('active') })).toMatchObject({ permit: false, reason: 'NO_SUBJECT' });
  });

  it('labels beyond the ceiling are withheld', () => {
    const restricted = observation('2026-03-01', [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }]);
    expect(decide(profiles, { actor: actor(), interaction: 'read', resourceType: 'Observation', target: about(restricted), facts: facts('active') })).toMatchObject({ permit: false, reason: 'LABEL' });
    const provider = actor({ role: 'referral-source', organization: 'Organization/ehr', purposeOfUse: 'TREAT' });
    expect(decide(profiles, { actor: provider, interaction: 'read', resourceType: 'Observation', target: about(restricted), facts: facts('active') }).permit).toBe(true);
  });

  it('a plan sees data dated within the member\'s coverage only', () => {
    const plan = actor({ role: 'plan', organization: 'Organization/plan-1', purposeOfUse: 'HPAYMT' });
    const covered = facts('active', { consents: [], coveragePeriods: [{ start: '2026-01-01' }] });
    expect(decide(profiles, { actor: plan, interaction: 'read', resourceType: 'Observation', target: about(observation('2026-03-01')), facts: covered }).permit).toBe(true);
    expect(decide(profiles, { actor: plan, interaction: 'read', resourceType: 'Observation', target: about(observation('2025-12-31')), facts: covered })).toMatchObject({ permit: false, reason: 'DATA_PERIOD' });
  });
});
