// $lookup, $expand, $validate-code, $translate, $subsumes and the billing helper, with hand-computed answers
// from the shipped terminology (see terminology/README.md for where each fact comes from).
import { describe, expect, it } from 'vitest';
import { SCREENING_QUESTION_ELEMENT } from '../../src/terminology/load-terminology.ts';
import {
  TerminologyInvalidRequest,
  TerminologyNotFound,
  TerminologyNotShipped,
} from '../../src/terminology/terminology-errors.ts';
import { TerminologyService } from '../../src/terminology/terminology-service.ts';
import { first, matches, propertyValues } from './parameters.ts';

const service = TerminologyService.load();

const LOINC = 'http://loinc.org';
const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const SNOMED = 'http://snomed.info/sct';
const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const HUB = 'http://cch-fhir-server.example.org/fhir';
const SDOH_CATEGORY_VS = 'http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetSDOHCategory';
const REFERRAL_TASK_STATUS_VS = 'http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetReferralTaskStatus';
const ANSWER_TO_DOMAIN = `${HUB}/ConceptMap/hub-screening-answer-to-sdoh-category`;
const DOMAIN_TO_CONDITION = `${HUB}/ConceptMap/hub-sdoh-category-to-condition`;
const ANSWER_TO_CONDITION = `${HUB}/ConceptMap/hub-screening-answer-to-condition`;
const HEADER_TO_BILLABLE = `${HUB}/ConceptMap/hub-icd-10-cm-header-to-billable`;
const VSAC_FOOD_DIAGNOSES = 'http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113762.1.4.1247.17';

const question = (code: string) => [{ element: SCREENING_QUESTION_ELEMENT, system: LOINC, code }];

