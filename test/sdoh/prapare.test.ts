// PRAPARE (93025-5): items grouped in sections, linkIds such as /93042-0/71802-3 (as the IG Questionnaire has them).
import { describe, expect, it } from 'vitest';
import { findingsFromQuestionnaireResponse } from '../../src/sdoh/screening-findings.ts';
import {
  answerOf,
  conditionFor,
  conditions,
  domainsOf,
  evidenceOf,
  fullUrlOf,
  icdOf,
  isPositive,
  issuesWith,
  item,
  prapare,
  questionnaireResponse,
  PRAPARE_QUESTIONNAIRE,
  responses,
  responsesTo,
  snomedOf,
  terminology,
  type ItemSpec,
} from './screening-fixtures.ts';

const extract = (items: ItemSpec[], authored?: string) =>
  findingsFromQuestionnaireResponse(prapare(items, authored ? { authored } : {}), terminology);

const DECLINED = 'LA30122-8';

describe('PRAPARE: housing', () => {
  it('housing status LA30190-5 "I do not have housing" is homelessness, Z59.00 (the IG StructureMap still emits the header Z59.0)', () => {
    const findings = extract([['71802-3', 'LA30190-5']]);
    const [condition] = conditions(findings);
    expect(domainsOf(condition)).toEqual(['homelessness']);
    expect(icdOf(condition)).toEqual(['Z59.00']);
    expect(icdOf(condition)).not.toContain('Z59.0');
    expect(snomedOf(condition)).toEqual(['32911000']);
  });

  it('LA30189-7 "I have housing" is no need; the response is in the homelessness domain (IG PRAPARE map)', () => {
    const findings = extract([['71802-3', 'LA30189-7']]);
    expect(conditions(findings)).toEqual([]);
    expect(domainsOf(responses(findings)[0])).toEqual(['homelessness']);
  });

  it('worried about losing housing (93033-9) "Yes" is housing instability, Z59.811', () => {
    const [condition] = conditions(extract([['93033-9', 'LA33-6']]));
    expect(domainsOf(condition)).toEqual(['housing-instability']);
    expect(icdOf(condition)).toEqual(['Z59.811']);
  });

  it('"I choose not to answer this question" (LA30122-8) is declined: recorded, no Condition', () => {
    const findings = extract([['93033-9', DECLINED]]);
    expect(responses(findings).map(answerOf)).toEqual([DECLINED, undefined]);
    expect(isPositive(responses(findings)[0])).toBe(false);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'informational')[0].diagnostics).toMatch(/93033-9 was declined/);
  });
});

describe('PRAPARE: unable to get (93031-3, a material-hardship question)', () => {
  it('the Food answer is food insecurity, Z59.41 — not material hardship', () => {
    const findings = extract([['93031-3', 'LA30125-1']]);
    expect(domainsOf(responses(findings)[0])).toEqual(['food-insecurity']);
    const [condition] = conditions(findings);
    expect(domainsOf(condition)).toEqual(['food-insecurity']);
    expect(icdOf(condition)).toEqual(['Z59.41']);
    expect(snomedOf(condition)).toEqual(['733423003']);
  });

  it('the Utilities answer is utility insecurity, Z59.861', () => {
    const [condition] = conditions(extract([['93031-3', 'LA30124-4']]));
    expect(domainsOf(condition)).toEqual(['utility-insecurity']);
    expect(icdOf(condition)).toEqual(['Z59.861']);
  });

  it('clothing and child care: two responses (as the IG examples), one material-hardship Condition Z59.87', () => {
    const findings = extract([['93031-3', 'LA30126-9', 'LA30127-7']]);
    const answers = responsesTo(findings, '93031-3');
    expect(answers.map(answerOf)).toEqual(['LA30126-9', 'LA30127-7']);
    expect(answers.map(domainsOf)).toEqual([['material-hardship'], ['material-hardship']]);
    const [condition] = conditionFor(findings, 'material-hardship');
    expect(icdOf(condition)).toEqual(['Z59.87']);
    expect(evidenceOf(condition)).toEqual(answers.map((a) => fullUrlOf(findings, a)));
  });

  it('food, clothing and utilities at once: three domains', () => {
    const findings = extract([['93031-3', 'LA30125-1', 'LA30126-9', 'LA30124-4']]);
    expect(conditions(findings).map((c) => domainsOf(c)[0])).toEqual(['food-insecurity', 'material-hardship', 'utility-insecurity']);
  });

  it('declined beside an answer is a conflict', () => {
    const findings = extract([['93031-3', DECLINED, 'LA30125-1']]);
    expect(responsesTo(findings, '93031-3')).toEqual([]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'conflict')).toHaveLength(1);
  });
});

describe('PRAPARE: transportation (93030-5)', () => {
  it('both "Yes" answers: two responses, one Condition Z59.82 + 713458007 with both as evidence', () => {
    const findings = extract([['93030-5', 'LA30133-5', 'LA30134-3']]);
    const [condition] = conditions(findings);
    expect(conditions(findings)).toHaveLength(1);
    expect(icdOf(condition)).toEqual(['Z59.82']);
    expect(snomedOf(condition)).toEqual(['713458007']);
    expect(evidenceOf(condition)).toHaveLength(2);
  });

  it('"No" beside a "Yes" is a conflict', () => {
    const findings = extract([['93030-5', 'LA32-8', 'LA30133-5']]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'conflict')).toHaveLength(1);
  });

  it('"Patient unable to respond" is no need', () => {
    expect(conditions(extract([['93030-5', 'LA30257-2']]))).toEqual([]);
  });
});

