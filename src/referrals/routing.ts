// Chooses the CBO for a referral, transparently and equitably. Pure: the caller loads the directory
// (cbo-directory.ts: loadDirectory), the open load (openLoad) and the round-robin cursor, and persists the
// cursor it gets back.
//
// Eligible = serves one of the referral's SDOH categories, not already tried, active, offers a requested
// service (when the referral names one), covers the patient's area, not at capacity. The checks run in
// that order and the first one that fails is the listing's `why`.
//
// - Services: a listing offers a requested service when one of its type/program codings has the same
//   system and code as a ServiceRequest.code coding. A listing that codes no service in any of the
//   requested code systems cannot be judged on services (IG HealthcareService types are service-type
//   codes, referrals carry SNOMED CT / CPT / HCPCS procedure codes): its category match decides, and its
//   `why` says so. A listing that codes services in the same system, none of them requested, is not eligible.
// - Area: with a postal code or county on the referral, a listing must cover it (cbo-directory.ts: postal
//   code; county, same state when both name one; or the whole state). A listing without coverage area
//   covers nowhere: routing a patient to a CBO that never said where it serves risks a referral it cannot
//   take, while the gap shows in `considered` for hub staff to fix. A referral without postal code and
//   county (e.g. a patient without a home) is not filtered by area, and the reason says so.
// - Capacity: `at-capacity` listings (SDOHCC no-capacity, waitlist) are skipped; `unknown` counts as available.
// - Choice: among eligible CBOs the least open load (open referral Tasks owned); ties are broken round-robin:
//   in order of Organization reference, the first after the CBO last chosen for the same categories (the
//   cursor), wrapping around.
//
// The reason goes onto the hub's Task and into the audit, so it names only codes, CBO ids, load counts and
// the postal code or county, each checked against a strict pattern; nothing else of the patient reaches it.
import type { Coding } from 'fhir/r4';
import { SDOHCC_CODES } from '../sdoh/sdoh-codes.ts';
import { normalizeCounty, normalizePostalCode, normalizeState, type CboListing } from './cbo-directory.ts';
import type { RoutingRequest } from './routing-request.ts';

export { routingRequestFor, homeAddress, type RoutingRequest } from './routing-request.ts';

/** The last CBO chosen per routing key (see routingKey); the caller stores it between decisions. */
export interface RoundRobinCursor {
  lastChosen: Record<string, string>;
}

export interface ConsideredListing {
  organization: string;
  healthcareService: string;
  eligible: boolean;
  why: string;
}

export interface RoutingDecision {
  chosen?: CboListing;
  /** One line, without PHI: the need, the area, the CBOs that serve the need and why each was or was not taken. */
  reason: string;
  /** Every listing of the directory, with the outcome of its checks. */
  considered: ConsideredListing[];
  /** The cursor to persist: `cursor` with this decision's choice recorded under `key`. */
  cursor: RoundRobinCursor;
  /** The round-robin key of this request: its SDOHCC category codes, sorted, joined with "+". */
  key: string;
}

export const emptyCursor = (): RoundRobinCursor => ({ lastChosen: {} });

/** Short names of code systems for reasons. */
const SYSTEM_LABELS: Record<string, string> = {
  'http://snomed.info/sct': 'SNOMED',
  'http://www.ama-assn.org/go/cpt': 'CPT',
  'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes': 'HCPCS',
  'urn:oid:2.16.840.1.113883.6.285': 'HCPCS',
  'http://loinc.org': 'LOINC',
  'http://terminology.hl7.org/CodeSystem/service-type': 'service-type',
  'http://terminology.hl7.org/CodeSystem/program': 'program',
  [SDOHCC_CODES]: 'SDOHCC',
};

