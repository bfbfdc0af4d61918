// Shared by the profile tests: the validator (loaded once per file, with the shipped terminology),
// the fixtures (our own valid examples, one per profile), and a table runner that checks a valid
// example is accepted and that copies breaking one rule each are reported at the exact element.
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { expect, it } from 'vitest';
import { TerminologyService } from '../../src/terminology/terminology-service.ts';
import type { ProfileIssueCode, ProfileIssueSeverity } from '../../src/validation/profile-issue.ts';
import { ProfileValidator, type ProfileIssue } from '../../src/validation/profile-validator.ts';

export const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');

export const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/';
export const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/';
export const SDOHCC_CODES = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
export const SDC_TEMP = 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp';
export const US_CORE_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category';

let terminology: TerminologyService | undefined;
let validator: ProfileValidator | undefined;

export function loadTerminology(): TerminologyService {
  terminology ??= TerminologyService.load();
  return terminology;
}

export function profileValidator(): ProfileValidator {
  validator ??= ProfileValidator.load(loadTerminology());
  return validator;
}

export function fixture<T extends Resource>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as T;
}

export function coded(system: string, code: string): { coding: Array<{ system: string; code: string }> } {
  return { coding: [{ system, code }] };
}

export function errorsOf(issues: ProfileIssue[]): ProfileIssue[] {
  return issues.filter((issue) => issue.severity === 'error');
}

export interface Mutation<T extends Resource> {
  /** What the copy breaks, e.g. "status received (not in the referral task status value set)". */
  rule: string;
  change: (resource: T) => void;
  severity?: ProfileIssueSeverity;
  code: ProfileIssueCode;
  expression: string;
  /** Text the diagnostics must contain (e.g. an invariant key). */
  mentions?: string;
  /** How many errors the copy has in all (default: 1 for an error, 0 for a warning). */
  errors?: number;
}

export interface ProfileCase<T extends Resource> {
  fixture: string;
  /** Validate against these instead of the fixture's claim (US Core profiles checked on SDOHCC fixtures). */
  profiles?: string[];
  /** Turns the fixture into the valid example of this profile first (e.g. an encounter diagnosis). */
  prepare?: (resource: T) => void;
  mutations: Array<Mutation<T>>;
}

/** Registers the tests of one profile (call inside a describe). */
export function profileCases<T extends Resource>(spec: ProfileCase<T>): void {
  const validate = (resource: T): ProfileIssue[] => profileValidator().validate(resource, spec.profiles ? { profiles: spec.profiles } : {});
  const example = (): T => {
    const resource = fixture<T>(spec.fixture);
    spec.prepare?.(resource);
    return resource;
  };

  it(`accepts the valid example ${spec.fixture}`, () => {
    expect(errorsOf(validate(example()))).toEqual([]);
  });

  for (const mutation of spec.mutations) {
    const severity = mutation.severity ?? 'error';
    it(`${severity === 'error' ? 'rejects' : 'warns on'}: ${mutation.rule}`, () => {
      const resource = example();
      mutation.change(resource);
      const issues = validate(resource);
      const match = issues.find(
        (i) => i.severity === severity && i.code === mutation.code && i.expression === mutation.expression && (!mutation.mentions || i.diagnostics.includes(mutation.mentions)),
      );
      expect(match, `expected ${severity} ${mutation.code} at ${mutation.expression} mentioning ${mutation.mentions ?? '-'}; got ${JSON.stringify(issues.filter((i) => i.severity !== 'information'), null, 1)}`).toBeDefined();
      expect(errorsOf(issues), JSON.stringify(errorsOf(issues), null, 1)).toHaveLength(mutation.errors ?? (severity === 'error' ? 1 : 0));
    });
  }
}
