// What a QuestionnaireResponse must be, how its items are linked to questions, which instrument it is, and the
// stable identities of what it yields.
import { describe, expect, it } from 'vitest';
import { identifierCriteria, placeholderFor } from '../../src/sdoh/finding-identifiers.ts';
import { findingsFromQuestionnaireResponse } from '../../src/sdoh/screening-findings.ts';
import { ScreeningInputError } from '../../src/sdoh/screening-issue.ts';
import {
  conditions,
  FINDING,
  hvs,
  issuesWith,
  LOINC,
  questionnaireResponse,
  responses,
  terminology,
  type QrOptions,
} from './screening-fixtures.ts';

const extract = (response: ReturnType<typeof hvs>, instrument?: string) => findingsFromQuestionnaireResponse(response, terminology, { instrument });

function refusal(run: () => unknown): ScreeningInputError {
  try {
    run();
  } catch (error) {
    if (error instanceof ScreeningInputError) return error;
    throw error;
  }
  throw new Error('expected a ScreeningInputError');
}

describe('QuestionnaireResponse requirements', () => {
  it.each<[string, QrOptions, string]>([
    ['in progress', { status: 'in-progress' }, 'QuestionnaireResponse.status'],
    ['without subject', { subject: null }, 'QuestionnaireResponse.subject'],
    ['about a Group', { subject: 'Group/g1' }, 'QuestionnaireResponse.subject'],
    ['without authored', { authored: null }, 'QuestionnaireResponse.authored'],
  ])('%s is refused with the element', (_label, options, expression) => {
    expect(refusal(() => extract(hvs([['88122-7', 'LA28397-0']], options))).expression).toBe(expression);
  });

  it('amended is accepted', () => {
    expect(conditions(extract(hvs([['88122-7', 'LA28397-0']], { status: 'amended' })))).toHaveLength(1);
  });
});

describe('instrument detection', () => {
  it('an unknown Questionnaire with no known question is refused with the questionnaire element', () => {
    const error = refusal(() => extract(questionnaireResponse([['8302-2', 'LA33-6']], { questionnaire: 'http://example.org/Questionnaire/other' })));
    expect(error.message).toMatch(/is not a screening instrument the hub maps/);
    expect(error.expression).toBe('QuestionnaireResponse.questionnaire');
  });

  it('an unknown instrument named by the caller is refused with the parameter', () => {
    const error = refusal(() =>
      findingsFromQuestionnaireResponse(hvs([['88122-7', 'LA28397-0']]), terminology, { instrument: 'we-care', instrumentExpression: 'Parameters.parameter[instrument]' }),
    );
    expect(error.message).toMatch(/^Unknown screening instrument 'we-care'/);
    expect(error.expression).toBe('Parameters.parameter[instrument]');
  });

  it('questions of two instruments without a name are refused', () => {
    const error = refusal(() => extract(questionnaireResponse([['88124-3', 'LA19952-3'], ['96779-4', 'LA33-6']])));
    expect(error.message).toMatch(/do not all belong to one instrument/);
  });

  it('without a Questionnaire, the food questions alone are the Hunger Vital Sign', () => {
    expect(extract(questionnaireResponse([['88122-7', 'LA28397-0'], ['88123-5', 'LA28398-8']])).instrument.id).toBe('hunger-vital-sign');
  });

  it('a Questionnaire canonical naming the panel code identifies it', () => {
    expect(extract(questionnaireResponse([['88122-7', 'LA28397-0']], { questionnaire: 'http://loinc.org/q/96777-8|2.76' })).instrument.id).toBe('ahc-hrsn');
  });

  it('a panel group item identifies it', () => {
    const response = questionnaireResponse([{ linkId: '/93025-5', item: [{ linkId: '/93025-5/71802-3', answer: [{ valueCoding: { system: LOINC, code: 'LA30190-5' } }] }] }]);
    expect(extract(response).instrument.id).toBe('prapare');
  });

  it('the caller may name it (id, panel code or Questionnaire URL)', () => {
    const response = questionnaireResponse([['88122-7', 'LA28397-0']]);
    expect(extract(response, 'ahc-hrsn').instrument.id).toBe('ahc-hrsn');
    expect(extract(response, '96777-8').instrument.id).toBe('ahc-hrsn');
  });
});

