import type { DiagnosticReport, Observation, ObservationComponent, Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { SUBSETTED, selectElements, summarize } from './subset-resource.ts';

/** Freezes a value all the way down, so any write to the input throws (ES modules are strict). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function tags(resource: Resource) {
  return resource.meta?.tag ?? [];
}

function subsettedCount(resource: Resource): number {
  return tags(resource).filter((tag) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code).length;
}

function patient(): Patient {
  return {
    resourceType: 'Patient',
    id: 'p1',
    meta: { versionId: '3', lastUpdated: '2024-01-02T03:04:05Z', tag: [{ system: 'urn:example', code: 'keep' }] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ann Smith</div>' },
    extension: [{ url: 'http://example.org/ethnicity', valueString: 'x' }],
    identifier: [{ system: 'urn:mrn', value: '123' }],
    active: true,
    name: [{ family: 'Smith', given: ['Ann'], extension: [{ url: 'http://example.org/n', valueBoolean: true }] }],
    gender: 'female',
    birthDate: '1980-05-06',
    _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1980-05-06T07:08:00Z' }] },
    deceasedBoolean: false,
    multipleBirthInteger: 2,
    maritalStatus: { text: 'married' },
    photo: [{ contentType: 'image/png', data: 'iVBORw0KGgo=' }],
    contact: [{ name: { family: 'Smith' }, telecom: [{ system: 'phone', value: '555' }] }],
    link: [{ other: { reference: 'Patient/p2' }, type: 'seealso', extension: [{ url: 'http://example.org/l', valueString: 'dropped' }] }],
  };
}

function observation(): Observation {
  return {
    resourceType: 'Observation',
    id: 'o1',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">BP</div>' },
    status: 'final',
    category: [{ text: 'vital-signs' }],
    code: { text: 'Blood pressure' },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-01-02',
    _effectiveDateTime: { id: 'eff' },
    interpretation: [{ text: 'high' }],
    note: [{ text: 'after exercise' }],
    referenceRange: [{ text: 'normal' }],
    component: [
      {
        extension: [{ url: 'http://example.org/c', valueString: 'dropped' }],
        modifierExtension: [{ url: 'http://example.org/m', valueString: 'kept' }],
        code: { text: 'systolic' },
        valueQuantity: { value: 140, unit: 'mm[Hg]' },
        interpretation: [{ text: 'high' }],
        referenceRange: [{ text: '<120' }],
      },
      { code: { text: 'note' }, valueString: 'ok', _valueString: { id: 'v' }, dataAbsentReason: { text: 'n/a' } },
      // Nothing summary left in it: dropped rather than returned as an (invalid) empty object.
      // (Invalid input too, code is mandatory: hence the cast.)
      { interpretation: [{ text: 'orphan' }] } as ObservationComponent,
    ],
  };
}

describe('summarize(_summary=true)', () => {
  it('keeps the summary elements of a Patient and drops the rest', () => {
    const input = deepFreeze(patient());
    const result = summarize(input, 'true') as Patient;
    expect(Object.keys(result).sort()).toEqual(
      ['_birthDate', 'active', 'birthDate', 'deceasedBoolean', 'gender', 'id', 'identifier', 'link', 'meta', 'name', 'resourceType'].sort(),
    );
    // Datatype values are kept whole, extension included (see pickSummary).
    expect(result.name).toEqual(input.name);
    expect(result._birthDate).toEqual(input._birthDate);
    // Patient.link is a backbone element: summarized in turn (its extension is not summary).
    expect(result.link).toEqual([{ other: { reference: 'Patient/p2' }, type: 'seealso' }]);
    expect(result.meta?.tag).toEqual([{ system: 'urn:example', code: 'keep' }, SUBSETTED]);
    expect(result.meta?.versionId).toBe('3');
  });

  it('summarizes Observation.component: code, value[x] and modifierExtension', () => {
    const input = deepFreeze(observation());
    const result = summarize(input, 'true') as Observation;
    expect(Object.keys(result).sort()).toEqual(
      ['_effectiveDateTime', 'code', 'component', 'effectiveDateTime', 'id', 'meta', 'resourceType', 'status', 'subject'].sort(),
    );
    expect(result.component).toEqual([
      {
        modifierExtension: [{ url: 'http://example.org/m', valueString: 'kept' }],
        code: { text: 'systolic' },
        valueQuantity: { value: 140, unit: 'mm[Hg]' },
      },
      { code: { text: 'note' }, valueString: 'ok', _valueString: { id: 'v' } },
    ]);
    expect(subsettedCount(result)).toBe(1);
  });

  it('does not mistake a plain element for a choice: SubstanceAmount-style amountType vs amount[x]', () => {
    const input = deepFreeze({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      valueQuantity: { value: 1 },
      valueSomething: 'not a type',
    } as Observation);
    const result = summarize(input, 'true') as unknown as Record<string, unknown>;
    expect(result.valueQuantity).toEqual({ value: 1 });
    expect(result).not.toHaveProperty('valueSomething');
  });

  it('adds no tag when nothing was removed, and still returns a copy', () => {
    const input = deepFreeze({ resourceType: 'Patient', id: 'p', name: [{ family: 'Smith' }], birthDate: '1980' } as Patient);
    const result = summarize(input, 'true');
    expect(result).toEqual(input);
    expect(result).not.toBe(input);
    expect((result as Patient).name).not.toBe(input.name);
  });
});

describe('summarize(_summary=text)', () => {
  it('keeps text, id, meta and the top-level mandatory elements', () => {
    const result = summarize(deepFreeze(observation()), 'text') as Observation;
    expect(Object.keys(result).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'text']);
    expect(subsettedCount(result)).toBe(1);
  });

  it('keeps only text, id and meta of a Patient (nothing in Patient is mandatory)', () => {
    const input = deepFreeze(patient());
    const result = summarize(input, 'text');
    expect(Object.keys(result).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
    expect(result.meta?.versionId).toBe('3');
  });
});

describe('summarize(_summary=data)', () => {
  it('drops only text', () => {
    const input = deepFreeze(patient());
    const result = summarize(input, 'data');
    const { text: _text, meta, ...rest } = input;
    const { meta: resultMeta, ...resultRest } = result as Patient;
    expect(resultRest).toEqual(rest);
    expect(resultMeta).toEqual({ ...meta, tag: [...(meta?.tag ?? []), SUBSETTED] });
  });

  it('tags even a resource without text, and without meta', () => {
    const result = summarize(deepFreeze({ resourceType: 'Patient', active: true } as Patient), 'data');
    expect(result).toEqual({ resourceType: 'Patient', active: true, meta: { tag: [SUBSETTED] } });
  });
});

describe('selectElements (_elements)', () => {
  it('keeps the listed elements with their _element siblings, plus resourceType, id and meta', () => {
    const input = deepFreeze(patient());
    const result = selectElements(input, ['name', 'birthDate']) as Patient;
    expect(Object.keys(result).sort()).toEqual(['_birthDate', 'birthDate', 'id', 'meta', 'name', 'resourceType']);
    expect(result.name).toEqual(input.name);
    expect(subsettedCount(result)).toBe(1);
  });

  it('adds the mandatory elements and reads `value` and `value[x]` as the choice', () => {
    const input = deepFreeze({ ...observation(), valueQuantity: { value: 7 }, _valueQuantity: { id: 'q' } } as Observation);
    for (const name of ['value', 'value[x]', ' value ']) {
      const result = selectElements(input, [name]);
      expect(Object.keys(result).sort()).toEqual(['_valueQuantity', 'code', 'id', 'meta', 'resourceType', 'status', 'valueQuantity']);
    }
  });

  it('widens a name to its choice only when it is one: DiagnosticReport has conclusion and conclusionCode', () => {
    const input = deepFreeze({
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'panel' },
      conclusion: 'fine',
      conclusionCode: [{ text: 'normal' }],
    } as DiagnosticReport);
    expect(Object.keys(selectElements(input, ['conclusion'])).sort()).toEqual(['code', 'conclusion', 'meta', 'resourceType', 'status']);
  });

  it('ignores unknown names and paths below the top level', () => {
    const result = selectElements(deepFreeze(patient()), ['nonsense', 'name.family', '', 'gender']);
    expect(Object.keys(result).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
  });

  it('adds no tag when everything was asked for', () => {
    const input = deepFreeze({ resourceType: 'Patient', id: 'p', gender: 'male' } as Patient);
    expect(selectElements(input, ['gender'])).toEqual(input);
  });
});

describe('SUBSETTED tag and input', () => {
  it('is added once, even if the input already carries it', () => {
    const input = deepFreeze({ ...patient(), meta: { tag: [SUBSETTED, { system: 'urn:example', code: 'keep' }] } } as Patient);
    for (const result of [summarize(input, 'true'), summarize(input, 'text'), summarize(input, 'data'), selectElements(input, ['name'])]) {
      expect(subsettedCount(result)).toBe(1);
      expect(tags(result)).toHaveLength(2);
    }
  });

  it('never changes the input', () => {
    const input = patient();
    const before = structuredClone(input);
    const results = [summarize(input, 'true'), summarize(input, 'text'), summarize(input, 'data'), selectElements(input, ['name'])];
    expect(input).toEqual(before);
    for (const result of results) {
      expect(result.meta).not.toBe(input.meta);
      result.meta?.tag?.push({ code: 'later' });
    }
    expect(input).toEqual(before);
  });
});
