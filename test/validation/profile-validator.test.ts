// ProfileValidator as the rest of the server uses it: which profiles apply (claims, options.profiles,
// the partner-write default, base profiles), unknown claims, must-support, and that checking leaves
// the resource untouched.
import type { Condition, Patient, ServiceRequest, Task } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { errorsOf, fixture, profileValidator, SDOHCC, SDOHCC_CODES, US_CORE, coded } from './profile-test-kit.ts';

const SDOHCC_PROFILES = [
  'SDOHCC-ServiceRequest', 'SDOHCC-TaskForReferralManagement', 'SDOHCC-TaskForPatient', 'SDOHCC-Consent', 'SDOHCC-ObservationScreeningResponse',
  'SDOHCC-ObservationAssessment', 'SDOHCC-Condition', 'SDOHCC-Goal', 'SDOHCC-Procedure', 'SDOHCC-Group', 'SDOHCC-HealthcareService',
  'SDOHCC-HealthcareServiceForReferralManagement', 'SDOHCC-Location', 'SDOHCC-practitionerrole',
];
const US_CORE_PROFILES = [
  'us-core-patient', 'us-core-organization', 'us-core-practitioner', 'us-core-encounter', 'us-core-servicerequest',
  'us-core-observation-screening-assessment', 'us-core-simple-observation', 'us-core-condition-problems-health-concerns',
  'us-core-condition-encounter-diagnosis', 'us-core-procedure', 'us-core-goal', 'us-core-location', 'us-core-practitionerrole',
];

function task(): Task {
  return fixture<Task>('Task-referral-management');
}

