// Hunger Vital Sign (88121-9): 88122-7 and 88123-5 (Often true / Sometimes true = at risk), computed 88124-3.
import { describe, expect, it } from 'vitest';
import { findingsFromQuestionnaireResponse } from '../../src/sdoh/screening-findings.ts';
import {
  answerOf,
  conditions,
  domainsOf,
  evidenceOf,
  FINDING,
  fullUrlOf,
  hvs,
  icdOf,
  isPositive,
  issuesWith,
  LOINC,
  responses,
  responsesTo,
  snomedOf,
  terminology,
} from './screening-fixtures.ts';

const OFTEN = 'LA28397-0';
const SOMETIMES = 'LA6729-3';
const NEVER = 'LA28398-8';
const REFUSED = 'LA15775-2';
const AT_RISK = 'LA19952-3';
const NO_RISK = 'LA19983-8';

const extract = (...args: Parameters<typeof hvs>) => findingsFromQuestionnaireResponse(hvs(...args), terminology);

describe('Hunger Vital Sign', () => {
  it('both questions often true and at risk: three screening responses, the panel and one food insecurity Condition', () => {
    const findings = extract([['88122-7', OFTEN], ['88123-5', OFTEN], ['88124-3', AT_RISK]]);
    expect(findings.instrument.id).toBe('hunger-vital-sign');
    const [q1, q2, risk, panel] = responses(findings);
    expect([q1, q2, risk, panel].map((o) => o.code.coding?.[0].code)).toEqual(['88122-7', '88123-5', '88124-3', '88121-9']);
    for (const answer of [q1, q2, risk]) {
      expect(answer.status).toBe('final');
      expect(answer.meta?.profile).toEqual(['http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ObservationScreeningResponse']);
      expect(answer.category?.map((c) => c.coding?.[0].code)).toEqual(['social-history', 'survey', 'sdoh', 'food-insecurity']);
      expect(answer.subject).toEqual({ reference: 'Patient/pat-1' });
      expect(answer.effectiveDateTime).toBe('2026-01-15T10:30:00Z');
      expect(answer.derivedFrom).toEqual([{ reference: 'QuestionnaireResponse/hvs-1' }]);
      expect(answer.performer).toEqual([{ reference: 'Patient/pat-1' }]);
      expect(isPositive(answer)).toBe(true);
      expect(answer.identifier?.[0].system).toBe(FINDING);
    }
    expect(q1.valueCodeableConcept).toEqual({ coding: [{ system: LOINC, code: OFTEN, display: 'Often true' }] });
    expect(panel.hasMember?.map((m) => m.reference)).toEqual([q1, q2, risk].map((o) => fullUrlOf(findings, o)));
    expect(panel.valueCodeableConcept).toBeUndefined();
    expect(panel.derivedFrom).toEqual([{ reference: 'QuestionnaireResponse/hvs-1' }]);

    const [condition] = conditions(findings);
    expect(conditions(findings)).toHaveLength(1);
    expect(condition.clinicalStatus?.coding?.[0].code).toBe('active');
    expect(condition.verificationStatus?.coding?.[0].code).toBe('unconfirmed');
    expect(condition.category?.map((c) => c.coding?.[0].code)).toEqual(['health-concern', 'sdoh', 'food-insecurity']);
    expect(snomedOf(condition)).toEqual(['733423003']);
    expect(icdOf(condition)).toEqual(['Z59.41']);
    expect(condition.subject).toEqual({ reference: 'Patient/pat-1' });
    expect(condition.onsetDateTime).toBe('2026-01-15T10:30:00Z');
    expect(condition.recordedDate).toBe('2026-01-15T10:30:00Z');
    expect(evidenceOf(condition)).toEqual([q1, q2, risk].map((o) => fullUrlOf(findings, o)));
    expect(findings.issues).toEqual([]);
  });

  it('question 1 alone sometimes true is a need; the never-true answer is recorded but not evidence', () => {
    const findings = extract([['88122-7', SOMETIMES], ['88123-5', NEVER], ['88124-3', AT_RISK]]);
    const [q1, q2, risk] = responses(findings);
    expect(isPositive(q2)).toBe(false);
    expect(q2.interpretation).toBeUndefined(); // never NEG
    const [condition] = conditions(findings);
    expect(evidenceOf(condition)).toEqual([fullUrlOf(findings, q1), fullUrlOf(findings, risk)]);
  });

  it('question 2 alone often true, without the computed risk item, is a need', () => {
    const findings = extract([['88122-7', NEVER], ['88123-5', OFTEN]]);
    expect(conditions(findings)).toHaveLength(1);
    expect(evidenceOf(conditions(findings)[0])).toEqual([fullUrlOf(findings, responsesTo(findings, '88123-5')[0])]);
  });

  it('both never true and no risk: responses, no Condition', () => {
    const findings = extract([['88122-7', NEVER], ['88123-5', NEVER], ['88124-3', NO_RISK]]);
    expect(responses(findings)).toHaveLength(4);
    expect(responses(findings).some(isPositive)).toBe(false);
    expect(conditions(findings)).toEqual([]);
  });

  it('"no risk" while a question is often true is a conflict: reported, no Condition guessed', () => {
    const findings = extract([['88122-7', OFTEN], ['88123-5', NEVER], ['88124-3', NO_RISK]]);
    expect(conditions(findings)).toEqual([]);
    expect(responses(findings)).toHaveLength(4);
    const [conflict] = issuesWith(findings, 'conflict');
    expect(conflict.diagnostics).toMatch(/88124-3 is LA19983-8/);
    expect(conflict.expression).toBe('QuestionnaireResponse.item[2].answer[0]');
  });

  it('"at risk" while both questions are never true is a conflict', () => {
    const findings = extract([['88122-7', NEVER], ['88123-5', NEVER], ['88124-3', AT_RISK]]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'conflict')).toHaveLength(1);
  });

  it("Don't know/refused (LA15775-2) is declined: recorded, never positive, no Condition", () => {
    const findings = extract([['88122-7', REFUSED], ['88123-5', REFUSED]]);
    expect(responses(findings).map(answerOf)).toEqual([REFUSED, REFUSED, undefined]);
    expect(responses(findings).some(isPositive)).toBe(false);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'informational').map((i) => i.diagnostics)).toEqual([
      expect.stringMatching(/88122-7 was declined/),
      expect.stringMatching(/88123-5 was declined/),
    ]);
  });

  it('an unanswered item gives no response and is reported', () => {
    const findings = extract([['88122-7'], ['88123-5', NEVER]]);
    expect(responsesTo(findings, '88122-7')).toEqual([]);
    expect(issuesWith(findings, 'incomplete')).toEqual([
      { severity: 'information', code: 'incomplete', diagnostics: 'Question 88122-7 is not answered: no finding', expression: 'QuestionnaireResponse.item[0]' },
    ]);
  });

  it('one question answered twice in different ways is a conflict: neither answer is kept', () => {
    const findings = extract([['88122-7', OFTEN, NEVER], ['88123-5', NEVER]]);
    expect(responsesTo(findings, '88122-7')).toEqual([]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'conflict')[0].diagnostics).toMatch(/88122-7 is answered in conflicting ways/);
  });

  it('the same answer given twice is kept once', () => {
    const findings = extract([['88122-7', OFTEN], ['88122-7', OFTEN]]);
    expect(responsesTo(findings, '88122-7')).toHaveLength(1);
    expect(issuesWith(findings, 'duplicate')).toHaveLength(1);
    expect(conditions(findings)).toHaveLength(1);
  });

  it('answer codes of another question are not options here and are ignored', () => {
    const findings = extract([['88122-7', 'LA33-6']]);
    expect(responses(findings)).toEqual([]);
    expect(issuesWith(findings, 'code-invalid')[0].diagnostics).toBe('LA33-6 is not an answer option of 88122-7: ignored');
  });

  it('food insecurity Conditions carry the SDOHCC domain on the screening responses and the Condition alike', () => {
    const findings = extract([['88122-7', OFTEN]]);
    expect(domainsOf(responses(findings)[0])).toEqual(['food-insecurity']);
    expect(domainsOf(conditions(findings)[0])).toEqual(['food-insecurity']);
  });
});
