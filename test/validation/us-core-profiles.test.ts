// The US Core 7.0.0 rules the SDOHCC profiles inherit: each profile accepts a valid example (our own,
// or an SDOHCC example validated against the US Core profile alone) and reports broken rules at the
// exact element.
import type { Condition, Encounter, Goal, Observation, Organization, Patient, Practitioner, Procedure, ServiceRequest } from 'fhir/r4';
import { describe } from 'vitest';
import { coded, profileCases, US_CORE } from './profile-test-kit.ts';

const profile = (id: string): string[] => [`${US_CORE}${id}|7.0.0`];

describe('us-core-patient', () => {
  profileCases<Patient>({
    fixture: 'Patient-us-core',
    mutations: [
      { rule: 'missing identifier (1..*)', change: (p) => void delete p.identifier, code: 'required', expression: 'Patient.identifier' },
      { rule: 'identifier without system (1..1)', change: (p) => void delete p.identifier![0].system, code: 'required', expression: 'Patient.identifier[0].system' },
      { rule: 'missing gender (1..1)', change: (p) => void delete p.gender, code: 'required', expression: 'Patient.gender' },
      {
        rule: 'us-core-6: a name with neither family nor given nor data-absent-reason',
        change: (p) => void (p.name = [{ text: 'Ana Rivera' }]),
        code: 'invariant',
        expression: 'Patient.name[0]',
        mentions: 'us-core-6',
      },
      {
        rule: 'two birth sex extensions (0..1)',
        change: (p) => void p.extension!.push({ url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'M' }),
        code: 'structure',
        expression: 'Patient.extension[1]',
      },
    ],
  });
});

describe('us-core-organization', () => {
  profileCases<Organization>({
    fixture: 'Organization-us-core',
    mutations: [
      { rule: 'missing name (1..1)', change: (o) => void delete o.name, code: 'required', expression: 'Organization.name' },
      { rule: 'missing active (1..1)', change: (o) => void delete o.active, code: 'required', expression: 'Organization.active' },
      {
        rule: 'two NPI identifiers (0..1)',
        change: (o) => void o.identifier!.push({ system: 'http://hl7.org/fhir/sid/us-npi', value: '1003000126' }),
        code: 'structure',
        expression: 'Organization.identifier[1]',
      },
    ],
  });
});

describe('us-core-practitioner', () => {
  profileCases<Practitioner>({
    fixture: 'Practitioner-us-core',
    mutations: [
      { rule: 'missing identifier (1..*)', change: (p) => void delete p.identifier, code: 'required', expression: 'Practitioner.identifier' },
      { rule: 'name without family (1..1)', change: (p) => void delete p.name![0].family, code: 'required', expression: 'Practitioner.name[0].family' },
    ],
  });
});

describe('us-core-encounter', () => {
  profileCases<Encounter>({
    fixture: 'Encounter-us-core',
    mutations: [
      { rule: 'missing type (1..*)', change: (e) => void delete e.type, code: 'required', expression: 'Encounter.type' },
      { rule: 'missing subject (1..1)', change: (e) => void delete e.subject, code: 'required', expression: 'Encounter.subject' },
      { rule: 'subject is a Group', change: (e) => void (e.subject = { reference: 'Group/g1' }), code: 'value', expression: 'Encounter.subject' },
    ],
  });
});

describe('us-core-servicerequest', () => {
  profileCases<ServiceRequest>({
    fixture: 'ServiceRequest-sdohcc',
    profiles: profile('us-core-servicerequest'),
    mutations: [
      { rule: 'missing code (1..1)', change: (s) => void delete (s as Partial<ServiceRequest>).code, code: 'required', expression: 'ServiceRequest.code' },
      { rule: 'subject is a Practitioner', change: (s) => void (s.subject = { reference: 'Practitioner/p1' }), code: 'value', expression: 'ServiceRequest.subject' },
    ],
  });
});

