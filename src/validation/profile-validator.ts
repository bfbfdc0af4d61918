// Validates resources against the hub's profiles: the SDOH Clinical Care IG (Gravity, STU 3.0.0)
// profiles and the US Core 7.0.0 rules they inherit, written as data in profiles/sdohcc/ and
// profiles/us-core/ and compiled once by load() (server start). Resources reach this after the R4
// JSON schema, so only profile rules are checked here.
//
// Which profiles apply: the ones the resource claims in meta.profile (or options.profiles), their
// base profiles, and with enforceDefault the SDOHCC profile every partner write of the type must
// meet (defaultProfile). Task has two SDOHCC profiles: a Task claiming SDOHCC-TaskForPatient is
// checked against that one; any other Task (no claim, or only unknown or US Core claims) is checked
// against SDOHCC-TaskForReferralManagement, the profile of the hub's referral exchanges. In general
// the default is skipped when the resource claims another known profile of its type that is not one
// of the default's own base profiles.
import fs from 'node:fs';
import path from 'node:path';
import type { Resource, ValueSet } from 'fhir/r4';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import { fhirResourceTypes } from './fhir-schema.ts';
import { BindingChecker } from './profile-binding.ts';
import { compileProfile, type CompiledProfile } from './profile-compiler.ts';
import { parseProfileDefinition, ProfileLoadError, type ProfileDefinition } from './profile-definition.ts';
import { dedupeIssues, issue, type KeyedIssue, type ProfileIssue } from './profile-issue.ts';

export type { ProfileIssue } from './profile-issue.ts';
export { ProfileLoadError } from './profile-definition.ts';

/** The repository's profiles/ folder. */
export const DEFAULT_PROFILES_DIR = path.resolve(import.meta.dirname, '../../profiles');

const CORE_DEFINITION = 'http://hl7.org/fhir/StructureDefinition/';

function splitCanonical(canonical: string): { url: string; version?: string } {
  const bar = canonical.indexOf('|');
  return bar < 0 ? { url: canonical } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) };
}

/** Every .json file under dir (sorted, for a stable load order and error messages). */
function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...jsonFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.json')) out.push(full);
  }
  return out;
}

export interface ValidateOptions {
  /** Check against these profiles instead of the resource's meta.profile claims. */
  profiles?: string[];
  /** Also check the type's partner-write default profile (see defaultProfile). */
  enforceDefault?: boolean;
}

export class ProfileValidator {
  readonly #profiles: Map<string, CompiledProfile>;
  readonly #defaults: Map<string, string>;
  /** Filled at load time: validate() runs often and the base graph never changes. */
  readonly #ancestorCache = new Map<CompiledProfile, Set<CompiledProfile>>();

  private constructor(profiles: Map<string, CompiledProfile>, defaults: Map<string, string>) {
    this.#profiles = profiles;
    this.#defaults = defaults;
  }

  /**
   * Reads every profile file under dir (default: the repository's profiles/ folder) and compiles it.
   * Files holding a FHIR ValueSet are value sets the profiles bind to that terminology/ does not ship;
   * other FHIR resources there (search parameters) are not profiles and are skipped. Throws
   * ProfileLoadError on the first malformed or inconsistent file.
   */
  static load(terminology: TerminologyService, dir: string = DEFAULT_PROFILES_DIR): ProfileValidator {
    const definitions: Array<{ file: string; definition: ProfileDefinition }> = [];
    const valueSets = new Map<string, ValueSet>();
    for (const full of jsonFiles(dir)) {
      const file = path.relative(dir, full);
      let json: unknown;
      try {
        json = JSON.parse(fs.readFileSync(full, 'utf8'));
      } catch (error) {
        throw new ProfileLoadError(`${file}: not valid JSON (${(error as Error).message})`);
      }
      const resourceType = (json as { resourceType?: unknown }).resourceType;
      if (resourceType === 'ValueSet') {
        const valueSet = json as ValueSet;
        if (!valueSet.url || !valueSet.compose?.include?.length) throw new ProfileLoadError(`${file}: a ValueSet needs a url and a compose`);
        valueSets.set(valueSet.url, valueSet);
      } else if (resourceType === undefined) {
        definitions.push({ file, definition: parseProfileDefinition(file, json) });
      }
    }
    const bindings = new BindingChecker(terminology, valueSets);
    const profiles = new Map<string, CompiledProfile>();
    const files = new Map<string, string>();
    for (const { file, definition } of definitions) {
      if (profiles.has(definition.url)) throw new ProfileLoadError(`${file}: ${definition.url} is also defined in ${files.get(definition.url)}`);
      if (!fhirResourceTypes().has(definition.type)) throw new ProfileLoadError(`${file}: type '${definition.type}' is not an R4 resource type`);
      try {
        profiles.set(definition.url, compileProfile(definition, bindings));
      } catch (error) {
        throw new ProfileLoadError(`${file}: ${(error as Error).message}`);
      }
      files.set(definition.url, file);
    }
    const defaults = new Map<string, string>();
    for (const profile of profiles.values()) {
      const file = files.get(profile.url) as string;
      for (const canonical of [...profile.baseProfiles, ...profile.baseProfilesAnyOf]) {
        const base = resolve(profiles, canonical);
        if (!base) throw new ProfileLoadError(`${file}: base profile ${canonical} is not defined under ${dir}`);
        if (base.type !== profile.type) throw new ProfileLoadError(`${file}: base profile ${canonical} constrains ${base.type}, not ${profile.type}`);
      }
      if (profile.partnerWriteDefault) {
        const other = defaults.get(profile.type);
        if (other) throw new ProfileLoadError(`${file}: ${profile.type} already has the partner-write default ${other}`);
        defaults.set(profile.type, profile.url);
      }
    }
    const validator = new ProfileValidator(profiles, defaults);
    for (const profile of profiles.values()) validator.#ancestors(profile, [], files.get(profile.url) as string);
    return validator;
  }

