// Minimum-necessary disclosure profiles: for a role and purpose of use, which resource types,
// interactions, search parameters, includes and elements a recipient may get (HIPAA 164.514(d)(3)(i)
// "standard protocols" for routine disclosures). They are data files in policy/disclosure-profiles/,
// versioned and reviewed like code; the profile id and version go into every AuditEvent.
import fs from 'node:fs';
import path from 'node:path';
import type { Interaction } from './interaction.ts';

/** How a recipient's relationship with a patient is established (see policy-facts.ts). */
export type RelationshipKind = 'cbo' | 'plan' | 'referral-source' | 'hie' | 'all';

/**
 * required: only a permit provision naming the recipient releases data (CBOs, non-covered entities);
 * honor-deny: disclosure is permitted unless a consent denies it (TPO disclosures);
 * not-applied: the custodian's own workforce.
 */
export type ConsentMode = 'required' | 'honor-deny' | 'not-applied';

export interface TypeRule {
  interactions: Interaction[];
  /** Search parameter codes allowed (`*` = any). Control parameters (_count, _sort...) are always allowed. */
  searchParams?: string[];
  /** `Source:code` of allowed _include values; `*` = any. */
  includes?: string[];
  revincludes?: string[];
  /** Top-level elements released; `*` = all. resourceType, id and meta always go. */
  elements: string[];
}

export interface DisclosureProfile {
  id: string;
  version: string;
  description: string;
  role: string;
  purposes: string[];
  relationship: RelationshipKind;
  consent: ConsentMode;
  /** Highest v3 confidentiality code released without a consent naming the label. */
  confidentialityCeiling: string;
  excludedSensitivity: string[];
  /** Chained parameters and _has (which probe other resources) are refused unless true. */
  allowChains: boolean;
  /** _total and _summary=count are refused unless true. */
  allowTotal: boolean;
  /** Operations allowed by name (`$lookup`), `*` = all. What they read or write is still decided resource by resource. */
  operations?: string[];
  /** By resource type; `*` applies to types not listed. */
  types: Record<string, TypeRule | undefined>;
}

const PROFILE_DIR = path.resolve(import.meta.dirname, '../../policy/disclosure-profiles');

export class DisclosureProfiles {
  readonly #byRolePurpose = new Map<string, DisclosureProfile>();

  constructor(profiles: DisclosureProfile[]) {
    for (const profile of profiles) {
      for (const purpose of profile.purposes) {
        const key = `${profile.role}|${purpose}`;
        if (this.#byRolePurpose.has(key)) throw new Error(`Two disclosure profiles for ${profile.role} with purpose ${purpose}`);
        this.#byRolePurpose.set(key, profile);
      }
    }
  }

  static load(dir = PROFILE_DIR): DisclosureProfiles {
    const files = fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
    return new DisclosureProfiles(files.map((file) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as DisclosureProfile));
  }

  find(role: string, purposeOfUse: string | undefined): DisclosureProfile | undefined {
    return purposeOfUse ? this.#byRolePurpose.get(`${role}|${purposeOfUse}`) : undefined;
  }
}

export function typeRule(profile: DisclosureProfile, resourceType: string): TypeRule | undefined {
  return profile.types[resourceType] ?? profile.types['*'];
}

export const allowsAll = (list: readonly string[] | undefined) => list?.includes('*') ?? false;
