// The SDOHCC (Gravity STU 3.0.0) profiles: for each, our valid example is accepted, and copies that
// break one rule each (a required element, a fixed value or pattern, a required binding, an
// invariant, a slice, a reference target) are reported at the exact element.
import type {
  Condition,
  Consent,
  Goal,
  Group,
  HealthcareService,
  Location,
  Observation,
  PractitionerRole,
  Procedure,
  ServiceRequest,
  Task,
} from 'fhir/r4';
import { describe } from 'vitest';
import { coded, profileCases, SDC_TEMP, SDOHCC_CODES, US_CORE_CATEGORY } from './profile-test-kit.ts';

const TASK_CODE = 'http://hl7.org/fhir/CodeSystem/task-code';
const SNOMED = 'http://snomed.info/sct';

describe('SDOHCC-TaskForReferralManagement', () => {
  profileCases<Task>({
    fixture: 'Task-referral-management',
    mutations: [
      { rule: 'status received (excluded from the referral task status value set)', change: (t) => void (t.status = 'received'), code: 'code-invalid', expression: 'Task.status' },
      { rule: 'status ready (excluded from the referral task status value set)', change: (t) => void (t.status = 'ready'), code: 'code-invalid', expression: 'Task.status' },
      { rule: 'missing focus (1..1)', change: (t) => void delete t.focus, code: 'required', expression: 'Task.focus' },
      { rule: 'missing requester (1..1)', change: (t) => void delete t.requester, code: 'required', expression: 'Task.requester' },
      { rule: 'intent is not the fixed value order', change: (t) => void (t.intent = 'plan'), code: 'value', expression: 'Task.intent' },
      { rule: 'code does not match the pattern task-code#fulfill', change: (t) => void (t.code = coded(TASK_CODE, 'approve')), code: 'value', expression: 'Task.code' },
      { rule: 'statusReason without text (statusReason.text 1..1)', change: (t) => void (t.statusReason = coded(SDOHCC_CODES, 'capacity')), code: 'required', expression: 'Task.statusReason.text' },
      { rule: 'for references a Device', change: (t) => void (t.for = { reference: 'Device/d1' }), code: 'value', expression: 'Task.for' },
      {
        rule: 'PerformedActivityReference output references an Observation, not a Procedure',
        change: (t) => void (t.output = [{ type: coded(SDOHCC_CODES, 'resulting-activity'), valueReference: { reference: 'Observation/o1' } }]),
        code: 'value',
        expression: 'Task.output[0].valueReference',
      },
      {
        rule: 'completed without any output (refer-9, a warning)',
        change: (t) => void (t.status = 'completed'),
        severity: 'warning',
        code: 'invariant',
        expression: 'Task',
        mentions: 'refer-9',
      },
    ],
  });
});