describe('$lookup', () => {
  it('gives a Hunger Vital Sign question with its LOINC display, instrument and domain', () => {
    const result = service.lookup({ system: LOINC, code: '88122-7' });
    expect(first(result, 'display')?.valueString).toBe(
      'Within the past 12 months we worried whether our food would run out before we got money to buy more [U.S. FSS]',
    );
    expect(first(result, 'version')?.valueString).toBe('cch-2026-11');
    expect(propertyValues(result, 'kind')).toEqual(['question']);
    expect(propertyValues(result, 'instrument')).toEqual(['AHC HRSN', 'Hunger Vital Sign']);
    expect(propertyValues(result, 'sdoh-category')).toEqual(['food-insecurity']);
  });

  it('gives an answer code with the questions it is positive for', () => {
    const result = service.lookup({ system: LOINC, code: 'LA28397-0' });
    expect(first(result, 'display')?.valueString).toBe('Often true');
    expect(propertyValues(result, 'positive')).toEqual([true]);
    expect(propertyValues(result, 'positive-for')).toEqual(['88122-7', '88123-5']);
    expect(propertyValues(service.lookup({ system: LOINC, code: 'LA28398-8' }), 'positive')).toEqual([false]);
  });

  it('gives ICD-10-CM billable status and hierarchy: Z59.0 is a header, Z59.41 billable', () => {
    const header = service.lookup({ system: ICD, code: 'Z59.0' });
    expect(first(header, 'display')?.valueString).toBe('Homelessness');
    expect(first(header, 'version')?.valueString).toBe('2026');
    expect(propertyValues(header, 'billable')).toEqual([false]);
    expect(propertyValues(header, 'header-since')).toEqual(['2021-10-01']);
    expect(propertyValues(header, 'child')).toEqual(['Z59.00', 'Z59.01', 'Z59.02']);
    const food = service.lookup({ system: ICD, code: 'Z59.41' });
    expect(first(food, 'display')?.valueString).toBe('Food insecurity');
    expect(propertyValues(food, 'billable')).toEqual([true]);
    expect(propertyValues(food, 'parent')).toEqual(['Z59.4']);
    expect(propertyValues(food, 'in-z55-z65')).toEqual([true]);
  });

  it('returns only the requested properties', () => {
    const result = service.lookup({ system: ICD, code: 'Z59.861', property: ['billable', 'parent'] });
    const codes = result.parameter!.filter((p) => p.name === 'property').map((p) => p.part![0].valueCode);
    expect(codes).toEqual(['billable', 'parent']);
    expect(propertyValues(result, 'parent')).toEqual(['Z59.86']);
  });

  it('gives SNOMED CT displays without the semantic tag and the FSN as a designation', () => {
    const result = service.lookup({ system: SNOMED, code: '733423003' });
    expect(first(result, 'display')?.valueString).toBe('Food insecurity');
    const designation = first(result, 'designation')!;
    expect(designation.part!.find((p) => p.name === 'value')?.valueString).toBe('Food insecurity (finding)');
    expect(propertyValues(result, 'use')).toEqual(['condition']);
  });

  it('gives v3-ActReason purposes of use with parent and child', () => {
    expect(first(service.lookup({ system: ACT_REASON, code: 'COC' }), 'display')?.valueString).toBe('coordination of care');
    expect(propertyValues(service.lookup({ system: ACT_REASON, code: 'COC' }), 'parent')).toEqual(['TREAT']);
    expect(propertyValues(service.lookup({ system: ACT_REASON, code: 'ETREAT' }), 'child')).toEqual(['BTG']);
    expect(propertyValues(service.lookup({ system: ACT_REASON, code: 'HOPERAT' }), 'child')).toEqual(['CAREMGT', 'HQUALIMP', 'PERFMSR']);
    expect(propertyValues(service.lookup({ system: ACT_REASON, code: 'PurposeOfUse' }), 'notSelectable')).toEqual([true]);
  });

  it('throws TerminologyNotFound for an unknown code, system or version', () => {
    expect(() => service.lookup({ system: ICD, code: 'Z99.99' })).toThrow(TerminologyNotFound);
    expect(() => service.lookup({ system: ICD, code: 'Z99.99' })).toThrow(/not in this server's subset/);
    expect(() => service.lookup({ system: SDOHCC, code: 'no-such-domain' })).toThrow(/Unknown code 'no-such-domain'/);
    expect(() => service.lookup({ system: 'http://example.org/cs', code: 'x' })).toThrow(TerminologyNotFound);
    expect(() => service.lookup({ system: ICD, code: 'Z59.41', version: '2024' })).toThrow(/version 2024 is not available/);
  });
});

describe('$subsumes', () => {
  it('follows the v3 purpose-of-use hierarchy', () => {
    const outcome = (codeA: string, codeB: string) => first(service.subsumes({ system: ACT_REASON, codeA, codeB }), 'outcome')?.valueCode;
    expect(outcome('TREAT', 'BTG')).toBe('subsumes');
    expect(outcome('HPAYMT', 'ELIGVER')).toBe('subsumes');
    expect(outcome('BTG', 'TREAT')).toBe('subsumed-by');
    expect(outcome('COC', 'COC')).toBe('equivalent');
    expect(outcome('COC', 'HPAYMT')).toBe('not-subsumed');
  });
});

describe('$expand', () => {
  it('expands the SDOH category value set (24 codes)', () => {
    const expansion = service.expand({ url: SDOH_CATEGORY_VS }).expansion!;
    expect(expansion.total).toBe(24);
    expect(expansion.offset).toBe(0);
    expect(expansion.contains).toHaveLength(24);
    expect(expansion.contains![1]).toEqual({ system: SDOHCC, code: 'food-insecurity', display: 'Food Insecurity' });
  });

  it('filters case-insensitively on display and code, then pages with count and offset', () => {
    const all = service.expand({ url: SDOH_CATEGORY_VS, filter: 'INSECURITY' }).expansion!;
    expect(all.total).toBe(4);
    expect(all.contains!.map((c) => c.code)).toEqual(['food-insecurity', 'transportation-insecurity', 'financial-insecurity', 'utility-insecurity']);
    const page = service.expand({ url: SDOH_CATEGORY_VS, filter: 'insecurity', count: 2, offset: 1 }).expansion!;
    expect(page.total).toBe(4);
    expect(page.offset).toBe(1);
    expect(page.contains!.map((c) => c.code)).toEqual(['transportation-insecurity', 'financial-insecurity']);
    expect(page.parameter).toEqual([
      { name: 'filter', valueString: 'insecurity' },
      { name: 'count', valueInteger: 2 },
      { name: 'offset', valueInteger: 1 },
    ]);
    const housing = service.expand({ url: SDOH_CATEGORY_VS, filter: 'housing' }).expansion!;
    expect(housing.contains!.map((c) => c.code)).toEqual(['housing-instability', 'inadequate-housing']);
  });

  it('answers count=0 and an offset past the end with the total and no codes', () => {
    expect(service.expand({ url: SDOH_CATEGORY_VS, count: 0 }).expansion).toMatchObject({ total: 24 });
    expect(service.expand({ url: SDOH_CATEGORY_VS, count: 0 }).expansion!.contains).toBeUndefined();
    expect(service.expand({ url: SDOH_CATEGORY_VS, offset: 30 }).expansion!.contains).toBeUndefined();
  });

  it('expands value sets that import other value sets and exclude codes', () => {
    const expansion = service.expand({ url: REFERRAL_TASK_STATUS_VS }).expansion!;
    expect(expansion.total).toBe(10);
    expect(expansion.contains!.map((c) => c.code)).toEqual([
      'draft', 'requested', 'accepted', 'rejected', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error',
    ]);
  });

  it('expands the hub value sets', () => {
    expect(service.expand({ url: `${HUB}/ValueSet/hub-purpose-of-use` }).expansion!.total).toBe(14);
    expect(service.expand({ url: `${HUB}/ValueSet/hub-icd-10-cm-sdoh-billable`, filter: 'Z59.8' }).expansion!.contains!.map((c) => c.code))
      .toEqual(['Z59.811', 'Z59.812', 'Z59.819', 'Z59.82', 'Z59.861', 'Z59.868', 'Z59.869', 'Z59.87', 'Z59.89']);
  });

  it('expands an inline value set', () => {
    const expansion = service.expand({
      valueSet: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code' }] } },
    }).expansion!;
    expect(expansion.total).toBe(7);
  });

  it('refuses VSAC-only, unknown and unexpandable value sets and bad paging', () => {
    expect(() => service.expand({ url: VSAC_FOOD_DIAGNOSES })).toThrow(TerminologyNotShipped);
    expect(() => service.expand({ url: 'http://example.org/ValueSet/nope' })).toThrow(TerminologyNotFound);
    expect(() => service.expand({ valueSet: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: LOINC }] } } }))
      .toThrow(/ships only a subset/);
    expect(() => service.expand({ url: SDOH_CATEGORY_VS, count: -1 })).toThrow(TerminologyInvalidRequest);
    expect(() => service.expand({ url: SDOH_CATEGORY_VS, offset: 1.5 })).toThrow(TerminologyInvalidRequest);
  });
});

