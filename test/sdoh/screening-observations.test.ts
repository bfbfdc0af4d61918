// Screening Observations in: a panel with hasMember, or answer Observations alone. An Observation with an id is
// taken as stored here (findings point to it); one without is new data (a screening response is made from it).
import { describe, expect, it } from 'vitest';
import { findingsFromObservations } from '../../src/sdoh/screening-findings.ts';
import { ScreeningInputError } from '../../src/sdoh/screening-issue.ts';
import type { ScreeningObservation } from '../../src/sdoh/observation-answers.ts';
import {
  answerObservation,
  conditions,
  domainsOf,
  evidenceOf,
  FINDING,
  fullUrlOf,
  icdOf,
  isPositive,
  issuesWith,
  panelObservation,
  responses,
  responsesTo,
  terminology,
} from './screening-fixtures.ts';

const inputs = (...observations: ScreeningObservation['resource'][]): ScreeningObservation[] =>
  observations.map((resource, index) => ({ resource, expression: `Bundle.entry[${index}].resource` }));

describe('screening Observations', () => {
  it('two Hunger Vital Sign answers without ids: new screening responses (their identifiers kept), one Condition', () => {
    const findings = findingsFromObservations(
      inputs(answerObservation('88122-7', 'LA28397-0', { identifier: 'obs-1' }), answerObservation('88123-5', 'LA28398-8', { identifier: 'obs-2' })),
      terminology,
    );
    expect(findings.instrument.id).toBe('hunger-vital-sign');
    const [q1, q2] = responses(findings);
    expect(responses(findings)).toHaveLength(2); // no panel was given: none is made
    expect(q1.identifier?.map((i) => i.system)).toEqual(['http://clinic.example.org/obs', FINDING]);
    expect(q1.category?.map((c) => c.coding?.[0].code)).toEqual(['social-history', 'survey', 'sdoh', 'food-insecurity']);
    expect(q1.derivedFrom).toBeUndefined();
    expect(isPositive(q1)).toBe(true);
    expect(isPositive(q2)).toBe(false);
    const [condition] = conditions(findings);
    expect(icdOf(condition)).toEqual(['Z59.41']);
    expect(evidenceOf(condition)).toEqual([fullUrlOf(findings, q1)]);
  });

  it('a stored panel with stored members: no new screening response, the Condition points to the stored ones', () => {
    const findings = findingsFromObservations(
      inputs(
        panelObservation('96777-8', ['Observation/m1', 'Observation/m2', 'Observation/m3'], { id: 'panel-1' }),
        answerObservation('71802-3', 'LA31995-6', { id: 'm1' }),
        answerObservation('93030-5', 'LA33-6', { id: 'm2' }),
        answerObservation('96779-4', 'LA32-8', { id: 'm3' }),
      ),
      terminology,
    );
    expect(findings.instrument.id).toBe('ahc-hrsn');
    expect(responses(findings)).toEqual([]);
    expect(conditions(findings).map((c) => [domainsOf(c)[0], evidenceOf(c)])).toEqual([
      ['homelessness', ['Observation/m1']],
      ['transportation-insecurity', ['Observation/m2']],
    ]);
  });

  it('a new panel whose members are Bundle entries: a new grouping Observation with hasMember → the new responses', () => {
    const panel = panelObservation('93025-5', ['urn:uuid:a', 'urn:uuid:b']);
    const findings = findingsFromObservations(
      [
        { resource: panel, expression: 'Bundle.entry[0].resource' },
        { resource: answerObservation('71802-3', 'LA30190-5'), fullUrl: 'urn:uuid:a', expression: 'Bundle.entry[1].resource' },
        { resource: answerObservation('67875-5', 'LA17956-6'), fullUrl: 'urn:uuid:b', expression: 'Bundle.entry[2].resource' },
      ],
      terminology,
    );
    const [housing, employment] = responses(findings);
    const [grouping] = responsesTo(findings, '93025-5');
    expect(grouping.hasMember?.map((m) => m.reference)).toEqual([fullUrlOf(findings, housing), fullUrlOf(findings, employment)]);
    expect(domainsOf(grouping)).toEqual(['homelessness', 'employment-status']);
    expect(conditions(findings)).toHaveLength(2);
    expect(findings.issues).toEqual([]);
  });

  it('a panel member that was not given is reported', () => {
    const findings = findingsFromObservations(
      inputs(panelObservation('88121-9', ['Observation/gone'], { id: 'p' }), answerObservation('88122-7', 'LA6729-3', { id: 'here' })),
      terminology,
    );
    expect(issuesWith(findings, 'not-found')).toEqual([
      {
        severity: 'warning',
        code: 'not-found',
        diagnostics: "Panel member 'Observation/gone' was not provided or is not visible: its answer is not included",
        expression: 'Bundle.entry[0].resource.hasMember[0]',
      },
    ]);
    expect(evidenceOf(conditions(findings)[0])).toEqual(['Observation/here']);
  });

  it('the same question in two Observations with different answers is a conflict', () => {
    const findings = findingsFromObservations(inputs(answerObservation('71802-3', 'LA31993-1'), answerObservation('71802-3', 'LA31995-6')), terminology);
    expect(responses(findings)).toEqual([]);
    expect(conditions(findings)).toEqual([]);
    expect(issuesWith(findings, 'conflict')[0].expression).toBe('Bundle.entry[0].resource');
  });

  it('choose-all-that-apply answers may come one Observation each (as the IG PRAPARE examples)', () => {
    const findings = findingsFromObservations(
      inputs(answerObservation('93031-3', 'LA30126-9'), answerObservation('93031-3', 'LA30127-7')),
      terminology,
      { instrument: 'prapare' },
    );
    expect(responses(findings)).toHaveLength(2);
    expect(evidenceOf(conditions(findings)[0])).toHaveLength(2);
  });

  it('preliminary, uncoded and valueless Observations are ignored and reported', () => {
    const uncoded = answerObservation('88122-7', 'LA28397-0');
    uncoded.valueCodeableConcept = { text: 'often' };
    const empty = answerObservation('88123-5', 'LA28397-0');
    delete empty.valueCodeableConcept;
    empty.dataAbsentReason = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'asked-declined' }] };
    const findings = findingsFromObservations(inputs(answerObservation('88122-7', 'LA6729-3', { status: 'preliminary' }), uncoded, empty), terminology, {
      instrument: 'hunger-vital-sign',
    });
    expect(responses(findings)).toEqual([]);
    expect(findings.issues.map((i) => [i.code, i.expression])).toEqual([
      ['business-rule', 'Bundle.entry[0].resource.status'],
      ['code-invalid', 'Bundle.entry[1].resource.valueCodeableConcept'],
      ['incomplete', 'Bundle.entry[2].resource'],
    ]);
  });

  it('Observations about different patients are refused', () => {
    const run = () =>
      findingsFromObservations(inputs(answerObservation('88122-7', 'LA6729-3'), answerObservation('88123-5', 'LA6729-3', { subject: 'Patient/other' })), terminology);
    expect(run).toThrow(ScreeningInputError);
    expect(run).toThrow(/different patients/);
  });

  it('Observations of no known instrument are refused, pointing at the code', () => {
    try {
      findingsFromObservations(inputs(answerObservation('8302-2', 'LA33-6')), terminology);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ScreeningInputError);
      expect((error as ScreeningInputError).expression).toBe('Bundle.entry[0].resource.code');
    }
  });

  it('the same Observations give the same identifiers and fullUrls', () => {
    const run = () => findingsFromObservations(inputs(answerObservation('88122-7', 'LA28397-0'), answerObservation('88123-5', 'LA6729-3')), terminology);
    expect(run()).toEqual(run());
  });
});
