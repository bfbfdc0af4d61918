// The files in terminology/: every one listed in index.json loads, carries its source and licence notes, and
// agrees with the others (value set and concept map codes exist where the code system is shipped).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CodeSystem, ConceptMap, ValueSet } from 'fhir/r4';
import { DEFAULT_TERMINOLOGY_DIR, loadTerminology } from '../../src/terminology/load-terminology.ts';
import { TerminologyLoadError } from '../../src/terminology/terminology-errors.ts';

const data = loadTerminology();
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const CPT = 'http://www.ama-assn.org/go/cpt';

describe('terminology files', () => {
  it('loads every file listed in index.json, and index.json lists every JSON file of the folder', () => {
    const onDisk = fs.readdirSync(DEFAULT_TERMINOLOGY_DIR).filter((f) => f.endsWith('.json') && f !== 'index.json').sort();
    expect(data.index.map((e) => e.file).sort()).toEqual(onDisk);
    const loaded = data.codeSystems.size + data.valueSets.size + data.conceptMaps.size + 1; // + the VSAC catalogue
    expect(loaded).toBe(data.index.length);
    expect(data.codeSystems.size).toBe(9);
    expect(data.valueSets.size).toBe(15);
    expect(data.conceptMaps.size).toBe(4);
  });

  it('gives every resource a url, version, date, publisher and licence notes', () => {
    for (const entry of data.index.filter((e) => e.resourceType !== 'Bundle')) {
      const resource = JSON.parse(fs.readFileSync(path.join(DEFAULT_TERMINOLOGY_DIR, entry.file), 'utf8'));
      expect(resource.url, entry.file).toBe(entry.url);
      expect(resource.version, entry.file).toBe(entry.version);
      expect(resource.date, entry.file).toMatch(/^\d{4}-\d{2}-\d{2}/);
      expect(resource.publisher, entry.file).toBeTruthy();
      expect(resource.copyright, entry.file).toBeTruthy();
      expect(resource.description, entry.file).toBeTruthy();
    }
  });

  it('attributes LOINC, SNOMED CT and CPT content with their licence notices', () => {
    const resources = data.index.filter((e) => e.resourceType !== 'Bundle').map((e) => JSON.parse(fs.readFileSync(path.join(DEFAULT_TERMINOLOGY_DIR, e.file), 'utf8')));
    for (const resource of resources) {
      const text = JSON.stringify(resource.compose ?? resource.group ?? resource.concept ?? {});
      const systems = new Set([resource.url, ...[...text.matchAll(/"(?:system|source|target)":\s*"([^"]+)"/g)].map((m) => m[1])]);
      if (systems.has(LOINC)) expect(resource.copyright, resource.url).toContain('This material contains content from LOINC (http://loinc.org)');
      if (systems.has(SNOMED)) expect(resource.copyright, resource.url).toContain('SNOMED Clinical Terms');
      if (systems.has(CPT)) expect(resource.copyright, resource.url).toContain('American Medical Association');
    }
  });

  it('ships CPT codes with the hub\'s own short labels, not AMA descriptors', () => {
    const cpt = data.codeSystems.get(CPT)!;
    expect([...cpt.concepts.keys()]).toEqual(['96160', '96161', '96156', '97802', '97803', '97804']);
    for (const concept of cpt.concepts.values()) expect(concept.display!.length).toBeLessThanOrEqual(90);
    expect(cpt.concepts.get('96160')!.display).toBe('Patient-focused health risk assessment instrument, administration and scoring');
  });

  it('finds every code of every shipped value set in its code system, where that code system is shipped', () => {
    let checked = 0;
    for (const { resource } of data.valueSets.values()) {
      for (const include of [...(resource.compose?.include ?? []), ...(resource.compose?.exclude ?? [])]) {
        const codeSystem = include.system ? data.codeSystems.get(include.system) : undefined;
        if (!codeSystem) continue;
        for (const concept of include.concept ?? []) {
          const known = codeSystem.concepts.get(concept.code);
          expect(known, `${resource.url}: ${include.system}#${concept.code}`).toBeDefined();
          if (concept.display) expect(concept.display).toBe(known!.display);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('finds every source, target and dependsOn code of every concept map, where the code system is shipped', () => {
    let checked = 0;
    for (const { resource } of data.conceptMaps.values()) {
      for (const group of resource.group ?? []) {
        const source = data.codeSystems.get(group.source!);
        const target = data.codeSystems.get(group.target!);
        expect(source, `${resource.url} source ${group.source}`).toBeDefined();
        expect(target, `${resource.url} target ${group.target}`).toBeDefined();
        for (const element of group.element) {
          expect(source!.concepts.has(element.code!), `${resource.url}: ${element.code}`).toBe(true);
          for (const mapped of element.target ?? []) {
            if (mapped.equivalence === 'unmatched') continue;
            expect(target!.concepts.get(mapped.code!)?.display, `${resource.url}: ${element.code} -> ${mapped.code}`).toBe(mapped.display);
            for (const dependsOn of mapped.dependsOn ?? []) expect(data.codeSystems.get(dependsOn.system!)!.concepts.has(dependsOn.value)).toBe(true);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('has the 24 SDOH domains of SDOHCC 3.0.0 in the category value set', () => {
    const vs = data.valueSets.get('http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetSDOHCategory')!.resource;
    expect(vs.compose!.include[0].concept!.map((c) => c.code)).toEqual([
      'sdoh-category-unspecified', 'food-insecurity', 'housing-instability', 'homelessness', 'inadequate-housing',
      'transportation-insecurity', 'financial-insecurity', 'material-hardship', 'educational-attainment',
      'employment-status', 'veteran-status', 'stress', 'social-connection', 'intimate-partner-violence', 'elder-abuse',
      'personal-health-literacy', 'health-insurance-coverage-status', 'medical-cost-burden', 'digital-literacy',
      'digital-access', 'utility-insecurity', 'incarceration-status', 'language-access', 'protective-factor',
    ]);
    expect(data.codeSystems.get('http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes')!.concepts.size).toBe(58);
  });

  it('lists the Gravity VSAC value sets (134, by URL and by OID) without shipping their content', () => {
    const urls = [...data.vsac.keys()].filter((k) => k.startsWith('http://cts.nlm.nih.gov/fhir/ValueSet/'));
    expect(urls).toHaveLength(134);
    const food = data.vsac.get('http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113762.1.4.1247.17')!;
    expect(food).toMatchObject({ oid: '2.16.840.1.113762.1.4.1247.17', domain: 'food-insecurity', activity: 'condition' });
    expect(data.vsac.get('urn:oid:2.16.840.1.113762.1.4.1247.17')).toBe(food);
  });

  it('loads in well under a second', () => {
    const start = performance.now();
    loadTerminology();
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('loadTerminology rejects inconsistent files', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const meta = { version: '1', status: 'active', date: '2026-01-01', publisher: 'test', copyright: 'test' };
  const codeSystem: CodeSystem = {
    resourceType: 'CodeSystem', url: 'http://example.org/cs', ...meta, content: 'complete',
    concept: [{ code: 'a', display: 'A', concept: [{ code: 'a1', display: 'A one' }] }, { code: 'b', display: 'B' }],
  } as CodeSystem;

  function folder(resources: Array<CodeSystem | ValueSet | ConceptMap>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'terminology-'));
    dirs.push(dir);
    const files = resources.map((resource, i) => {
      const file = `${resource.resourceType}-${i}.json`;
      fs.writeFileSync(path.join(dir, file), JSON.stringify(resource));
      return { file, resourceType: resource.resourceType, url: resource.url, version: resource.version };
    });
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ files }));
    return dir;
  }

  it('loads a minimal consistent folder, deriving parent and child from nesting', () => {
    const loaded = loadTerminology(folder([codeSystem]));
    expect(loaded.codeSystems.get('http://example.org/cs')!.concepts.get('a1')!.parents).toEqual(['a']);
    expect(loaded.codeSystems.get('http://example.org/cs')!.concepts.get('a')!.children).toEqual(['a1']);
  });

  it('rejects a value set code missing from its shipped code system', () => {
    const vs = { resourceType: 'ValueSet', url: 'http://example.org/vs', ...meta, compose: { include: [{ system: 'http://example.org/cs', concept: [{ code: 'zz' }] }] } } as ValueSet;
    expect(() => loadTerminology(folder([codeSystem, vs]))).toThrow(/zz is not in the shipped code system/);
  });

  it('rejects a wrong display in a value set', () => {
    const vs = { resourceType: 'ValueSet', url: 'http://example.org/vs', ...meta, compose: { include: [{ system: 'http://example.org/cs', concept: [{ code: 'a', display: 'Alpha' }] }] } } as ValueSet;
    expect(() => loadTerminology(folder([codeSystem, vs]))).toThrow(TerminologyLoadError);
  });

  it('rejects a concept map target missing from its shipped code system', () => {
    const cm = {
      resourceType: 'ConceptMap', url: 'http://example.org/cm', ...meta,
      group: [{ source: 'http://example.org/cs', target: 'http://example.org/cs', element: [{ code: 'a', target: [{ code: 'c', equivalence: 'wider' }] }] }],
    } as ConceptMap;
    expect(() => loadTerminology(folder([codeSystem, cm]))).toThrow(/target code c/);
  });

  it('rejects a file whose url differs from index.json, and a file without licence notes', () => {
    const dir = folder([codeSystem]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    index.files[0].url = 'http://example.org/other';
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
    expect(() => loadTerminology(dir)).toThrow(/differs from index.json/);
    const { copyright: _copyright, ...bare } = codeSystem;
    expect(() => loadTerminology(folder([bare as CodeSystem]))).toThrow(/licence notes/);
  });

  it('rejects a duplicate code and a missing file', () => {
    const duplicate = { ...codeSystem, concept: [{ code: 'a' }, { code: 'a' }] } as CodeSystem;
    expect(() => loadTerminology(folder([duplicate]))).toThrow(/concept a appears twice/);
    const dir = folder([codeSystem]);
    fs.rmSync(path.join(dir, 'CodeSystem-0.json'));
    expect(() => loadTerminology(dir)).toThrow(/cannot be read/);
  });
});
