// Loading profile files: malformed or inconsistent files fail the load (server start) with the file
// and the field named, and bindings in a profile are checked with the TerminologyService: a value set
// the hub does not ship (VSAC-only or unknown) gives a warning, never a silent pass.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Basic } from 'fhir/r4';
import { afterEach, describe, expect, it } from 'vitest';
import { ProfileLoadError, ProfileValidator } from '../../src/validation/profile-validator.ts';
import { loadTerminology } from './profile-test-kit.ts';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A profiles folder holding the given files (name → JSON). */
function folder(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profiles-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), JSON.stringify(content));
  }
  return dir;
}

const URL = 'http://example.org/StructureDefinition/test-basic';

/** A minimal profile on Basic (code 1..1 in R4) with the given rules. */
function basicProfile(rules: Record<string, unknown>, url = URL): Record<string, unknown> {
  return { url, version: '1.0.0', name: 'TestBasic', type: 'Basic', baseProfiles: [], source: 'test', ...rules };
}

function basic(code: { system: string; code: string }): Basic {
  return { resourceType: 'Basic', meta: { profile: [URL] }, code: { coding: [code] } };
}

function load(files: Record<string, unknown>): ProfileValidator {
  return ProfileValidator.load(loadTerminology(), folder(files));
}

describe('loading profiles', () => {
  it('loads the repository profiles quickly', () => {
    const started = performance.now();
    ProfileValidator.load(loadTerminology());
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses a misspelt element path, naming the file and element', () => {
    expect(() => load({ 'a.json': basicProfile({ elements: [{ path: 'cod', min: 1 }] }) })).toThrow(ProfileLoadError);
    expect(() => load({ 'a.json': basicProfile({ elements: [{ path: 'cod', min: 1 }] }) })).toThrow(/a\.json: element 'cod': 'cod' is not an element of Basic/);
  });

  it('refuses a choice element written without [x], and types outside the choice', () => {
    expect(() => load({ 'o.json': { ...basicProfile({ elements: [{ path: 'value', min: 1 }] }), type: 'Observation' } })).toThrow(/write 'value\[x\]'/);
    expect(() => load({ 'o.json': { ...basicProfile({ elements: [{ path: 'value[x]', types: ['Money'] }] }), type: 'Observation' } })).toThrow(/type 'Money'/);
  });

  it('refuses unknown fields, so a misspelt rule is never dropped silently', () => {
    expect(() => load({ 'a.json': basicProfile({ elements: [{ path: 'code', mustsupport: true }] }) })).toThrow(/unknown field 'mustsupport'/);
  });

  it('refuses a FHIRPath invariant that does not compile', () => {
    const invariants = [{ key: 'x-1', severity: 'error', human: 'broken', expression: 'code.coding.where(' }];
    expect(() => load({ 'a.json': basicProfile({ invariants }) })).toThrow(/invariant x-1: FHIRPath does not compile/);
  });

  it('refuses an unknown base profile and a base of another type', () => {
    expect(() => load({ 'a.json': basicProfile({ baseProfiles: ['http://example.org/StructureDefinition/missing'] }) })).toThrow(/base profile .*missing is not defined/);
    const patientProfile = { url: 'http://example.org/p', version: '1', name: 'P', type: 'Patient', baseProfiles: [], source: 'test' };
    expect(() => load({ 'a.json': basicProfile({ baseProfiles: ['http://example.org/p'] }), 'p.json': patientProfile })).toThrow(/constrains Patient, not Basic/);
  });

  it('refuses base profiles that form a cycle', () => {
    const a = basicProfile({ baseProfiles: ['http://example.org/b'] }, 'http://example.org/a');
    const b = basicProfile({ baseProfiles: ['http://example.org/a'] }, 'http://example.org/b');
    expect(() => load({ 'a.json': a, 'b.json': b })).toThrow(/cycle/);
  });

  it('refuses two profiles with the same url', () => {
    expect(() => load({ 'a.json': basicProfile({}), 'b.json': basicProfile({}) })).toThrow(/also defined in a\.json/);
  });

  it('skips other FHIR resources (search parameters) in the folder', () => {
    const validator = load({ 'a.json': basicProfile({}), 'search-parameters/x.json': { resourceType: 'SearchParameter', code: 'x' } });
    expect(validator.knows(URL)).toBe(true);
  });
});

describe('bindings', () => {
  const SDOHCC_CODES = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
  const SDOH_CATEGORY = 'http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetSDOHCategory';

  function bound(valueSet: string, strength: string): ProfileValidator {
    return load({ 'a.json': basicProfile({ elements: [{ path: 'code', binding: { valueSet, strength } }] }) });
  }

  it('required: a code outside the value set is an error, a code in it passes', () => {
    const validator = bound(SDOH_CATEGORY, 'required');
    expect(validator.validate(basic({ system: SDOHCC_CODES, code: 'food-insecurity' }))).toEqual([]);
    expect(validator.validate(basic({ system: SDOHCC_CODES, code: 'make-contact' }))).toEqual([
      expect.objectContaining({ severity: 'error', code: 'code-invalid', expression: 'Basic.code' }),
    ]);
  });

  it('extensible: a code outside the value set is a warning', () => {
    const issues = bound(SDOH_CATEGORY, 'extensible').validate(basic({ system: SDOHCC_CODES, code: 'make-contact' }));
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'code-invalid', expression: 'Basic.code' })]);
  });

  it('a VSAC-only value set gives a warning that the code was not checked', () => {
    const vsac = 'http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113762.1.4.1247.17';
    for (const strength of ['required', 'extensible']) {
      const issues = bound(vsac, strength).validate(basic({ system: 'http://snomed.info/sct', code: '733423003' }));
      expect(issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'informational', expression: 'Basic.code' })]);
      expect(issues[0].diagnostics).toContain('NLM VSAC');
    }
  });

  it('an unknown value set gives a warning that it is not shipped', () => {
    const issues = bound('http://example.org/ValueSet/unknown', 'required').validate(basic({ system: 'http://example.org', code: 'x' }));
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'informational', expression: 'Basic.code' })]);
    expect(issues[0].diagnostics).toContain('not shipped');
  });

  it('preferred bindings are guidance and not checked', () => {
    expect(bound('http://example.org/ValueSet/unknown', 'preferred').validate(basic({ system: 'http://example.org', code: 'x' }))).toEqual([]);
  });

  it('checks a value set given with the profiles (value-sets/) like a shipped one', () => {
    const valueSet = {
      resourceType: 'ValueSet',
      url: 'http://example.org/ValueSet/local',
      status: 'active',
      compose: { include: [{ system: 'http://example.org/cs', concept: [{ code: 'a' }, { code: 'b' }] }] },
    };
    const validator = load({
      'a.json': basicProfile({ elements: [{ path: 'code', binding: { valueSet: valueSet.url, strength: 'required' } }] }),
      'value-sets/local.json': valueSet,
    });
    expect(validator.validate(basic({ system: 'http://example.org/cs', code: 'a' }))).toEqual([]);
    expect(validator.validate(basic({ system: 'http://example.org/cs', code: 'c' }))).toEqual([
      expect.objectContaining({ severity: 'error', code: 'code-invalid', expression: 'Basic.code' }),
    ]);
  });
});
