import { describe, expect, it } from 'vitest';
import { FhirError } from '../fhir/errors.ts';
import { SchemaValidator } from './schema-validator.ts';

const validator = new SchemaValidator();

function problems(resource: unknown): string[] {
  try {
    validator.validate(resource);
    return [];
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    expect(error.status).toBe(400);
    return error.outcome.issue.map((issue) => `${issue.expression?.[0]}: ${issue.diagnostics}`);
  }
}

describe('SchemaValidator', () => {
  it('accepts valid resources, including primitive extensions the published schema forgot', () => {
    expect(problems({ resourceType: 'Patient', name: [{ given: ['A', 'B'] }], _birthDate: { extension: [{ url: 'http://x', valueString: 'y' }] }, birthDate: '1990' })).toEqual([]);
    expect(problems({ resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://q', _questionnaire: { extension: [{ url: 'http://x', valueString: 'y' }] } })).toEqual([]);
    expect(problems({ resourceType: 'Patient', name: [{ given: ['A', 'B'], _given: [null, { extension: [{ url: 'http://x', valueBoolean: true }] }] }] })).toEqual([]);
  });

  it('rejects unknown elements, wrong types and bad primitives with their FHIRPath', () => {
    expect(problems({ resourceType: 'Patient', foo: 1 })).toEqual(["Patient.foo: Unknown element 'foo'"]);
    expect(problems({ resourceType: 'Patient', name: [{ family: 7 }] })).toEqual(['Patient.name[0].family: Wrong type: expected string']);
    expect(problems({ resourceType: 'Patient', birthDate: '2020-13-01' })).toEqual(['Patient.birthDate: Invalid date value']);
    expect(problems({ resourceType: 'Observation', code: { text: 'x' } })).toEqual(["Observation.status: Missing required element 'status'"]);
  });

  it('rejects Medplum-only elements and types that are not R4', () => {
    expect(problems({ resourceType: 'Patient', meta: { project: 'p' } })).toEqual(["Patient.meta.project: Unknown element 'project'"]);
    expect(problems({ resourceType: 'Project', name: 'x' })[0]).toContain('resourceType');
  });

  it('validates nested resources by their own type, with absolute paths', () => {
    const contained = { resourceType: 'Patient', contained: [{ resourceType: 'Practitioner', id: 'p1', name: [{ family: 1 }] }] };
    expect(problems(contained)).toEqual(['Patient.contained[0].name[0].family: Wrong type: expected string']);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }, { resource: { resourceType: 'Patient', bogus: true } }] };
    expect(problems(bundle)).toEqual(["Bundle.entry[1].resource.bogus: Unknown element 'bogus'"]);
  });
});

describe('R4 cardinality', () => {
  it('requires min-1 elements, including required choices, at any depth', () => {
    expect(problems({ resourceType: 'Task', status: 'requested' })).toEqual(["Task.intent: Missing required element 'intent'"]);
    expect(problems({ resourceType: 'Task', status: 'requested', intent: 'order', input: [{ type: { text: 't' } }] })).toEqual([
      "Task.input[0].value: Missing required element 'value[x]'",
    ]);
    expect(problems({ resourceType: 'Task', status: 'requested', intent: 'order', input: [{ type: { text: 't' }, valueString: 'v' }] })).toEqual([]);
  });
});

describe('R4 JSON rules the published schema does not state', () => {
  it('rejects empty arrays and objects, non-objects where a complex type belongs, and impossible dates', () => {
    expect(problems({ resourceType: 'Patient', identifier: [] })).toEqual(['Patient.identifier: Arrays must not be empty']);
    expect(problems({ resourceType: 'Patient', name: [{}] })).toEqual(['Patient.name[0]: Objects must not be empty']);
    expect(problems({ resourceType: 'Patient', maritalStatus: 'married' })).toEqual(['Patient.maritalStatus: Wrong type: expected object']);
    expect(problems({ resourceType: 'Patient', birthDate: '1980-02-30' })).toEqual(['Patient.birthDate: Invalid date value']);
    expect(problems({ resourceType: 'Patient', birthDate: '1981-02-29' })).toEqual(['Patient.birthDate: Invalid date value']);
    expect(problems({ resourceType: 'Patient', birthDate: '1984-02-29' })).toEqual([]);
  });
});