describe('SDOHCC-TaskForPatient', () => {
  const pdfInput = { type: coded(SDOHCC_CODES, 'questionnaire-pdf'), valueReference: { reference: 'DocumentReference/form-1' } };
  const categoryInput = { type: coded(SDOHCC_CODES, 'questionnaire-category'), valueCodeableConcept: coded(SDOHCC_CODES, 'risk-questionnaire') };
  profileCases<Task>({
    fixture: 'Task-for-patient',
    mutations: [
      { rule: 'missing owner (1..1)', change: (t) => void delete t.owner, code: 'required', expression: 'Task.owner' },
      { rule: 'status requested (not in the patient task status value set)', change: (t) => void (t.status = 'requested'), code: 'code-invalid', expression: 'Task.status' },
      { rule: 'priority asap (not in the task priority value set)', change: (t) => void (t.priority = 'asap'), code: 'code-invalid', expression: 'Task.priority' },
      {
        rule: 'questionnaire category outside its required value set',
        change: (t) => void (t.input![1].valueCodeableConcept = coded(SDOHCC_CODES, 'food-insecurity')),
        code: 'code-invalid',
        expression: 'Task.input[1].valueCodeableConcept',
      },
      { rule: 'owner is an Organization', change: (t) => void (t.owner = { reference: 'Organization/o1' }), code: 'value', expression: 'Task.owner' },
      {
        rule: 'SDOH-Task-1: complete-questionnaire without a questionnaire-category input',
        change: (t) => void (t.input = t.input!.slice(0, 1)),
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-1',
      },
      {
        rule: 'SDOH-Task-2: general-information without a description',
        change: (t) => void (t.code = coded(SDOHCC_CODES, 'general-information')),
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-2',
      },
      {
        rule: 'SDOH-Task-3: review-material whose focus is not a DocumentReference',
        change: (t) => {
          t.code = coded(SDOHCC_CODES, 'review-material');
          t.focus = { reference: 'Patient/cch-pat-1' };
          delete t.input;
          delete t.output;
        },
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-3',
      },
      {
        rule: 'SDOH-Task-4: make-contact without a contact-entity input',
        change: (t) => {
          t.code = coded(SDOHCC_CODES, 'make-contact');
          t.description = 'Call the pantry to book an intake';
          delete t.input;
          delete t.output;
        },
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-4',
      },
      {
        rule: 'SDOH-Task-5: questionnaire input with a general-information-response output',
        change: (t) => void t.output!.push({ type: coded(SDOHCC_CODES, 'general-information-response'), valueMarkdown: 'yes' }),
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-5',
      },
      {
        rule: 'SDOH-Task-6: questionnaire-pdf input with a questionnaire-response output',
        change: (t) => void (t.input = [pdfInput, categoryInput]),
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-6',
      },
      {
        rule: 'SDOH-Task-7: make-contact with an output that is not chosen-contact',
        change: (t) => {
          t.code = coded(SDOHCC_CODES, 'make-contact');
          t.description = 'Call the pantry';
          t.input = [{ type: coded(SDOHCC_CODES, 'contact-entity'), valueReference: { reference: 'HealthcareService/cch-hcs-1' } }];
        },
        code: 'invariant',
        expression: 'Task',
        mentions: 'SDOH-Task-7',
      },
      {
        rule: 'code outside the extensible task code value set (a warning)',
        change: (t) => void (t.code = coded(TASK_CODE, 'fulfill')),
        severity: 'warning',
        code: 'code-invalid',
        expression: 'Task.code',
      },
      {
        rule: 'two questionnaire inputs (slice Questionnaire 0..1)',
        change: (t) => void t.input!.push({ type: coded(SDC_TEMP, 'questionnaire'), valueCanonical: 'http://example.org/Questionnaire/q2' }),
        code: 'structure',
        expression: 'Task.input[2]',
        errors: 2, // also SDOH-Task-1: exactly one questionnaire input
      },
    ],
  });
});

describe('SDOHCC-ServiceRequest', () => {
  profileCases<ServiceRequest>({
    fixture: 'ServiceRequest-sdohcc',
    mutations: [
      { rule: 'missing code (1..1)', change: (s) => void delete (s as Partial<ServiceRequest>).code, code: 'required', expression: 'ServiceRequest.code' },
      {
        rule: 'SDOHCC category code outside the SDOH category value set',
        change: (s) => void (s.category![1] = coded(SDOHCC_CODES, 'make-contact')),
        code: 'code-invalid',
        expression: 'ServiceRequest.category[1]',
      },
      { rule: 'specimen present (0..0)', change: (s) => void (s.specimen = [{ reference: 'Specimen/s1' }]), code: 'structure', expression: 'ServiceRequest.specimen[0]' },
      { rule: 'subject is a Practitioner', change: (s) => void (s.subject = { reference: 'Practitioner/p1' }), code: 'value', expression: 'ServiceRequest.subject' },
      {
        rule: 'missing subject (US Core ServiceRequest, the base profile, 1..1)',
        change: (s) => void delete (s as Partial<ServiceRequest>).subject,
        code: 'required',
        expression: 'ServiceRequest.subject',
      },
      {
        rule: 'two do-not-contact order details (slice SubjectContactDetail 0..1)',
        change: (s) => void (s.orderDetail = [coded(SDOHCC_CODES, 'contacting-subject-prohibited'), coded(SDOHCC_CODES, 'contacting-subject-prohibited')]),
        code: 'structure',
        expression: 'ServiceRequest.orderDetail[1]',
      },
      {
        rule: 'code of a food-insecurity referral cannot be checked against its VSAC-only value set (a warning)',
        change: () => undefined,
        severity: 'warning',
        code: 'informational',
        expression: 'ServiceRequest.code',
        mentions: '2.16.840.1.113762.1.4.1247.11',
      },
    ],
  });
});

