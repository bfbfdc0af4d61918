// What routing needs to know about one referral, read from its ServiceRequest and the patient: the SDOH
// categories (ServiceRequest.category, SDOHCC codes), the requested services (ServiceRequest.code codings)
// and the area of the patient's current home address (postal code, county, state). Nothing else of the
// patient is read, so nothing else can reach a routing reason.
import type { Address, Coding, Patient, ServiceRequest } from 'fhir/r4';
import { SDOHCC_CODES } from '../sdoh/sdoh-codes.ts';
import { normalizePostalCode } from './cbo-directory.ts';

export interface RoutingRequest {
  /** SDOH categories of the need (SDOHCC codings; codings of other systems are ignored by routing). */
  categories: Coding[];
  /** Requested services (ServiceRequest.code codings); empty when any service of the category will do. */
  serviceCodes: Coding[];
  postalCode?: string;
  county?: string;
  /** Tells same-named counties apart and matches state-wide coverage. */
  state?: string;
  /** `Organization/{id}` of CBOs already tried for this referral. */
  exclude: string[];
}

/** Preference among a patient's addresses for "where the patient lives now". */
const USE_RANK: Record<string, number> = { home: 0, temp: 1, none: 2 };

/** The patient's current home address: home, else temporary, else one without `use`; never old, work or billing ones. */
export function homeAddress(patient: Patient | undefined, now: Date = new Date()): Address | undefined {
  const today = now.toISOString().slice(0, 10);
  const candidates = (patient?.address ?? []).filter((address) => {
    if ((USE_RANK[address.use ?? 'none'] ?? -1) < 0) return false;
    const end = address.period?.end;
    return !end || end.slice(0, 10) >= today;
  });
  const rank = (address: Address) => (USE_RANK[address.use ?? 'none'] ?? 9) * 2 + (address.type === 'postal' ? 1 : 0);
  return [...candidates].sort((a, b) => rank(a) - rank(b))[0];
}

const trimmed = (value: string | undefined): string | undefined => (value?.trim() ? value.trim() : undefined);

/** The routing inputs of a referral. `exclude` starts empty; the caller adds CBOs as they are tried. */
export function routingRequestFor(serviceRequest: ServiceRequest, patient: Patient | undefined, now: Date = new Date()): RoutingRequest {
  const categories = (serviceRequest.category ?? [])
    .flatMap((concept) => concept.coding ?? [])
    .filter((coding) => coding.system === SDOHCC_CODES && coding.code)
    .map((coding): Coding => ({ system: SDOHCC_CODES, code: coding.code }));
  const serviceCodes = (serviceRequest.code?.coding ?? [])
    .filter((coding) => coding.system && coding.code)
    .map((coding): Coding => ({ system: coding.system, code: coding.code }));
  const address = homeAddress(patient, now);
  const postalCode = normalizePostalCode(address?.postalCode);
  const county = trimmed(address?.district);
  const state = trimmed(address?.state);
  return {
    categories: dedupe(categories),
    serviceCodes: dedupe(serviceCodes),
    ...(postalCode ? { postalCode } : {}),
    ...(county ? { county } : {}),
    ...(state ? { state } : {}),
    exclude: [],
  };
}

function dedupe(codings: Coding[]): Coding[] {
  const seen = new Set<string>();
  return codings.filter((coding) => {
    const key = `${coding.system}|${coding.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