  /** True for a profile defined here (a `|version` must match) and for the R4 base definitions. */
  knows(url: string): boolean {
    return splitCanonical(url).url.startsWith(CORE_DEFINITION) || resolve(this.#profiles, url) !== undefined;
  }

  /** The SDOHCC profile every partner write of this type is checked against (Task → TaskForReferralManagement, ServiceRequest, Consent, Procedure), if any. */
  defaultProfile(resourceType: string): string | undefined {
    return this.#defaults.get(resourceType);
  }

  /** Canonical URLs of every profile defined here. */
  profileUrls(): string[] {
    return [...this.#profiles.keys()];
  }

  /**
   * Checks `resource` against each url in `profiles` (default: its meta.profile claims) plus, when
   * `enforceDefault`, defaultProfile(type). Unknown claimed profiles → one warning issue each (code
   * 'not-found'), not a silent pass. Base profiles are checked too.
   */
  validate(resource: Resource, options: ValidateOptions = {}): ProfileIssue[] {
    const type = resource.resourceType;
    const out: KeyedIssue[] = [];
    const selected: CompiledProfile[] = [];
    const claims = options.profiles ?? resource.meta?.profile ?? [];
    claims.forEach((canonical, i) => {
      const at = options.profiles ? type : `${type}.meta.profile[${i}]`;
      const { url, version } = splitCanonical(canonical);
      if (url === `${CORE_DEFINITION}${type}`) return; // the R4 definition itself: the schema has checked it
      const profile = resolve(this.#profiles, canonical);
      if (!profile) {
        const known = this.#profiles.get(url);
        const why = known ? `version ${version} is not known (this server has ${known.version})` : 'is not known to this server';
        out.push(issue('warning', 'not-found', at, `Profile ${canonical} ${why}: the resource was not checked against it`, `not-found|${canonical}`));
        return;
      }
      if (profile.type !== type) {
        out.push(issue('error', 'structure', at, `Profile ${canonical} constrains ${profile.type}, not ${type}`, `wrong-type|${canonical}`));
        return;
      }
      if (!selected.includes(profile)) selected.push(profile);
    });
    if (options.enforceDefault) {
      const fallback = this.#defaults.get(type);
      const profile = fallback ? this.#profiles.get(fallback) : undefined;
      if (profile && !selected.includes(profile)) {
        const ancestors = this.#ancestors(profile);
        // A claim of another profile of the type (TaskForPatient for a Task) chooses that profile instead.
        if (!selected.some((claimed) => !ancestors.has(claimed))) selected.push(profile);
      }
    }
    const checked = new Set<CompiledProfile>();
    for (const profile of selected) {
      for (const each of [profile, ...this.#ancestors(profile)]) {
        if (checked.has(each)) continue;
        checked.add(each);
        out.push(...each.check(resource));
      }
    }
    for (const profile of checked) if (profile.baseProfilesAnyOf.length) out.push(...this.#checkAnyOf(profile, resource, checked));
    return dedupeIssues(out);
  }

  /** Issues of the best-fitting alternative: one without errors if there is one, else the closest. */
  #checkAnyOf(profile: CompiledProfile, resource: Resource, checked: Set<CompiledProfile>): KeyedIssue[] {
    let best: { name: string; issues: KeyedIssue[]; errors: number } | undefined;
    for (const canonical of profile.baseProfilesAnyOf) {
      const alternative = resolve(this.#profiles, canonical) as CompiledProfile;
      const issues: KeyedIssue[] = [];
      for (const each of [alternative, ...this.#ancestors(alternative)]) if (!checked.has(each)) issues.push(...each.check(resource));
      const errors = issues.filter((i) => i.severity === 'error').length;
      if (!best || errors < best.errors) best = { name: alternative.name, issues, errors };
      if (errors === 0) break;
    }
    if (!best) return [];
    if (best.errors === 0) return best.issues;
    const names = profile.baseProfilesAnyOf.map((canonical) => (resolve(this.#profiles, canonical) as CompiledProfile).name).join(' or ');
    return [
      issue('information', 'informational', resource.resourceType, `${profile.name} must also conform to ${names}; it conforms to neither (errors shown against ${best.name})`, `any-of|${profile.url}`),
      ...best.issues,
    ];
  }

  /** The base profiles of a profile, transitively (cycles are refused at load time). */
  #ancestors(profile: CompiledProfile, stack: string[] = [], file?: string): Set<CompiledProfile> {
    const cached = this.#ancestorCache.get(profile);
    if (cached) return cached;
    const out = new Set<CompiledProfile>();
    for (const canonical of profile.baseProfiles) {
      const base = resolve(this.#profiles, canonical) as CompiledProfile;
      if (stack.includes(base.url) || base === profile) {
        throw new ProfileLoadError(`${file ?? profile.url}: base profiles form a cycle (${[...stack, profile.url, base.url].join(' > ')})`);
      }
      out.add(base);
      for (const ancestor of this.#ancestors(base, [...stack, profile.url], file)) out.add(ancestor);
    }
    this.#ancestorCache.set(profile, out);
    return out;
  }
}

function resolve(profiles: Map<string, CompiledProfile>, canonical: string): CompiledProfile | undefined {
  const { url, version } = splitCanonical(canonical);
  const profile = profiles.get(url);
  return profile && (version === undefined || version === profile.version) ? profile : undefined;
}
