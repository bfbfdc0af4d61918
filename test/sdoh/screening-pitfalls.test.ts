// The code pitfalls the domain notes name (sns-e-terminology.md §2, gravity-ig.md §4.4 and §7), one test each,
// as they show in screening findings, so a regression names the pitfall.
import { describe, expect, it } from 'vitest';
import { findingsFromQuestionnaireResponse } from '../../src/sdoh/screening-findings.ts';
import {
  ahc,
  conditions,
  domainsOf,
  hvs,
  icdOf,
  isPositive,
  prapare,
  responses,
  terminology,
  type ItemSpec,
} from './screening-fixtures.ts';

const run = (build: typeof hvs, items: ItemSpec[], authored?: string) =>
  findingsFromQuestionnaireResponse(build(items, authored ? { authored } : {}), terminology);
const icd = (build: typeof hvs, items: ItemSpec[], authored?: string) => conditions(run(build, items, authored)).flatMap(icdOf);

describe('screening pitfalls', () => {
  it('Z59.4 (emitted by the HL7 HVS StructureMap and examples) is a header since FY2022: HVS at risk is Z59.41', () => {
    expect(icd(hvs, [['88124-3', 'LA19952-3']])).toEqual(['Z59.41']);
  });

  it('Z59.0 (emitted by the HL7 PRAPARE StructureMap) is a header since FY2022: PRAPARE homelessness is Z59.00', () => {
    expect(icd(prapare, [['71802-3', 'LA30190-5']])).toEqual(['Z59.00']);
  });

  it('Z59.86 is a header from FY2026: a utility shut-off is Z59.861 from 2025-10-01, Z59.86 for earlier dates of service', () => {
    expect(icd(ahc, [['96779-4', 'LA33-6']], '2025-10-01T08:00:00Z')).toEqual(['Z59.861']);
    expect(icd(ahc, [['96779-4', 'LA33-6']], '2025-09-30T08:00:00Z')).toEqual(['Z59.86']);
  });

  it('Z59.1 is a header since 2023-04-01: housing problems map to Z59.11 / Z59.12 / Z59.19', () => {
    expect(icd(ahc, [['96778-6', 'LA31998-0', 'LA31999-8', 'LA31996-4']])).toEqual(['Z59.11', 'Z59.12', 'Z59.19']);
  });

  it('Z59.7 is a header in FY2026: uninsured is Z59.71', () => {
    expect(icd(prapare, [['76437-3', 'LA30194-7']])).toEqual(['Z59.71']);
  });

  it('Z59.8 and Z59.81 are headers: housing instability is Z59.811, transportation Z59.82', () => {
    expect(icd(ahc, [['71802-3', 'LA31994-9'], ['93030-5', 'LA33-6']])).toEqual(['Z59.811', 'Z59.82']);
  });

  it('a code is chosen by date of service: before FY2022, Z59.41 did not exist and the header Z59.4 was the billable code', () => {
    const findings = run(hvs, [['88124-3', 'LA19952-3']], '2020-09-10T21:56:54Z');
    expect(conditions(findings).flatMap(icdOf)).toEqual(['Z59.4']);
    expect(findings.issues.map((i) => i.diagnostics)).toContain('ICD-10-CM Z59.41 was not in use on 2020-09-10: Z59.4 applies');
  });

  it('the IG Example 5 typo swaps LA31994-9 and LA31995-6: LA31994-9 is housing instability, LA31995-6 homelessness', () => {
    expect(conditions(run(ahc, [['71802-3', 'LA31994-9']])).map(domainsOf)).toEqual([['housing-instability']]);
    expect(conditions(run(ahc, [['71802-3', 'LA31995-6']])).map(domainsOf)).toEqual([['homelessness']]);
  });

  it('LA33-6 "Yes" is a need only with its question: positive for 93030-5, 96779-4, 93033-9; not for 93026-3, where LA32-8 "No" is', () => {
    expect(conditions(run(ahc, [['93030-5', 'LA33-6'], ['96779-4', 'LA33-6']])).map(domainsOf)).toEqual([
      ['transportation-insecurity'],
      ['utility-insecurity'],
    ]);
    expect(conditions(run(prapare, [['93033-9', 'LA33-6']])).map(domainsOf)).toEqual([['housing-instability']]);
    expect(responses(run(prapare, [['93026-3', 'LA33-6']])).some(isPositive)).toBe(false);
    expect(isPositive(responses(run(prapare, [['93026-3', 'LA32-8']]))[0])).toBe(true);
  });

  it('decline answers LA30122-8 and LA15775-2 are coded but never a need', () => {
    expect(conditions(run(prapare, [['71802-3', 'LA30122-8'], ['93031-3', 'LA30122-8']]))).toEqual([]);
    expect(conditions(run(hvs, [['88122-7', 'LA15775-2'], ['88123-5', 'LA15775-2']]))).toEqual([]);
  });

  it('PRAPARE 93031-3 is a material-hardship question, but its Food answer is food insecurity', () => {
    expect(conditions(run(prapare, [['93031-3', 'LA30125-1']])).map(domainsOf)).toEqual([['food-insecurity']]);
  });

  it('the AHC safety items are scored as a total (11 or more), never answer by answer', () => {
    const items: ItemSpec[] = ['95618-5', '95617-7', '95616-9', '95615-1'].map((q): ItemSpec => [q, 'LA6482-9']);
    expect(responses(run(ahc, items)).some(isPositive)).toBe(false);
    expect(responses(run(ahc, [...items, ['95614-4', 20]])).filter(isPositive).map((o) => o.code.coding?.[0].code)).toEqual(['95614-4']);
  });

  it('the computed HVS risk must agree with its questions', () => {
    expect(conditions(run(hvs, [['88122-7', 'LA28397-0'], ['88124-3', 'LA19983-8']]))).toEqual([]);
  });

  it('positive answers are flagged POS, negative ones carry no interpretation (never NEG)', () => {
    const [positive, negative] = responses(run(hvs, [['88122-7', 'LA28397-0'], ['88123-5', 'LA28398-8']]));
    expect(positive.interpretation?.[0].coding?.[0]).toEqual({
      system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
      code: 'POS',
      display: 'Positive',
    });
    expect(negative.interpretation).toBeUndefined();
  });

  it('derived Conditions are unconfirmed health concerns with the sdoh category (SDOH-Con-2, SDOH-Con-3)', () => {
    const [condition] = conditions(run(hvs, [['88122-7', 'LA28397-0']]));
    expect(condition.verificationStatus?.coding?.[0].code).toBe('unconfirmed');
    expect(condition.category?.flatMap((c) => c.coding ?? []).map((c) => `${c.system}|${c.code}`)).toEqual([
      'http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern',
      'http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh',
      'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes|food-insecurity',
    ]);
  });
});