describe('$validate-code', () => {
  it('accepts a code in the value set and gives its display', () => {
    const result = service.validateCode({ url: REFERRAL_TASK_STATUS_VS, system: 'http://hl7.org/fhir/task-status', code: 'requested' });
    expect(first(result, 'result')?.valueBoolean).toBe(true);
    expect(first(result, 'display')?.valueString).toBe('Requested');
  });

  it('rejects a code outside the value set with a message', () => {
    const result = service.validateCode({ url: REFERRAL_TASK_STATUS_VS, system: 'http://hl7.org/fhir/task-status', code: 'received' });
    expect(first(result, 'result')?.valueBoolean).toBe(false);
    expect(first(result, 'message')?.valueString).toBe(
      `The code http://hl7.org/fhir/task-status#received is not in the value set ${REFERRAL_TASK_STATUS_VS}`,
    );
    const unknown = service.validateCode({ url: SDOH_CATEGORY_VS, system: SDOHCC, code: 'poverty' });
    expect(first(unknown, 'message')?.valueString).toContain("Unknown code 'poverty'");
  });

  it('checks the display (case-insensitively) when one is given', () => {
    const ok = service.validateCode({ url: SDOH_CATEGORY_VS, system: SDOHCC, code: 'food-insecurity', display: 'food insecurity' });
    expect(first(ok, 'result')?.valueBoolean).toBe(true);
    const wrong = service.validateCode({ url: SDOH_CATEGORY_VS, system: SDOHCC, code: 'food-insecurity', display: 'Hunger' });
    expect(first(wrong, 'result')?.valueBoolean).toBe(false);
    expect(first(wrong, 'display')?.valueString).toBe('Food Insecurity');
  });

  it('validates without a system when the code is unambiguous, and codes of systems it does not ship', () => {
    expect(first(service.validateCode({ url: SDOH_CATEGORY_VS, code: 'homelessness' }), 'result')?.valueBoolean).toBe(true);
    const sdc = service.validateCode({
      url: 'http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetTaskCode',
      system: 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp',
      code: 'complete-questionnaire',
    });
    expect(first(sdc, 'result')?.valueBoolean).toBe(true);
    expect(first(sdc, 'display')?.valueString).toBe('Complete Questionnaire');
  });

  it('says a VSAC-only value set is not shipped instead of pretending to validate', () => {
    expect(service.valueSetStatus(VSAC_FOOD_DIAGNOSES)).toBe('vsac-only');
    expect(service.valueSetStatus('urn:oid:2.16.840.1.113762.1.4.1247.17')).toBe('vsac-only');
    expect(service.valueSetKnown(VSAC_FOOD_DIAGNOSES)).toBe(false);
    expect(service.valueSetKnown(SDOH_CATEGORY_VS)).toBe(true);
    expect(service.valueSetKnown(`${SDOH_CATEGORY_VS}|3.0.0`)).toBe(true);
    expect(service.valueSetStatus('http://example.org/ValueSet/nope')).toBe('unknown');
    expect(service.vsacValueSet(VSAC_FOOD_DIAGNOSES)?.title).toBe('food-insecurity - Diagnoses (ICD-10-CM, SNOMED CT) [Condition.code]');
    expect(() => service.validateCode({ url: VSAC_FOOD_DIAGNOSES, system: ICD, code: 'Z59.41' })).toThrow(TerminologyNotShipped);
  });
});