describe('linking items to questions', () => {
  it('by linkId path, bare linkId, definition or an item code', () => {
    const answer = (code: string) => [{ valueCoding: { system: LOINC, code } }];
    const response = questionnaireResponse(
      [
        { linkId: '/93042-0/71802-3', answer: answer('LA30190-5') },
        { linkId: '93033-9', answer: answer('LA33-6') },
        { linkId: 'q3', definition: 'http://loinc.org#67875-5', answer: answer('LA17956-6') },
        { linkId: 'q4', code: [{ system: LOINC, code: '93030-5' }], answer: answer('LA30133-5') } as never,
        { linkId: 'q5', answer: answer('LA33-6') },
      ],
      { questionnaire: 'http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnairePRAPARE' },
    );
    const findings = extract(response);
    expect(responses(findings).map((o) => o.code.coding?.[0].code)).toEqual(['71802-3', '93033-9', '67875-5', '93030-5', '93025-5']);
    expect(issuesWith(findings, 'not-supported')[0].diagnostics).toBe("Item 'q5' names no LOINC question (linkId, definition or code): ignored");
  });

  it('answers of an unsupported type are reported', () => {
    const response = hvs([['88122-7', { valueReference: { reference: 'Patient/p' } }]]);
    expect(issuesWith(extract(response), 'not-supported')[0].diagnostics).toBe('Answer to 88122-7 has an unsupported valueReference: ignored');
  });
});

describe('stable identities', () => {
  it('the same screening gives the same resources, identifiers and fullUrls', () => {
    const response = hvs([['88122-7', 'LA28397-0'], ['88123-5', 'LA6729-3'], ['88124-3', 'LA19952-3']]);
    const first = extract(response);
    expect(extract(structuredClone(response))).toEqual(first);
    expect(first.entries.map((e) => e.identifier.value)).toEqual([
      expect.stringMatching(/^[0-9a-f]{16}\.88122-7\.LA28397-0$/),
      expect.stringMatching(/^[0-9a-f]{16}\.88123-5\.LA6729-3$/),
      expect.stringMatching(/^[0-9a-f]{16}\.88124-3\.LA19952-3$/),
      expect.stringMatching(/^[0-9a-f]{16}\.88121-9$/),
      expect.stringMatching(/^[0-9a-f]{16}\.food-insecurity\.733423003_Z59\.41$/),
    ]);
    for (const entry of first.entries) {
      expect(entry.identifier.system).toBe(FINDING);
      expect(entry.fullUrl).toBe(placeholderFor(entry.identifier));
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('identifiers differ between screenings, and between answers of one question', () => {
    const a = extract(hvs([['88122-7', 'LA28397-0']], { id: 'one' }));
    const b = extract(hvs([['88122-7', 'LA28397-0']], { id: 'two' }));
    const c = extract(hvs([['88122-7', 'LA6729-3']], { id: 'one' }));
    const ids = [a, b, c].map((f) => f.entries[0].identifier.value);
    expect(new Set(ids).size).toBe(3);
  });

  it('a stored QuestionnaireResponse is referenced by id and not repeated', () => {
    const findings = extract(hvs([['88122-7', 'LA28397-0']], { id: 'qr-9' }));
    expect(findings.entries.some((e) => e.resource.resourceType === 'QuestionnaireResponse')).toBe(false);
    expect(responses(findings)[0].derivedFrom).toEqual([{ reference: 'QuestionnaireResponse/qr-9' }]);
  });

  it('a QuestionnaireResponse without id comes first, with an identifier from its content, and the responses derive from it', () => {
    const response = hvs([['88122-7', 'LA28397-0']], { id: '' });
    const findings = extract(response);
    const [qr] = findings.entries;
    expect(qr.resource.resourceType).toBe('QuestionnaireResponse');
    expect(qr.identifier).toEqual({ system: FINDING, value: expect.stringMatching(/^qr-[0-9a-f]{32}$/) });
    expect((qr.resource as typeof response).identifier).toEqual(qr.identifier);
    expect(responses(findings)[0].derivedFrom).toEqual([{ reference: qr.fullUrl }]);
    // Key order does not change the content identifier.
    const reordered = Object.fromEntries(Object.entries(response).reverse()) as typeof response;
    expect(extract(reordered).entries[0].identifier).toEqual(qr.identifier);
  });

  it('its own identifier is kept and keys the findings, so stored later under an id it maps the same', () => {
    const identifier = { system: 'http://clinic.example.org/qr', value: 'A|1,2' };
    const inline = extract(hvs([['88122-7', 'LA28397-0']], { id: '', identifier }));
    const stored = extract(hvs([['88122-7', 'LA28397-0']], { id: 'qr-77', identifier }));
    expect(inline.entries[0].identifier).toEqual(identifier);
    expect(inline.entries.slice(1).map((e) => e.identifier)).toEqual(stored.entries.map((e) => e.identifier));
    expect(identifierCriteria(identifier)).toBe('identifier=http%3A%2F%2Fclinic.example.org%2Fqr|A%5C%7C1%5C%2C2');
  });
});