// Patterns of what may be echoed into a reason; anything else is replaced, never quoted.
const SAFE_CODE = /^[A-Za-z0-9][A-Za-z0-9.\-_]{0,39}$/;
const SAFE_POSTAL = /^[A-Z0-9][A-Z0-9-]{1,9}$/;
const SAFE_COUNTY = /^[A-Za-z][A-Za-z .'-]{0,39}$/;
const SAFE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const codeText = (code: string | undefined): string => (code && SAFE_CODE.test(code) ? code : '(unprintable code)');
const systemText = (system: string | undefined): string => (system ? (SYSTEM_LABELS[system] ?? system.replace(/^https?:\/\//, '')) : '(no system)');
const codingText = (coding: Coding): string => `${systemText(coding.system)} ${codeText(coding.code)}`;
/** `cbo-a` for `Organization/cbo-a`. */
export function cboLabel(organization: string): string {
  const id = organization.slice(organization.lastIndexOf('/') + 1);
  return SAFE_ID.test(id) ? id : '(unprintable id)';
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The round-robin key of a request: its SDOHCC category codes, sorted, joined with "+". */
export function routingKey(request: Pick<RoutingRequest, 'categories'>): string {
  return requestCategories(request).join('+');
}

function requestCategories(request: Pick<RoutingRequest, 'categories'>): string[] {
  const codes = request.categories.filter((c) => c.system === SDOHCC_CODES && c.code).map((c) => c.code as string);
  return [...new Set(codes)].sort(compare);
}

interface Area {
  postalCode?: string;
  county?: string;
  state?: string;
  /** How the area is written in reasons. */
  text: string;
}

function requestArea(request: RoutingRequest): Area | undefined {
  const postalCode = normalizePostalCode(request.postalCode);
  const county = normalizeCounty(request.county);
  const state = normalizeState(request.state);
  if (!postalCode && !county) return undefined;
  const countyText = request.county?.trim().replace(/\s+/g, ' ');
  const text = postalCode
    ? (SAFE_POSTAL.test(postalCode) ? postalCode : 'the patient\'s postal code')
    : `county ${countyText && SAFE_COUNTY.test(countyText) ? countyText : '(unprintable)'}${state && /^[A-Z]{2}$/.test(state) ? ` ${state}` : ''}`;
  return { ...(postalCode ? { postalCode } : {}), ...(county ? { county } : {}), ...(state ? { state } : {}), text };
}

function covers(listing: CboListing, area: Area): boolean {
  return listing.coverage.some((entry) => {
    if (entry.postalCode) return entry.postalCode === area.postalCode;
    if (entry.county) return entry.county === area.county && (!entry.state || !area.state || entry.state === area.state);
    return entry.state !== undefined && entry.state === area.state;
  });
}

type ServiceFit = 'not-requested' | 'match' | 'undeclared' | 'mismatch';

function serviceFit(listing: CboListing, requested: Coding[]): ServiceFit {
  if (requested.length === 0) return 'not-requested';
  const same = (a: Coding, b: Coding) => a.system === b.system && a.code === b.code;
  if (listing.services.some((offered) => requested.some((wanted) => same(offered, wanted)))) return 'match';
  const systems = new Set(requested.map((c) => c.system));
  return listing.services.some((offered) => systems.has(offered.system)) ? 'mismatch' : 'undeclared';
}

/** Outcome of the checks of one listing; a higher rank got further (7 = eligible). */
interface Verdict {
  listing: CboListing;
  rank: number;
  eligible: boolean;
  why: string;
  /** How the CBO appears in the reason when this is its best listing. */
  short: string;
  fit: ServiceFit;
}

function check(listing: CboListing, categories: string[], services: Coding[], area: Area | undefined, excluded: Set<string>, load: number): Verdict {
  const label = cboLabel(listing.organization);
  const no = (rank: number, why: string, short: string): Verdict => ({ listing, rank, eligible: false, why, short: `${label} ${short}`, fit: 'not-requested' });
  const served = categories.filter((code) => listing.categories.includes(code));
  if (served.length === 0) {
    const offers = listing.categories.length ? `serves ${listing.categories.map(codeText).join(', ')}` : 'serves no SDOH category';
    return no(1, `does not serve ${categories.map(codeText).join(' or ')} (${offers})`, 'does not serve the need');
  }
  if (excluded.has(listing.organization)) return no(2, 'already tried for this referral', 'already tried');
  if (!listing.active) return no(3, 'inactive (Organization or HealthcareService active = false)', 'inactive');
  const fit = serviceFit(listing, services);
  if (fit === 'mismatch') {
    return no(4, `serves ${served.map(codeText).join(', ')} but none of the requested services (${services.map(codingText).join(', ')})`, 'other services');
  }
  if (area && listing.coverage.length === 0) return no(5, 'no coverage area declared', 'no coverage area');
  if (area && !covers(listing, area)) return no(5, `does not cover ${area.text}`, 'outside area');
  if (listing.capacity === 'at-capacity') {
    const code = codeText(listing.capacityCode);
    return no(6, `at capacity (${code})`, `at capacity (${code})`);
  }
  const serviceWhy = {
    'not-requested': '',
    match: `; offers ${services.filter((s) => listing.services.some((o) => o.system === s.system && o.code === s.code)).map(codingText).join(', ')}`,
    undeclared: `; services not coded in ${[...new Set(services.map((s) => systemText(s.system)))].join('/')}: category match only`,
    mismatch: '',
  }[fit];
  const capacityWhy = listing.capacity === 'available' ? `capacity available (${codeText(listing.capacityCode)})` : 'capacity unknown';
  return {
    listing,
    rank: 7,
    eligible: true,
    why: `eligible: serves ${served.map(codeText).join(', ')}${serviceWhy}; ${area ? `covers ${area.text}` : 'area not checked'}; ${capacityWhy}; open load ${load}`,
    short: `${label} load ${load}`,
    fit,
  };
}

/** Preference among one CBO's eligible listings: known capacity, then a coded service match, then directory order. */
const listingPreference = (v: Verdict): number => (v.listing.capacity === 'available' ? 0 : 2) + (v.fit === 'match' ? 0 : 1);

/** Decides where a referral goes; see the rules at the top of this file. */
export function route(request: RoutingRequest, directory: CboListing[], load: Map<string, number>, cursor: RoundRobinCursor): RoutingDecision {
  const key = routingKey(request);
  const categories = requestCategories(request);
  const services = request.serviceCodes.filter((c) => c.system && c.code);
  const area = requestArea(request);
  const excluded = new Set(request.exclude);
  const listings = [...directory].sort((a, b) => compare(a.organization, b.organization) || compare(a.healthcareService, b.healthcareService));

  if (categories.length === 0) {
    const why = 'the referral names no SDOH category (SDOHCC) to route on';
    return {
      reason: `no SDOH category (SDOHCC) on the referral: nothing to route on; no CBO chosen`,
      considered: listings.map((l) => ({ organization: l.organization, healthcareService: l.healthcareService, eligible: false, why })),
      cursor,
      key,
    };
  }

  const loadOf = (organization: string) => load.get(organization) ?? 0;
  const verdicts = listings.map((listing) => check(listing, categories, services, area, excluded, loadOf(listing.organization)));

  // The best listing of each CBO speaks for it in the reason; the preferred eligible one is the one chosen.
  const best = new Map<string, Verdict>();
  for (const verdict of verdicts) {
    const current = best.get(verdict.listing.organization);
    if (!current || verdict.rank > current.rank || (verdict.eligible && current.eligible && listingPreference(verdict) < listingPreference(current))) {
      best.set(verdict.listing.organization, verdict);
    }
  }
  const cbos = [...best.values()];
  const eligible = cbos.filter((v) => v.eligible);
  const relevant = cbos.filter((v) => v.rank >= 2);
  const others = cbos.length - relevant.length;

  let chosen: Verdict | undefined;
  let choice: string;
  if (eligible.length === 0) {
    choice = 'no eligible CBO';
  } else {
    const least = Math.min(...eligible.map((v) => loadOf(v.listing.organization)));
    const tied = eligible.filter((v) => loadOf(v.listing.organization) === least);
    if (eligible.length === 1) {
      chosen = eligible[0];
      choice = `chose ${cboLabel(chosen.listing.organization)} (only eligible)`;
    } else if (tied.length === 1) {
      chosen = tied[0];
      choice = `chose ${cboLabel(chosen.listing.organization)} (least open load ${least})`;
    } else {
      const last = cursor.lastChosen[key];
      const after = last === undefined ? undefined : tied.find((v) => compare(v.listing.organization, last) > 0);
      chosen = after ?? tied[0];
      const how = last === undefined ? 'first in order' : `after ${cboLabel(last)}`;
      choice = `chose ${cboLabel(chosen.listing.organization)} by round-robin ${how} (${tied.length} tied at load ${least})`;
    }
  }

  const need = `${categories.map(codeText).join(' or ')}${services.length ? ` (service ${services.map(codingText).join(', ')})` : ''}`;
  const where = area ? ` in ${area.text}` : ', area not checked (no postal code or county)';
  const listed = relevant.length ? ` (${relevant.map((v) => v.short).join(', ')})` : '';
  const rest = others ? `; ${others} other CBO${others === 1 ? '' : 's'} do${others === 1 ? 'es' : ''} not serve it` : '';
  const reason = `${need}${where}: ${eligible.length} eligible${listed}${rest}; ${choice}`;

  return {
    ...(chosen ? { chosen: chosen.listing } : {}),
    reason,
    considered: verdicts.map((v) => ({
      organization: v.listing.organization,
      healthcareService: v.listing.healthcareService,
      eligible: v.eligible,
      why: v.why,
    })),
    cursor: chosen ? { lastChosen: { ...cursor.lastChosen, [key]: chosen.listing.organization } } : cursor,
    key,
  };
}