describe('us-core-observation-screening-assessment', () => {
  profileCases<Observation>({
    fixture: 'Observation-screening-response',
    profiles: profile('us-core-observation-screening-assessment'),
    mutations: [
      { rule: 'missing category (1..*)', change: (o) => void delete o.category, code: 'required', expression: 'Observation.category' },
      {
        rule: 'two survey categories (slice survey 0..1)',
        change: (o) => void o.category!.push(coded('http://terminology.hl7.org/CodeSystem/observation-category', 'survey')),
        code: 'structure',
        expression: 'Observation.category[3]',
      },
      { rule: 'missing subject (1..1)', change: (o) => void delete o.subject, code: 'required', expression: 'Observation.subject' },
    ],
  });
});

describe('us-core-simple-observation', () => {
  profileCases<Observation>({
    fixture: 'Observation-assessment',
    profiles: profile('us-core-simple-observation'),
    mutations: [
      {
        rule: 'no US Core category (slice us-core 1..*)',
        change: (o) => void (o.category = o.category!.slice(1)),
        code: 'required',
        expression: 'Observation.category',
      },
    ],
  });
});

describe('us-core-condition-problems-health-concerns', () => {
  profileCases<Condition>({
    fixture: 'Condition-sdohcc',
    profiles: profile('us-core-condition-problems-health-concerns'),
    mutations: [
      {
        rule: 'no problem-list-item or health-concern category (slice us-core 1..*)',
        change: (c) => void (c.category![0] = coded('http://terminology.hl7.org/CodeSystem/condition-category', 'encounter-diagnosis')),
        code: 'required',
        expression: 'Condition.category',
      },
      {
        rule: 'verificationStatus outside condition-ver-status (required)',
        change: (c) => void (c.verificationStatus = coded('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'maybe')),
        code: 'code-invalid',
        expression: 'Condition.verificationStatus',
      },
    ],
  });
});

describe('us-core-condition-encounter-diagnosis', () => {
  const encounterDiagnosis = coded('http://terminology.hl7.org/CodeSystem/condition-category', 'encounter-diagnosis');
  profileCases<Condition>({
    fixture: 'Condition-sdohcc',
    profiles: profile('us-core-condition-encounter-diagnosis'),
    prepare: (c) => void (c.category![0] = encounterDiagnosis),
    mutations: [
      {
        rule: 'no encounter-diagnosis category (slice us-core 1..*)',
        change: (c) => void (c.category![0] = coded('http://hl7.org/fhir/us/core/CodeSystem/condition-category', 'health-concern')),
        code: 'required',
        expression: 'Condition.category',
      },
      { rule: 'missing subject (1..1)', change: (c) => void delete (c as Partial<Condition>).subject, code: 'required', expression: 'Condition.subject' },
      { rule: 'encounter references a Location', change: (c) => void (c.encounter = { reference: 'Location/l1' }), code: 'value', expression: 'Condition.encounter' },
    ],
  });
});

describe('us-core-procedure', () => {
  profileCases<Procedure>({
    fixture: 'Procedure-sdohcc',
    profiles: profile('us-core-procedure'),
    mutations: [
      {
        rule: 'us-core-7: in-progress without performed[x]',
        change: (p) => {
          p.status = 'in-progress';
          delete p.performedDateTime;
        },
        code: 'invariant',
        expression: 'Procedure',
        mentions: 'us-core-7',
      },
      { rule: 'missing code (1..1)', change: (p) => void delete p.code, code: 'required', expression: 'Procedure.code' },
    ],
  });
});

describe('us-core-goal', () => {
  profileCases<Goal>({
    fixture: 'Goal-sdohcc',
    profiles: profile('us-core-goal'),
    mutations: [
      { rule: 'missing lifecycleStatus (1..1)', change: (g) => void delete (g as Partial<Goal>).lifecycleStatus, code: 'required', expression: 'Goal.lifecycleStatus' },
      { rule: 'subject is a Group', change: (g) => void (g.subject = { reference: 'Group/g1' }), code: 'value', expression: 'Goal.subject' },
    ],
  });
});