describe('ProfileValidator', () => {
  it('knows every SDOHCC and US Core profile, by canonical and with a matching version', () => {
    const validator = profileValidator();
    for (const id of SDOHCC_PROFILES) {
      expect(validator.knows(`${SDOHCC}${id}`), id).toBe(true);
      expect(validator.knows(`${SDOHCC}${id}|3.0.0`), id).toBe(true);
    }
    for (const id of US_CORE_PROFILES) expect(validator.knows(`${US_CORE}${id}|7.0.0`), id).toBe(true);
    expect(validator.knows(`${US_CORE}us-core-patient|6.1.0`)).toBe(false);
    expect(validator.knows('http://example.org/StructureDefinition/nope')).toBe(false);
    expect(validator.knows('http://hl7.org/fhir/StructureDefinition/Device')).toBe(true);
  });

  it('names the partner-write default profile of Task, ServiceRequest, Consent and Procedure only', () => {
    const validator = profileValidator();
    expect(validator.defaultProfile('Task')).toBe(`${SDOHCC}SDOHCC-TaskForReferralManagement`);
    expect(validator.defaultProfile('ServiceRequest')).toBe(`${SDOHCC}SDOHCC-ServiceRequest`);
    expect(validator.defaultProfile('Consent')).toBe(`${SDOHCC}SDOHCC-Consent`);
    expect(validator.defaultProfile('Procedure')).toBe(`${SDOHCC}SDOHCC-Procedure`);
    expect(validator.defaultProfile('Patient')).toBeUndefined();
    expect(validator.defaultProfile('Observation')).toBeUndefined();
  });

  it('warns once per unknown claimed profile (not-found) and checks the known ones', () => {
    const resource = task();
    resource.meta = { profile: ['http://example.org/StructureDefinition/other-task', `${SDOHCC}SDOHCC-TaskForReferralManagement`] };
    resource.status = 'ready';
    const issues = profileValidator().validate(resource);
    const notFound = issues.filter((i) => i.code === 'not-found');
    expect(notFound).toEqual([expect.objectContaining({ severity: 'warning', expression: 'Task.meta.profile[0]' })]);
    expect(errorsOf(issues)).toEqual([expect.objectContaining({ code: 'code-invalid', expression: 'Task.status' })]);
  });

  it('treats a claim of a version it does not have as unknown', () => {
    const patient = fixture<Patient>('Patient-us-core');
    patient.meta = { profile: [`${US_CORE}us-core-patient|6.1.0`] };
    delete patient.identifier;
    const issues = profileValidator().validate(patient);
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'not-found', expression: 'Patient.meta.profile[0]' })]);
    expect(issues[0].diagnostics).toContain('7.0.0');
  });

  it('reports a claimed profile of another resource type as an error', () => {
    const patient = fixture<Patient>('Patient-us-core');
    patient.meta = { profile: [`${SDOHCC}SDOHCC-Condition`] };
    expect(errorsOf(profileValidator().validate(patient))).toEqual([expect.objectContaining({ code: 'structure', expression: 'Patient.meta.profile[0]' })]);
  });

  it('checks options.profiles instead of the claims', () => {
    const resource = task();
    delete resource.meta;
    delete resource.focus;
    expect(profileValidator().validate(resource)).toEqual([]);
    const issues = profileValidator().validate(resource, { profiles: [`${SDOHCC}SDOHCC-TaskForReferralManagement`] });
    expect(errorsOf(issues)).toEqual([expect.objectContaining({ code: 'required', expression: 'Task.focus' })]);
    const unknown = profileValidator().validate(resource, { profiles: ['http://example.org/StructureDefinition/x'] });
    expect(unknown).toEqual([expect.objectContaining({ severity: 'warning', code: 'not-found', expression: 'Task' })]);
  });

  describe('enforceDefault', () => {
    it('checks a Task that claims nothing against TaskForReferralManagement', () => {
      const resource = task();
      delete resource.meta;
      resource.status = 'received';
      expect(profileValidator().validate(resource)).toEqual([]);
      const issues = profileValidator().validate(resource, { enforceDefault: true });
      expect(errorsOf(issues)).toEqual([expect.objectContaining({ code: 'code-invalid', expression: 'Task.status' })]);
    });

    it('checks a Task claiming TaskForPatient against that profile only', () => {
      const patientTask = fixture<Task>('Task-for-patient');
      // Valid for TaskForPatient, invalid for TaskForReferralManagement (code, focus, owner...).
      expect(errorsOf(profileValidator().validate(patientTask, { enforceDefault: true }))).toEqual([]);
      patientTask.status = 'requested';
      expect(errorsOf(profileValidator().validate(patientTask, { enforceDefault: true }))).toEqual([
        expect.objectContaining({ code: 'code-invalid', expression: 'Task.status', diagnostics: expect.stringContaining('SDOHCC-ValueSetTaskStatus') }),
      ]);
    });

    it('still applies the default when the only claim is unknown', () => {
      const resource = task();
      resource.meta = { profile: ['http://example.org/StructureDefinition/other-task'] };
      delete resource.requester;
      const issues = profileValidator().validate(resource, { enforceDefault: true });
      expect(issues.filter((i) => i.severity !== 'information')).toEqual([
        expect.objectContaining({ severity: 'warning', code: 'not-found' }),
        expect.objectContaining({ severity: 'error', code: 'required', expression: 'Task.requester' }),
      ]);
    });

    it('still applies the default when the claim is one of its base profiles (US Core ServiceRequest)', () => {
      const request = fixture<ServiceRequest>('ServiceRequest-sdohcc');
      request.meta = { profile: [`${US_CORE}us-core-servicerequest|7.0.0`] };
      request.category![1] = coded(SDOHCC_CODES, 'make-contact');
      expect(errorsOf(profileValidator().validate(request))).toEqual([]);
      expect(errorsOf(profileValidator().validate(request, { enforceDefault: true }))).toEqual([
        expect.objectContaining({ code: 'code-invalid', expression: 'ServiceRequest.category[1]' }),
      ]);
    });

    it('does nothing for a type without a default', () => {
      const patient = fixture<Patient>('Patient-us-core');
      delete patient.meta;
      delete patient.identifier;
      expect(profileValidator().validate(patient, { enforceDefault: true })).toEqual([]);
    });
  });

  it('accepts an SDOHCC Condition that conforms to either US Core Condition profile', () => {
    const condition = fixture<Condition>('Condition-sdohcc');
    expect(errorsOf(profileValidator().validate(condition))).toEqual([]);
    condition.category![0] = coded('http://terminology.hl7.org/CodeSystem/condition-category', 'encounter-diagnosis');
    condition.encounter = { reference: 'Encounter/cch-enc-1' };
    expect(errorsOf(profileValidator().validate(condition))).toEqual([]);
  });

  it('reports absent must-support elements as information', () => {
    const resource = task();
    delete resource.owner;
    const issues = profileValidator().validate(resource);
    expect(errorsOf(issues)).toEqual([]);
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'information', code: 'informational', expression: 'Task.owner' }));
  });

  it('reports a rule a profile shares with its base once', () => {
    const request = fixture<ServiceRequest>('ServiceRequest-sdohcc');
    delete (request as Partial<ServiceRequest>).code; // code 1..1 in SDOHCC-ServiceRequest and in US Core ServiceRequest
    expect(errorsOf(profileValidator().validate(request))).toHaveLength(1);
  });

  it('leaves the resource unchanged', () => {
    for (const name of ['Task-for-patient', 'Condition-sdohcc', 'Observation-assessment', 'HealthcareService-referral-management']) {
      const resource = fixture<Task>(name);
      const before = JSON.stringify(resource);
      profileValidator().validate(resource, { enforceDefault: true });
      expect(JSON.stringify(resource)).toBe(before);
    }
  });
});
