// Pieces of the compiler worth pinning on their own: splitting invariants at a top-level `implies`
// (evaluated lazily, with the same verdict), the element walk with indexed FHIRPaths, and patterns.
import { describe, expect, it } from 'vitest';
import { splitImplies } from '../../src/validation/profile-compiler.ts';
import { selectNodes } from '../../src/validation/profile-element-path.ts';
import { matchesPattern } from '../../src/validation/profile-pattern.ts';

describe('splitImplies', () => {
  it('splits at the one top-level implies', () => {
    expect(splitImplies("code = 'a' implies description.exists()")).toEqual(["code = 'a'", 'description.exists()']);
  });

  it('ignores implies inside parentheses and strings, and expressions with none or several', () => {
    expect(splitImplies("(a implies b) and c")).toBeUndefined();
    expect(splitImplies("text = 'x implies y'")).toBeUndefined();
    expect(splitImplies('a implies b implies c')).toBeUndefined();
    expect(splitImplies("a.where(x = 'implies') implies (b implies c)")).toEqual(["a.where(x = 'implies')", '(b implies c)']);
  });
});

describe('selectNodes', () => {
  const task = {
    resourceType: 'Task',
    input: [{ type: { text: 'a' }, valueString: 'x' }, { type: { text: 'b' }, valueReference: { reference: 'Patient/1' } }],
    _description: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] },
  };
  const root = [{ value: task, path: 'Task' }];

  it('names each value with its indexed FHIRPath and its choice type', () => {
    expect(selectNodes(root, 'input.value[x]').map((n) => [n.path, n.choiceType])).toEqual([
      ['Task.input[0].valueString', 'string'],
      ['Task.input[1].valueReference', 'Reference'],
    ]);
    expect(selectNodes(root, 'input.type.text').map((n) => n.path)).toEqual(['Task.input[0].type.text', 'Task.input[1].type.text']);
  });

  it('counts a primitive carried only by extensions as present', () => {
    expect(selectNodes(root, 'description')).toEqual([expect.objectContaining({ path: 'Task.description', extensionOnly: true })]);
  });
});

describe('matchesPattern', () => {
  it('matches when every pattern property is present, and every pattern array item matches some item', () => {
    const category = { coding: [{ system: 's', code: 'a', display: 'A' }, { system: 't', code: 'b' }] };
    expect(matchesPattern(category, { coding: [{ system: 't', code: 'b' }] })).toBe(true);
    expect(matchesPattern(category, { coding: [{ system: 's' }, { system: 't' }] })).toBe(true);
    expect(matchesPattern(category, { coding: [{ system: 's', code: 'b' }] })).toBe(false);
    expect(matchesPattern({ valueReference: { reference: 'x' } }, { valueReference: {} })).toBe(true);
    expect(matchesPattern({ valueString: 'x' }, { valueReference: {} })).toBe(false);
  });
});