describe('SDOHCC-Consent', () => {
  profileCases<Consent>({
    fixture: 'Consent-sdohcc',
    mutations: [
      { rule: 'missing dateTime (1..1)', change: (c) => void delete c.dateTime, code: 'required', expression: 'Consent.dateTime' },
      { rule: 'missing patient (1..1)', change: (c) => void delete c.patient, code: 'required', expression: 'Consent.patient' },
      {
        rule: 'category is not v3-ActCode#IDSCL (slice IDSCL 1..1)',
        change: (c) => void (c.category = [coded('http://loinc.org', '59284-0')]),
        code: 'required',
        expression: 'Consent.category',
      },
      {
        rule: 'two organizations (0..1 in the profile)',
        change: (c) => void c.organization!.push({ reference: 'Organization/o2' }),
        code: 'structure',
        expression: 'Consent.organization[1]',
      },
      {
        rule: 'sourceReference to a Patient',
        change: (c) => void (c.sourceReference = { reference: 'Patient/cch-pat-1' }),
        code: 'value',
        expression: 'Consent.sourceReference',
      },
    ],
  });
});

describe('SDOHCC-ObservationScreeningResponse', () => {
  profileCases<Observation>({
    fixture: 'Observation-screening-response',
    mutations: [
      { rule: 'status preliminary (not in the SDOHCC observation status value set)', change: (o) => void (o.status = 'preliminary'), code: 'code-invalid', expression: 'Observation.status' },
      { rule: 'missing effective[x] (1..1)', change: (o) => void delete o.effectiveDateTime, code: 'required', expression: 'Observation.effective' },
      {
        rule: 'effectiveInstant (only dateTime or Period)',
        change: (o) => {
          delete o.effectiveDateTime;
          o.effectiveInstant = '2026-01-20T08:30:00Z';
        },
        code: 'structure',
        expression: 'Observation.effectiveInstant',
      },
      {
        rule: 'no survey category (slice survey 1..1)',
        change: (o) => void (o.category = o.category!.slice(1)),
        code: 'required',
        expression: 'Observation.category',
      },
      {
        rule: 'SDOH-Obs-4: no sdoh category',
        change: (o) => void (o.category![1] = coded(US_CORE_CATEGORY, 'functional-status')),
        code: 'invariant',
        expression: 'Observation',
        mentions: 'SDOH-Obs-4',
      },
      {
        rule: 'SDOHCC category code outside the SDOH category value set',
        change: (o) => void (o.category![2] = coded(SDOHCC_CODES, 'self-reported')),
        code: 'code-invalid',
        expression: 'Observation.category[2]',
      },
      { rule: 'bodySite present (0..0)', change: (o) => void (o.bodySite = coded(SNOMED, '38266002')), code: 'structure', expression: 'Observation.bodySite' },
    ],
  });
});

describe('SDOHCC-ObservationAssessment', () => {
  profileCases<Observation>({
    fixture: 'Observation-assessment',
    mutations: [
      { rule: 'us-core-2: no value, component, member or data absent reason', change: (o) => void delete o.valueBoolean, code: 'invariant', expression: 'Observation', mentions: 'us-core-2' },
      {
        rule: 'SDOH-Obs-4: no sdoh category',
        change: (o) => void (o.category![0] = coded(US_CORE_CATEGORY, 'functional-status')),
        code: 'invariant',
        expression: 'Observation',
        mentions: 'SDOH-Obs-4',
      },
      { rule: 'subject is a Device (only Patient or Group)', change: (o) => void (o.subject = { reference: 'Device/d1' }), code: 'value', expression: 'Observation.subject' },
      { rule: 'missing subject (1..1)', change: (o) => void delete o.subject, code: 'required', expression: 'Observation.subject' },
      {
        rule: 'SDOHCC category code outside the SDOH category value set',
        change: (o) => void (o.category![1] = coded(SDOHCC_CODES, 'payer-coverage')),
        code: 'code-invalid',
        expression: 'Observation.category[1]',
      },
    ],
  });
});