describe('PRAPARE: safety and the shared LOINC answers', () => {
  it('LA33-6 "Yes" to "Do you feel safe" (93026-3) is not a need, whatever it means elsewhere', () => {
    const findings = extract([['93026-3', 'LA33-6']]);
    expect(isPositive(responses(findings)[0])).toBe(false);
    expect(conditions(findings)).toEqual([]);
    expect(findings.issues).toEqual([]);
  });

  it('LA32-8 "No" to 93026-3 is positive, but intimate partner violence is not auto-coded: reported', () => {
    const findings = extract([['93026-3', 'LA32-8']]);
    expect(isPositive(responses(findings)[0])).toBe(true);
    expect(domainsOf(responses(findings)[0])).toEqual(['intimate-partner-violence']);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'business-rule')[0].diagnostics).toMatch(/^Positive for intimate-partner-violence \(93026-3\): no Condition derived, Not auto-coded/);
  });

  it('afraid of a partner (76501-6) "Yes" is reported the same way', () => {
    const findings = extract([['76501-6', 'LA33-6']]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'business-rule')).toHaveLength(1);
  });
});

describe('PRAPARE: money, resources and social health', () => {
  it('unemployed is Z56.0 + 73438004 (HL7 PRAPARE map)', () => {
    const [condition] = conditions(extract([['67875-5', 'LA17956-6']]));
    expect(domainsOf(condition)).toEqual(['employment-status']);
    expect(icdOf(condition)).toEqual(['Z56.0']);
    expect(snomedOf(condition)).toEqual(['73438004']);
  });

  it('less than high school is Z55.5', () => {
    expect(icdOf(conditions(extract([['82589-3', 'LA30191-3']]))[0])).toEqual(['Z55.5']);
  });

  it('uninsured is Z59.71 (Z59.7 is a header in FY2026)', () => {
    expect(icdOf(conditions(extract([['76437-3', 'LA30194-7']]))[0])).toEqual(['Z59.71']);
  });

  it('seeing people less than once a week has two candidate codes (Z60.2, Z60.4): not guessed, reported', () => {
    const findings = extract([['93029-7', 'LA27722-0']]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'business-rule')[0].diagnostics).toMatch(/several ICD-10-CM codes fit social-connection \(Z60.2, Z60.4\)/);
  });

  it('stress "Very much" is Z65.8', () => {
    expect(icdOf(conditions(extract([['93038-8', 'LA13914-9']]))[0])).toEqual(['Z65.8']);
  });

  it('uncoded answers become responses with their own value type, and no Condition', () => {
    const findings = extract([
      ['63512-8', 6],
      ['56799-0', { valueString: '1 Main Street' }],
      ['63586-2', { valueDecimal: 25000 }],
    ]);
    const [household, address, income] = responses(findings);
    expect(household.valueInteger).toBe(6);
    expect(address.valueString).toBe('1 Main Street');
    expect(income.valueQuantity).toEqual({ value: 25000 });
    expect(household.code.coding?.[0].display).toBe('How many people are living or staying at this address [#]');
    expect(domainsOf(household)).toEqual(['sdoh-category-unspecified']);
    expect(conditions(findings)).toEqual([]);
  });

  it('several race answers are one response each, not a conflict', () => {
    const findings = extract([['32624-9', 'LA4457-3', 'LA30187-1']]);
    expect(responsesTo(findings, '32624-9')).toHaveLength(2);
    expect(findings.issues).toEqual([]);
  });

  it('a coded question answered with text is ignored', () => {
    const findings = extract([['71802-3', { valueString: 'shelter' }]]);
    expect(responses(findings)).toEqual([]);
    expect(issuesWith(findings, 'code-invalid')[0].diagnostics).toBe('71802-3 takes a LOINC answer code, got shelter: ignored');
  });

  it('a question of another instrument is ignored', () => {
    const findings = extract([['96779-4', 'LA33-6'], ['71802-3', 'LA30189-7']]);
    expect(responsesTo(findings, '96779-4')).toEqual([]);
    expect(issuesWith(findings, 'not-supported')[0].diagnostics).toBe('96779-4 is not a question of PRAPARE: ignored');
  });
});

describe('PRAPARE: a nested QuestionnaireResponse as the IG Questionnaire produces it', () => {
  const section = (code: string, items: ItemSpec[]) => ({ linkId: `/${code}`, item: items.map((spec) => item(spec, `/${code}`)) });
  const response = questionnaireResponse(
    [
      {
        linkId: '/93025-5',
        item: [
          section('93042-0', [['71802-3', 'LA30190-5'], ['93033-9', DECLINED]]),
          section('93041-2', [['67875-5', 'LA17956-6'], ['93031-3', 'LA30126-9', 'LA30127-7'], ['93030-5', 'LA30134-3', 'LA30133-5']]),
          section('93039-6', [['93026-3', 'LA32-8']]),
        ],
      },
    ],
    { id: 'prapare-2', questionnaire: `${PRAPARE_QUESTIONNAIRE}|3.0.0` },
  );

  it('reads every section and points issues at the nested item', () => {
    const findings = findingsFromQuestionnaireResponse(response, terminology);
    expect(findings.instrument.id).toBe('prapare');
    expect(responses(findings)).toHaveLength(9);
    expect(conditions(findings).map((c) => [domainsOf(c)[0], ...icdOf(c)])).toEqual([
      ['homelessness', 'Z59.00'],
      ['employment-status', 'Z56.0'],
      ['material-hardship', 'Z59.87'],
      ['transportation-insecurity', 'Z59.82'],
    ]);
    expect(issuesWith(findings, 'informational')[0].expression).toBe('QuestionnaireResponse.item[0].item[0].item[1].answer[0]');
    expect(issuesWith(findings, 'business-rule')[0].expression).toBe('QuestionnaireResponse.item[0].item[2].item[0].answer[0]');
  });
});
