// AHC HRSN (96777-8): living situation, housing problems, food, transportation, utilities, interpersonal safety,
// and the two supplemental questions of the NYS 12-question screener.
import { describe, expect, it } from 'vitest';
import { findingsFromQuestionnaireResponse } from '../../src/sdoh/screening-findings.ts';
import {
  ahc,
  conditionFor,
  conditions,
  domainsOf,
  evidenceOf,
  fullUrlOf,
  icdOf,
  isPositive,
  issuesWith,
  responses,
  responsesTo,
  snomedOf,
  terminology,
  type ItemSpec,
} from './screening-fixtures.ts';

const extract = (items: ItemSpec[], authored?: string) =>
  findingsFromQuestionnaireResponse(ahc(items, authored ? { authored } : {}), terminology);

const NEVER = 'LA6270-8';
/** The four HITS items, all answered the same way. */
const items = (answer: string): ItemSpec[] => ['95618-5', '95617-7', '95616-9', '95615-1'].map((q): ItemSpec => [q, answer]);
const SOMETIMES = 'LA10082-8';
const FREQUENTLY = 'LA6482-9';

describe('AHC HRSN: living situation (71802-3)', () => {
  it('LA31994-9 "worried about losing it" is housing instability, Z59.811 (not homelessness, as the IG Example 5 typo says)', () => {
    const findings = extract([['71802-3', 'LA31994-9']]);
    expect(findings.instrument.id).toBe('ahc-hrsn');
    const [condition] = conditions(findings);
    expect(domainsOf(condition)).toEqual(['housing-instability']);
    expect(icdOf(condition)).toEqual(['Z59.811']);
    expect(snomedOf(condition)).toEqual(['1156191002']);
    expect(domainsOf(responses(findings)[0])).toEqual(['housing-instability']);
  });

  it('LA31995-6 "no steady place to live" is homelessness, Z59.00 (Z59.0 is a header)', () => {
    const [condition] = conditions(extract([['71802-3', 'LA31995-6']]));
    expect(domainsOf(condition)).toEqual(['homelessness']);
    expect(icdOf(condition)).toEqual(['Z59.00']);
    expect(snomedOf(condition)).toEqual(['32911000']);
  });

  it('LA31993-1 "steady place to live" is no need; the response carries the question\'s domains', () => {
    const findings = extract([['71802-3', 'LA31993-1']]);
    expect(conditions(findings)).toEqual([]);
    expect(isPositive(responses(findings)[0])).toBe(false);
    expect(domainsOf(responses(findings)[0])).toEqual(['housing-instability', 'homelessness']);
  });
});

describe('AHC HRSN: housing problems (96778-6, choose all that apply)', () => {
  it('mold and lack of heat: one response per answer, one inadequate-housing Condition per code', () => {
    const findings = extract([['96778-6', 'LA28580-1', 'LA31998-0']]);
    const [mold, heat] = responsesTo(findings, '96778-6');
    expect([mold, heat].every(isPositive)).toBe(true);
    const found = conditionFor(findings, 'inadequate-housing');
    expect(found.map(icdOf)).toEqual([['Z59.19'], ['Z59.11']]);
    expect(found.map(evidenceOf)).toEqual([[fullUrlOf(findings, mold)], [fullUrlOf(findings, heat)]]);
    expect(findings.issues).toEqual([]);
  });

  it('pests, mold and lead all mean Z59.19: one Condition with the three responses as evidence', () => {
    const findings = extract([['96778-6', 'LA31996-4', 'LA28580-1', 'LA31997-2']]);
    const [condition] = conditions(findings);
    expect(conditions(findings)).toHaveLength(1);
    expect(evidenceOf(condition)).toHaveLength(3);
  });

  it('"None of the above" (LA9-3) is no need', () => {
    const findings = extract([['96778-6', 'LA9-3']]);
    expect(responses(findings)).toHaveLength(2);
    expect(conditions(findings)).toEqual([]);
  });

  it('"None of the above" beside a problem is a conflict', () => {
    const findings = extract([['96778-6', 'LA9-3', 'LA28580-1']]);
    expect(responsesTo(findings, '96778-6')).toEqual([]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'conflict')).toHaveLength(1);
  });
});