describe('$translate', () => {
  it('translates the header Z59.86 to its three FY2026 children', () => {
    const result = service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.86' });
    expect(first(result, 'result')?.valueBoolean).toBe(true);
    expect(matches(result)).toEqual([
      { equivalence: 'narrower', system: ICD, code: 'Z59.861', source: HEADER_TO_BILLABLE },
      { equivalence: 'narrower', system: ICD, code: 'Z59.868', source: HEADER_TO_BILLABLE },
      { equivalence: 'narrower', system: ICD, code: 'Z59.869', source: HEADER_TO_BILLABLE },
    ]);
  });

  it('keeps Z59.86 for a date of service before FY2026, and offers the children from 2025-10-01', () => {
    const before = service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.86', date: '2025-09-30' });
    expect(matches(before)).toEqual([{ equivalence: 'equal', system: ICD, code: 'Z59.86', source: HEADER_TO_BILLABLE }]);
    expect(first(before, 'message')?.valueString).toContain('was valid on 2025-09-30');
    const after = service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.86', date: '2025-10-01' });
    expect(matches(after).map((m) => m.code)).toEqual(['Z59.861', 'Z59.868', 'Z59.869']);
  });

  it('translates Z59.0 and Z59.4 to their billable children, and back with reverse', () => {
    expect(matches(service.translate({ system: ICD, code: 'Z59.0', targetSystem: ICD })).map((m) => m.code)).toEqual(['Z59.00', 'Z59.01', 'Z59.02']);
    expect(matches(service.translate({ system: ICD, code: 'Z59.4', targetSystem: ICD })).map((m) => m.code)).toEqual(['Z59.41', 'Z59.48']);
    expect(matches(service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.41', reverse: true }))).toEqual([
      { equivalence: 'wider', system: ICD, code: 'Z59.4', source: HEADER_TO_BILLABLE },
    ]);
  });

  it('translates a positive Hunger Vital Sign answer to food-insecurity, and food-insecurity to Z59.41 + SNOMED 733423003', () => {
    const domain = service.translate({ url: ANSWER_TO_DOMAIN, system: LOINC, code: 'LA19952-3', dependency: question('88124-3') });
    expect(matches(domain)).toEqual([{ equivalence: 'wider', system: SDOHCC, code: 'food-insecurity', source: ANSWER_TO_DOMAIN }]);
    const condition = service.translate({ url: DOMAIN_TO_CONDITION, system: SDOHCC, code: 'food-insecurity' });
    expect(matches(condition)).toEqual([
      { equivalence: 'narrower', system: ICD, code: 'Z59.41', source: DOMAIN_TO_CONDITION },
      { equivalence: 'narrower', system: SNOMED, code: '733423003', source: DOMAIN_TO_CONDITION },
    ]);
    const direct = service.translate({ url: ANSWER_TO_CONDITION, system: LOINC, code: 'LA19952-3', dependency: question('88124-3') });
    expect(matches(direct).map((m) => `${m.system}|${m.code}`)).toEqual([`${ICD}|Z59.41`, `${SNOMED}|733423003`]);
    const onlyIcd = service.translate({ url: DOMAIN_TO_CONDITION, system: SDOHCC, code: 'food-insecurity', targetSystem: ICD });
    expect(matches(onlyIcd).map((m) => m.code)).toEqual(['Z59.41']);
  });

  it('chooses the concept maps by source value set when no url is given', () => {
    const result = service.translate({ source: SDOH_CATEGORY_VS, system: SDOHCC, code: 'homelessness' });
    expect(matches(result).map((m) => `${m.system}|${m.code}`)).toEqual([`${ICD}|Z59.00`, `${SNOMED}|32911000`]);
  });

  it('needs the question to translate an answer code', () => {
    const result = service.translate({ url: ANSWER_TO_DOMAIN, system: LOINC, code: 'LA19952-3' });
    expect(first(result, 'result')?.valueBoolean).toBe(false);
    expect(first(result, 'message')?.valueString).toContain('hold only with a dependency');
    const wrongQuestion = service.translate({ url: ANSWER_TO_DOMAIN, system: LOINC, code: 'LA19952-3', dependency: question('88122-7') });
    expect(first(wrongQuestion, 'result')?.valueBoolean).toBe(false);
  });

  it('picks the ICD-10-CM code valid on the date of service for answer-specific rules', () => {
    const now = service.translate({ url: ANSWER_TO_CONDITION, system: LOINC, code: 'LA33-6', dependency: question('96779-4') });
    expect(matches(now).map((m) => m.code)).toEqual(['Z59.861']);
    const fy2025 = service.translate({ url: ANSWER_TO_CONDITION, system: LOINC, code: 'LA33-6', dependency: question('96779-4'), date: '2025-03-01' });
    expect(matches(fy2025).map((m) => m.code)).toEqual(['Z59.86']);
  });

  it('says which domains have no Condition code', () => {
    const result = service.translate({ url: DOMAIN_TO_CONDITION, system: SDOHCC, code: 'intimate-partner-violence' });
    expect(first(result, 'result')?.valueBoolean).toBe(false);
    expect(first(result, 'message')?.valueString).toContain('Not auto-coded');
    expect(first(service.translate({ url: DOMAIN_TO_CONDITION, system: SDOHCC, code: 'elder-abuse' }), 'result')?.valueBoolean).toBe(false);
  });

  it('warns that dates of service after FY2026 are not covered', () => {
    const result = service.translate({ url: HEADER_TO_BILLABLE, system: ICD, code: 'Z59.4', date: '2026-11-01' });
    expect(matches(result).map((m) => m.code)).toEqual(['Z59.41', 'Z59.48']);
    expect(first(result, 'message')?.valueString).toContain('FY2027');
  });

  it('refuses an unknown concept map and a malformed date', () => {
    expect(() => service.translate({ url: `${HUB}/ConceptMap/nope`, system: ICD, code: 'Z59.0' })).toThrow(TerminologyNotFound);
    expect(() => service.translate({ system: ICD, code: 'Z59.0', date: '10/01/2025' })).toThrow(TerminologyInvalidRequest);
  });
});

describe('isBillableZCode', () => {
  it('knows headers from billable codes, with or without the dot', () => {
    expect(service.isBillableZCode('Z59.0')).toBe(false);
    expect(service.isBillableZCode('Z59.41')).toBe(true);
    expect(service.isBillableZCode('Z5941')).toBe(true);
    expect(service.isBillableZCode('Z59.86')).toBe(false);
    expect(service.isBillableZCode('Z59.869')).toBe(true);
  });

  it('answers for a date of service', () => {
    expect(service.isBillableZCode('Z59.86', '2024-12-01')).toBe(true);
    expect(service.isBillableZCode('Z59.861', '2024-12-01')).toBe(false);
    expect(service.isBillableZCode('Z59.0', '2021-09-30')).toBe(true);
    expect(service.isBillableZCode('Z59.00', '2021-09-30')).toBe(false);
  });

  it('is false for codes the hub does not ship and for non-Z codes', () => {
    expect(service.isBillableZCode('Z99.99')).toBe(false);
    expect(service.isBillableZCode('E63.9')).toBe(false);
  });
});
