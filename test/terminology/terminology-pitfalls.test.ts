// Codes that look right but are wrong, retired or misnamed in the sources (sns-e-terminology.md section 2,
// gravity-ig.md sections 4 and 7). One test each, so a regression names the pitfall.
import { describe, expect, it } from 'vitest';
import { SCREENING_QUESTION_ELEMENT } from '../../src/terminology/load-terminology.ts';
import { TerminologyNotFound } from '../../src/terminology/terminology-errors.ts';
import { TerminologyService } from '../../src/terminology/terminology-service.ts';
import { first, matches, propertyValues } from './parameters.ts';

const service = TerminologyService.load();

const LOINC = 'http://loinc.org';
const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const HCPCS = 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes';
const CPT = 'http://www.ama-assn.org/go/cpt';
const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const HUB = 'http://cch-fhir-server.example.org/fhir';
const ANSWER_TO_DOMAIN = `${HUB}/ConceptMap/hub-screening-answer-to-sdoh-category`;
const HEADER_TO_BILLABLE = `${HUB}/ConceptMap/hub-icd-10-cm-header-to-billable`;
const BILLABLE_Z_VS = `${HUB}/ValueSet/hub-icd-10-cm-sdoh-billable`;

const question = (code: string) => [{ element: SCREENING_QUESTION_ELEMENT, system: LOINC, code }];
const domainOf = (answer: string, q: string) =>
  matches(service.translate({ url: ANSWER_TO_DOMAIN, system: LOINC, code: answer, dependency: question(q) })).map((m) => m.code);
const inValueSet = (url: string, system: string, code: string) =>
  first(service.validateCode({ url, system, code }), 'result')?.valueBoolean;