describe('AHC HRSN: food, transportation, utilities', () => {
  it('food questions sometimes true: food insecurity, Z59.41 + 733423003 (Z59.4 is a header)', () => {
    const [condition] = conditions(extract([['88122-7', 'LA6729-3'], ['88123-5', 'LA28398-8']]));
    expect(icdOf(condition)).toEqual(['Z59.41']);
    expect(snomedOf(condition)).toEqual(['733423003']);
  });

  it('transportation LA33-6 "Yes" is transportation insecurity, Z59.82 + 713458007; "No" is none', () => {
    const [condition] = conditions(extract([['93030-5', 'LA33-6']]));
    expect(domainsOf(condition)).toEqual(['transportation-insecurity']);
    expect(icdOf(condition)).toEqual(['Z59.82']);
    expect(snomedOf(condition)).toEqual(['713458007']);
    expect(conditions(extract([['93030-5', 'LA32-8']]))).toEqual([]);
  });

  it('utilities "Yes" in FY2026 is Z59.861, never the FY2026 header Z59.86', () => {
    const [condition] = conditions(extract([['96779-4', 'LA33-6']]));
    expect(domainsOf(condition)).toEqual(['utility-insecurity']);
    expect(icdOf(condition)).toEqual(['Z59.861']);
    expect(snomedOf(condition)).toEqual([]);
  });

  it('utilities "Already shut off" before FY2026 is Z59.86, billable on that date of service', () => {
    const [condition] = conditions(extract([['96779-4', 'LA32002-0']], '2025-06-02T09:00:00Z'));
    expect(icdOf(condition)).toEqual(['Z59.86']);
  });

  it('utilities "No" is no need', () => {
    expect(conditions(extract([['96779-4', 'LA32-8']]))).toEqual([]);
  });
});

describe('AHC HRSN: interpersonal safety (HITS items, total 95614-4)', () => {

  it('the items are never positive one by one', () => {
    const findings = extract(items(FREQUENTLY));
    expect(responses(findings).slice(0, 4).some(isPositive)).toBe(false);
    expect(conditions(findings)).toEqual([]);
  });

  it('a total of 11 or more is flagged positive but intimate partner violence is not auto-coded: reported for review', () => {
    const findings = extract([...items(SOMETIMES), ['95614-4', 12]]);
    const [total] = responsesTo(findings, '95614-4');
    expect(total.valueInteger).toBe(12);
    expect(isPositive(total)).toBe(true);
    expect(domainsOf(total)).toEqual(['intimate-partner-violence']);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'business-rule')[0].diagnostics).toMatch(/intimate-partner-violence.*clinician confirmation/);
  });

  it('a total under 11 is no need', () => {
    const findings = extract([...items(NEVER), ['95614-4', 4]]);
    expect(responses(findings).some(isPositive)).toBe(false);
    expect(findings.issues).toEqual([]);
  });

  it('a total that is not the sum of its items is a conflict', () => {
    const findings = extract([...items(NEVER), ['95614-4', 16]]);
    expect(issuesWith(findings, 'conflict')[0].diagnostics).toBe('Interpersonal safety total 95614-4 is 16 but its items add up to 4');
    expect(conditions(findings)).toEqual([]);
  });

  it('high items without the total are reported, nothing is computed into a response', () => {
    const findings = extract(items(FREQUENTLY));
    expect(responsesTo(findings, '95614-4')).toEqual([]);
    expect(issuesWith(findings, 'business-rule')[0].diagnostics).toMatch(/add up to 20/);
  });
});

describe('AHC HRSN: supplemental questions', () => {
  it('"help finding work" is employment status, Z56.89', () => {
    const [condition] = conditions(extract([['96780-2', 'LA31981-6']]));
    expect(domainsOf(condition)).toEqual(['employment-status']);
    expect(icdOf(condition)).toEqual(['Z56.89']);
  });

  it('"help with school" has no answer-specific code: the domain default, Z55.9 + 4506002', () => {
    const [condition] = conditions(extract([['96782-8', 'LA33-6']]));
    expect(domainsOf(condition)).toEqual(['educational-attainment']);
    expect(icdOf(condition)).toEqual(['Z55.9']);
    expect(snomedOf(condition)).toEqual(['4506002']);
  });
});

describe('AHC HRSN: a whole screening', () => {
  it('maps each positive domain once, in order, and leaves negatives alone', () => {
    const findings = extract([
      ['71802-3', 'LA31994-9'],
      ['96778-6', 'LA9-3'],
      ['88122-7', 'LA28397-0'],
      ['88123-5', 'LA6729-3'],
      ['93030-5', 'LA32-8'],
      ['96779-4', 'LA33-6'],
      ...items(NEVER),
      ['95614-4', 4],
    ]);
    expect(responses(findings)).toHaveLength(12);
    expect(conditions(findings).map((c) => [domainsOf(c)[0], ...icdOf(c)])).toEqual([
      ['housing-instability', 'Z59.811'],
      ['food-insecurity', 'Z59.41'],
      ['utility-insecurity', 'Z59.861'],
    ]);
    const panel = responsesTo(findings, '96777-8')[0];
    expect(panel.hasMember).toHaveLength(11);
  });
});
