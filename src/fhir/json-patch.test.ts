import { describe, expect, it } from 'vitest';
import { FhirError } from './errors.ts';
import { applyJsonPatch, parsePatchDocument, type PatchOperation } from './json-patch.ts';

/** The FhirError thrown by `run`, or fails the test when nothing is thrown. */
function errorOf(run: () => unknown): FhirError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FhirError);
    return error as FhirError;
  }
  throw new Error('expected a FhirError');
}

const doc = () => ({
  resourceType: 'Patient',
  id: 'p1',
  name: [{ family: 'Rivera', given: ['Ana', 'Maria'] }],
  address: [{ city: 'Lima' }],
  active: true,
});

describe('applyJsonPatch: add', () => {
  it('adds a member to an object and replaces an existing one', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'add', path: '/gender', value: 'female' },
      { op: 'add', path: '/active', value: false },
    ]);
    expect(result).toMatchObject({ gender: 'female', active: false });
  });

  it('inserts into an array at an index, shifting later elements', () => {
    const result = applyJsonPatch(doc(), [{ op: 'add', path: '/name/0/given/1', value: 'Luz' }]);
    expect(result.name[0].given).toEqual(['Ana', 'Luz', 'Maria']);
  });

  it("appends with '-' and allows the index equal to the length", () => {
    const result = applyJsonPatch(doc(), [
      { op: 'add', path: '/name/0/given/-', value: 'Sofia' },
      { op: 'add', path: '/name/0/given/3', value: 'Paz' },
    ]);
    expect(result.name[0].given).toEqual(['Ana', 'Maria', 'Sofia', 'Paz']);
  });

  it('replaces the whole document with the empty path', () => {
    expect(applyJsonPatch(doc(), [{ op: 'add', path: '', value: { resourceType: 'Basic' } }])).toEqual({ resourceType: 'Basic' });
  });

  it('fails with 422 for an index past the end and for a missing parent', () => {
    const past = errorOf(() => applyJsonPatch(doc(), [{ op: 'add', path: '/name/0/given/3', value: 'x' }]));
    expect(past.status).toBe(422);
    expect(past.outcome.issue[0].expression).toEqual(['Patch[0]']);
    const negative = errorOf(() => applyJsonPatch(doc(), [{ op: 'add', path: '/name/-1', value: {} }]));
    expect(negative.status).toBe(422);
    const leadingZero = errorOf(() => applyJsonPatch(doc(), [{ op: 'add', path: '/name/0/given/01', value: 'x' }]));
    expect(leadingZero.status).toBe(422);
    const parent = errorOf(() =>
      applyJsonPatch(doc(), [
        { op: 'test', path: '/active', value: true },
        { op: 'add', path: '/telecom/0/value', value: 'x' },
      ]),
    );
    expect(parent.status).toBe(422);
    expect(parent.outcome.issue[0].expression).toEqual(['Patch[1]']);
  });

  it('does not share the added value with the patch document', () => {
    const value = { city: 'Cusco' };
    const result = applyJsonPatch(doc(), [{ op: 'add', path: '/address/-', value }]);
    value.city = 'changed';
    expect(result.address[1]).toEqual({ city: 'Cusco' });
  });
});

describe('applyJsonPatch: remove and replace', () => {
  it('removes an object member and an array element', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'remove', path: '/active' },
      { op: 'remove', path: '/name/0/given/0' },
    ]) as Partial<ReturnType<typeof doc>>;
    expect('active' in result).toBe(false);
    expect(result.name?.[0].given).toEqual(['Maria']);
  });

  it('fails with 422 when the target does not exist', () => {
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'remove', path: '/gender' }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'remove', path: '/name/1' }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'remove', path: '/name/-' }])).status).toBe(422);
  });

  it('replaces a member and an array element in place', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'replace', path: '/name/0/family', value: 'Quispe' },
      { op: 'replace', path: '/name/0/given/0', value: 'Rosa' },
    ]);
    expect(result.name[0]).toEqual({ family: 'Quispe', given: ['Rosa', 'Maria'] });
  });

  it('replaces the whole document with the empty path (the root always exists)', () => {
    expect(applyJsonPatch(doc(), [{ op: 'replace', path: '', value: { resourceType: 'Basic' } }])).toEqual({ resourceType: 'Basic' });
  });

  it('fails with 422 when replacing something that does not exist', () => {
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'replace', path: '/gender', value: 'male' }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'replace', path: '/name/0/given/2', value: 'x' }])).status).toBe(422);
  });
});