describe('terminology pitfalls', () => {
  it('Z59.0 and Z59.4, still emitted by the HL7 PRAPARE and HVS StructureMaps, are headers since FY2022', () => {
    for (const header of ['Z59.0', 'Z59.4']) {
      expect(service.isBillableZCode(header)).toBe(false);
      expect(inValueSet(BILLABLE_Z_VS, ICD, header)).toBe(false);
    }
    expect(matches(service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.4' }))[0].code).toBe('Z59.41');
    expect(matches(service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.0' }))[0].code).toBe('Z59.00');
  });

  it('Z59.1 became a header on 2023-04-01', () => {
    expect(service.isBillableZCode('Z59.1', '2023-03-31')).toBe(true);
    expect(service.isBillableZCode('Z59.1', '2023-04-01')).toBe(false);
    expect(service.isBillableZCode('Z59.11', '2023-04-01')).toBe(true);
  });

  it('Z59.86 is billable only for dates of service 2022-10-01 through 2025-09-30; Z59.7 became a header in FY2026', () => {
    expect(service.isBillableZCode('Z59.86', '2022-09-30')).toBe(false);
    expect(service.isBillableZCode('Z59.86', '2022-10-01')).toBe(true);
    expect(service.isBillableZCode('Z59.86', '2025-09-30')).toBe(true);
    expect(service.isBillableZCode('Z59.86', '2025-10-01')).toBe(false);
    expect(service.isBillableZCode('Z59.7', '2025-09-30')).toBe(true);
    expect(service.isBillableZCode('Z59.7')).toBe(false);
  });

  it('Z59.8 and Z59.81 are headers', () => {
    expect(service.isBillableZCode('Z59.8')).toBe(false);
    expect(service.isBillableZCode('Z59.81')).toBe(false);
    expect(service.isBillableZCode('Z59.811')).toBe(true);
  });

  it('members of the Gravity food-diagnosis value set are not all Z55-Z65 social-need codes', () => {
    expect(propertyValues(service.lookup({ system: ICD, code: 'Z71.88' }), 'in-z55-z65')).toEqual([false]);
    expect(inValueSet(BILLABLE_Z_VS, ICD, 'Z71.88')).toBe(false);
    expect(propertyValues(service.lookup({ system: ICD, code: 'E63.9' }), 'billable')).toEqual([true]);
    expect(service.isBillableZCode('E63.9')).toBe(false);
  });

  it('G0136 is no SDOH risk assessment from CY2026', () => {
    const g0136 = service.lookup({ system: HCPCS, code: 'G0136' });
    expect(first(g0136, 'display')?.valueString).toContain('assessment of physical activity and nutrition');
    expect(propertyValues(g0136, 'sdoh-service')).toEqual([false]);
    expect(propertyValues(g0136, 'sdoh-service-until')).toEqual(['2025-12-31']);
    expect(inValueSet(`${HUB}/ValueSet/hub-social-care-services`, HCPCS, 'G0136')).toBe(false);
    expect(inValueSet(`${HUB}/ValueSet/hub-social-care-services`, HCPCS, 'G0019')).toBe(true);
  });

  it('the HCPCS canonical URL is http, not https; the urn:oid form is an accepted alias', () => {
    expect(() => service.lookup({ system: 'https://terminology.hl7.org/CodeSystem/HCPCS-all-codes', code: 'T1016' }))
      .toThrow(/did you mean http:\/\/terminology.hl7.org\/CodeSystem\/HCPCS-all-codes/);
    expect(first(service.lookup({ system: 'urn:oid:2.16.840.1.113883.6.285', code: 'T1016' }), 'display')?.valueString)
      .toBe('Case management, each 15 minutes');
  });

  it('CPT codes are CPT, not ICD-10-CM (the Gravity RI mapping labels them with the ICD-10-CM URL)', () => {
    expect(() => service.lookup({ system: ICD, code: '97802' })).toThrow(TerminologyNotFound);
    expect(first(service.lookup({ system: CPT, code: '97802' }), 'display')?.valueString).toBe('Medical nutrition therapy, initial, individual, per 15 minutes');
  });

  it('LA33-6 "Yes" is a risk answer to most questions but not to PRAPARE 93026-3 "Do you feel safe", where LA32-8 "No" is', () => {
    const yes = service.lookup({ system: LOINC, code: 'LA33-6' });
    expect(propertyValues(yes, 'positive')).toEqual([]);
    expect(propertyValues(yes, 'positive-for')).not.toContain('93026-3');
    expect(propertyValues(yes, 'positive-for')).toContain('96779-4');
    expect(domainOf('LA33-6', '93026-3')).toEqual([]);
    expect(domainOf('LA32-8', '93026-3')).toEqual(['intimate-partner-violence']);
    expect(domainOf('LA33-6', '96779-4')).toEqual(['utility-insecurity']);
    expect(domainOf('LA33-6', '93030-5')).toEqual(['transportation-insecurity']);
  });

  it('AHC LA31994-9 "worried about losing it" is housing instability, not homelessness (IG Example 5 swaps them)', () => {
    expect(domainOf('LA31994-9', '71802-3')).toEqual(['housing-instability']);
    expect(domainOf('LA31995-6', '71802-3')).toEqual(['homelessness']);
    expect(domainOf('LA30190-5', '71802-3')).toEqual(['homelessness']);
  });

  it('PRAPARE 93031-3 is a material-hardship question, but its Food answer is a food-insecurity need', () => {
    expect(propertyValues(service.lookup({ system: LOINC, code: '93031-3' }), 'sdoh-category')).toEqual(['material-hardship']);
    expect(domainOf('LA30125-1', '93031-3')).toEqual(['food-insecurity']);
    expect(domainOf('LA30124-4', '93031-3')).toEqual(['utility-insecurity']);
    expect(domainOf('LA30126-9', '93031-3')).toEqual(['material-hardship']);
  });

  it('the referral Task status value set excludes ready and received (the change log says "requested")', () => {
    const vs = 'http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetReferralTaskStatus';
    expect(inValueSet(vs, 'http://hl7.org/fhir/task-status', 'ready')).toBe(false);
    expect(inValueSet(vs, 'http://hl7.org/fhir/task-status', 'received')).toBe(false);
    expect(inValueSet(vs, 'http://hl7.org/fhir/task-status', 'requested')).toBe(true);
  });

  it('the patient-task codes named on the workflow page do not exist', () => {
    expect(() => service.lookup({ system: SDOHCC, code: 'general-information-request' })).toThrow(TerminologyNotFound);
    expect(() => service.lookup({ system: SDOHCC, code: 'make-contact-directions' })).toThrow(TerminologyNotFound);
    expect(first(service.lookup({ system: SDOHCC, code: 'make-contact' }), 'display')?.valueString).toBe('Make Contact');
  });

  it('no-capacity-has-waitlist was renamed waitlist in 3.0.0 (FHIR-54902)', () => {
    expect(() => service.lookup({ system: SDOHCC, code: 'no-capacity-has-waitlist' })).toThrow(TerminologyNotFound);
    expect(first(service.lookup({ system: SDOHCC, code: 'waitlist' }), 'display')?.valueString).toBe('No Capacity - Has Waitlist');
  });

  it('interpersonal-safety is not an SDOHCC category code (AHC safety items are intimate-partner-violence)', () => {
    expect(() => service.lookup({ system: SDOHCC, code: 'interpersonal-safety' })).toThrow(TerminologyNotFound);
    expect(propertyValues(service.lookup({ system: LOINC, code: '95614-4' }), 'sdoh-category')).toEqual(['intimate-partner-violence']);
  });

  it('the referral Task code is task-code fulfill', () => {
    expect(first(service.lookup({ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }), 'display')?.valueString)
      .toBe('Fulfill the focal request');
  });

  it('ELIGVER sits under COVERAGE, itself under HPAYMT; the hub refuses HRESCH and HMARKT', () => {
    expect(propertyValues(service.lookup({ system: ACT_REASON, code: 'ELIGVER' }), 'parent')).toEqual(['COVERAGE']);
    expect(propertyValues(service.lookup({ system: ACT_REASON, code: 'COVERAGE' }), 'parent')).toEqual(['HPAYMT']);
    const hubPurposes = `${HUB}/ValueSet/hub-purpose-of-use`;
    expect(inValueSet(hubPurposes, ACT_REASON, 'HRESCH')).toBe(false);
    expect(inValueSet(hubPurposes, ACT_REASON, 'HMARKT')).toBe(false);
    expect(inValueSet(hubPurposes, ACT_REASON, 'BTG')).toBe(true);
  });
});