describe('SDOHCC-Condition', () => {
  const asserterDevice = { url: 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ExtensionConditionAsserter', valueReference: { reference: 'Device/d1' } };
  profileCases<Condition>({
    fixture: 'Condition-sdohcc',
    mutations: [
      { rule: 'missing code (1..1)', change: (c) => void delete c.code, code: 'required', expression: 'Condition.code' },
      {
        rule: 'clinicalStatus outside condition-clinical (required)',
        change: (c) => void (c.clinicalStatus = coded('http://terminology.hl7.org/CodeSystem/condition-clinical', 'cured')),
        code: 'code-invalid',
        expression: 'Condition.clinicalStatus',
      },
      {
        rule: 'SDOH-Con-1: an asserter Device extension and an asserter',
        change: (c) => void (c.extension = [asserterDevice]),
        code: 'invariant',
        expression: 'Condition',
        mentions: 'SDOH-Con-1',
      },
      {
        rule: 'SDOH-Con-2: no problem, health-concern or encounter-diagnosis category',
        change: (c) => void (c.category![0] = coded(SDOHCC_CODES, 'homelessness')),
        code: 'invariant',
        expression: 'Condition',
        mentions: 'SDOH-Con-2',
        errors: 2, // and the closest US Core Condition profile's category slice
      },
      {
        rule: 'SDOH-Con-3: no sdoh category',
        change: (c) => void (c.category![1] = coded(SDOHCC_CODES, 'homelessness')),
        code: 'invariant',
        expression: 'Condition',
        mentions: 'SDOH-Con-3',
        errors: 2, // and the screening-assessment slice (1..*)
      },
      { rule: 'bodySite present (0..0)', change: (c) => void (c.bodySite = [coded(SNOMED, '38266002')]), code: 'structure', expression: 'Condition.bodySite[0]' },
      {
        rule: 'onsetString (only dateTime or Period)',
        change: (c) => {
          delete c.onsetDateTime;
          c.onsetString = 'last winter';
        },
        code: 'structure',
        expression: 'Condition.onsetString',
      },
      {
        rule: 'SDOHCC category code outside the SDOH category value set',
        change: (c) => void (c.category![2] = coded(SDOHCC_CODES, 'resulting-activity')),
        code: 'code-invalid',
        expression: 'Condition.category[2]',
      },
    ],
  });
});

describe('SDOHCC-Goal', () => {
  profileCases<Goal>({
    fixture: 'Goal-sdohcc',
    mutations: [
      { rule: 'missing description (US Core Goal 1..1)', change: (g) => void delete (g as Partial<Goal>).description, code: 'required', expression: 'Goal.description' },
      { rule: 'subject is a Group', change: (g) => void (g.subject = { reference: 'Group/g1' }), code: 'value', expression: 'Goal.subject' },
      {
        rule: 'SDOHCC category code outside the SDOH category value set',
        change: (g) => void (g.category = [coded(SDOHCC_CODES, 'enrolled')]),
        code: 'code-invalid',
        expression: 'Goal.category[0]',
      },
      { rule: 'addresses a Procedure', change: (g) => void (g.addresses = [{ reference: 'Procedure/p1' }]), code: 'value', expression: 'Goal.addresses[0]' },
    ],
  });
});

describe('SDOHCC-Procedure', () => {
  profileCases<Procedure>({
    fixture: 'Procedure-sdohcc',
    mutations: [
      { rule: 'us-core-7: completed without performed[x]', change: (p) => void delete p.performedDateTime, code: 'invariant', expression: 'Procedure', mentions: 'us-core-7' },
      { rule: 'missing code (1..1)', change: (p) => void delete p.code, code: 'required', expression: 'Procedure.code' },
      {
        rule: 'SDOHCC category coding outside the SDOH category value set',
        change: (p) => void (p.category!.coding![1].code = 'chosen-contact'),
        code: 'code-invalid',
        expression: 'Procedure.category.coding[1]',
      },
      {
        rule: 'two SDOHCC category codings (slice 0..1)',
        change: (p) => void p.category!.coding!.push({ system: SDOHCC_CODES, code: 'homelessness' }),
        code: 'structure',
        expression: 'Procedure.category.coding[2]',
      },
      { rule: 'basedOn a Patient', change: (p) => void (p.basedOn = [{ reference: 'Patient/cch-pat-1' }]), code: 'value', expression: 'Procedure.basedOn[0]' },
    ],
  });
});

describe('SDOHCC-Group', () => {
  profileCases<Group>({
    fixture: 'Group-sdohcc',
    mutations: [
      { rule: 'active is not the fixed value true', change: (g) => void (g.active = false), code: 'value', expression: 'Group.active' },
      { rule: 'type is not the fixed value person', change: (g) => void (g.type = 'animal'), code: 'value', expression: 'Group.type' },
      { rule: 'missing HasPayer characteristic (1..1)', change: (g) => void g.characteristic!.pop(), code: 'required', expression: 'Group.characteristic' },
      { rule: 'exclude is not the fixed value false', change: (g) => void (g.characteristic![0].exclude = true), code: 'value', expression: 'Group.characteristic[0].exclude' },
      {
        rule: 'SDOH condition category outside the extensible SDOH category value set (a warning)',
        change: (g) => void (g.characteristic![0].valueCodeableConcept = coded(SNOMED, '32911000')),
        severity: 'warning',
        code: 'code-invalid',
        expression: 'Group.characteristic[0].valueCodeableConcept',
      },
    ],
  });
});

describe('SDOHCC-HealthcareService', () => {
  profileCases<HealthcareService>({
    fixture: 'HealthcareService-sdohcc',
    mutations: [
      { rule: 'active is not the fixed value true', change: (h) => void (h.active = false), code: 'value', expression: 'HealthcareService.active' },
      { rule: 'no appointment contact (slice AppointmentContact 1..*)', change: (h) => void delete h.telecom![0].extension, code: 'required', expression: 'HealthcareService.telecom' },
      { rule: 'appointment contact without value (1..1)', change: (h) => void delete h.telecom![0].value, code: 'required', expression: 'HealthcareService.telecom[0].value' },
      {
        rule: 'ForAppointment extension is not the fixed value true',
        change: (h) => void (h.telecom![0].extension![0].valueBoolean = false),
        code: 'value',
        expression: 'HealthcareService.telecom[0].extension[0].valueBoolean',
      },
      { rule: 'location references an Organization', change: (h) => void (h.location = [{ reference: 'Organization/o1' }]), code: 'value', expression: 'HealthcareService.location[0]' },
    ],
  });
});

describe('SDOHCC-HealthcareServiceForReferralManagement', () => {
  profileCases<HealthcareService>({
    fixture: 'HealthcareService-referral-management',
    mutations: [
      { rule: 'missing capacity-status extension (1..1)', change: (h) => void delete h.extension, code: 'required', expression: 'HealthcareService.extension' },
      {
        rule: 'capacity status outside the extensible capacity status value set (a warning)',
        change: (h) => void (h.extension![0].extension![0].valueCodeableConcept = coded(SDOHCC_CODES, 'enrolled')),
        severity: 'warning',
        code: 'code-invalid',
        expression: 'HealthcareService.extension[0].extension[0].valueCodeableConcept',
      },
      {
        rule: 'category without the sdoh service category coding (slice ServiceCategory 1..1)',
        change: (h) => void h.category![0].coding!.shift(),
        code: 'required',
        expression: 'HealthcareService.category[0].coding',
      },
      {
        rule: 'service category coding outside its required value set',
        change: (h) => void (h.category![0].coding![0].code = 'functional-status'),
        code: 'code-invalid',
        expression: 'HealthcareService.category[0].coding[0]',
      },
      { rule: 'missing name (1..1)', change: (h) => void delete h.name, code: 'required', expression: 'HealthcareService.name' },
      {
        rule: 'two types (1..1)',
        change: (h) => void h.type!.push(coded('http://terminology.hl7.org/CodeSystem/service-type', '289')),
        code: 'structure',
        expression: 'HealthcareService.type[1]',
      },
    ],
  });
});

describe('SDOHCC-Location', () => {
  profileCases<Location>({
    fixture: 'Location-sdohcc',
    mutations: [
      { rule: 'missing address (1..1)', change: (l) => void delete l.address, code: 'required', expression: 'Location.address' },
      { rule: 'missing name (US Core Location 1..1)', change: (l) => void delete l.name, code: 'required', expression: 'Location.name' },
    ],
  });
});

describe('SDOHCC-practitionerrole', () => {
  profileCases<PractitionerRole>({
    fixture: 'PractitionerRole-sdohcc',
    mutations: [
      { rule: 'missing practitioner (1..1)', change: (r) => void delete r.practitioner, code: 'required', expression: 'PractitionerRole.practitioner' },
      { rule: 'missing organization (1..1)', change: (r) => void delete r.organization, code: 'required', expression: 'PractitionerRole.organization' },
      { rule: 'practitioner references a Patient', change: (r) => void (r.practitioner = { reference: 'Patient/p1' }), code: 'value', expression: 'PractitionerRole.practitioner' },
      {
        rule: 'telecom without value (US Core PractitionerRole 1..1)',
        change: (r) => void delete r.telecom![0].value,
        code: 'required',
        expression: 'PractitionerRole.telecom[0].value',
      },
    ],
  });
});