describe('applyJsonPatch: move and copy', () => {
  it('moves a value, removing it from its old place', () => {
    const result = applyJsonPatch(doc(), [{ op: 'move', from: '/address/0/city', path: '/address/0/district' }]);
    expect(result.address[0]).toEqual({ district: 'Lima' });
  });

  it('moves an array element to another index (remove, then add)', () => {
    const result = applyJsonPatch({ list: ['a', 'b', 'c', 'd'] }, [{ op: 'move', from: '/list/0', path: '/list/3' }]);
    expect(result.list).toEqual(['b', 'c', 'd', 'a']);
  });

  it('copies a value, keeping the original, as an independent copy', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'copy', from: '/name/0', path: '/name/-' },
      { op: 'replace', path: '/name/1/family', value: 'Copy' },
    ]);
    expect(result.name.map((n) => n.family)).toEqual(['Rivera', 'Copy']);
    expect(result.name[1].given).toEqual(['Ana', 'Maria']);
  });

  it('fails with 422 when from does not exist', () => {
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'move', from: '/gender', path: '/x' }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'copy', from: '/name/5', path: '/x' }])).status).toBe(422);
  });
});

describe('applyJsonPatch: test', () => {
  it('passes on deep equality regardless of member order', () => {
    const result = applyJsonPatch(doc(), [
      { op: 'test', path: '/name/0', value: { given: ['Ana', 'Maria'], family: 'Rivera' } },
      { op: 'test', path: '/active', value: true },
      { op: 'replace', path: '/active', value: false },
    ]);
    expect(result.active).toBe(false);
  });

  it('fails with 422 naming the operation when values differ or the path is missing', () => {
    const differs = errorOf(() =>
      applyJsonPatch(doc(), [
        { op: 'replace', path: '/active', value: false },
        { op: 'test', path: '/name/0/given', value: ['Maria', 'Ana'] },
      ]),
    );
    expect(differs.status).toBe(422);
    expect(differs.outcome.issue[0].expression).toEqual(['Patch[1]']);
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'test', path: '/active', value: 'true' }])).status).toBe(422);
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'test', path: '/gender', value: null }])).status).toBe(422);
  });
});

describe('applyJsonPatch: pointers and atomicity', () => {
  it('unescapes ~1 to / and ~0 to ~, in that order', () => {
    const source = { 'a/b': 1, 'c~d': 2, '~1': 3 };
    const result = applyJsonPatch(source, [
      { op: 'replace', path: '/a~1b', value: 10 },
      { op: 'replace', path: '/c~0d', value: 20 },
      { op: 'replace', path: '/~01', value: 30 },
    ]);
    expect(result).toEqual({ 'a/b': 10, 'c~d': 20, '~1': 30 });
  });

  it('rejects a pointer that does not start with /', () => {
    expect(errorOf(() => applyJsonPatch(doc(), [{ op: 'add', path: 'gender', value: 'male' }])).status).toBe(422);
  });

  it('leaves the original untouched, even when a later operation fails', () => {
    const original = doc();
    const snapshot = structuredClone(original);
    applyJsonPatch(original, [{ op: 'remove', path: '/name' }]);
    expect(() =>
      applyJsonPatch(original, [
        { op: 'replace', path: '/active', value: false },
        { op: 'test', path: '/active', value: true },
      ]),
    ).toThrow(FhirError);
    expect(original).toEqual(snapshot);
  });
});

describe('parsePatchDocument', () => {
  it('accepts a valid document and returns its operations', () => {
    const ops: PatchOperation[] = [
      { op: 'add', path: '/a', value: 1 },
      { op: 'move', from: '/a', path: '/b' },
    ];
    expect(parsePatchDocument(ops)).toEqual(ops);
  });

  it('rejects documents that are not arrays of well-formed operations with 400', () => {
    const bad: unknown[] = [
      { op: 'add', path: '/a', value: 1 },
      [{ op: 'frobnicate', path: '/a' }],
      [{ op: 'add', value: 1 }],
      [{ op: 'add', path: '/a' }],
      [{ op: 'replace', path: '/a' }],
      [{ op: 'test', path: '/a' }],
      [{ op: 'move', path: '/a' }],
      [{ op: 'copy', path: '/a', from: 3 }],
      [null],
    ];
    for (const body of bad) {
      const error = errorOf(() => parsePatchDocument(body));
      expect(error.status, JSON.stringify(body)).toBe(400);
    }
    expect(errorOf(() => parsePatchDocument([{ op: 'add', path: '/a', value: 1 }, { op: 'add', path: '/b' }])).outcome.issue[0].expression).toEqual([
      'Patch[1].value',
    ]);
  });

  it('accepts null as an add value (value present)', () => {
    expect(() => parsePatchDocument([{ op: 'add', path: '/a', value: null }])).not.toThrow();
  });
});
