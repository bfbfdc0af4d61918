// The hub's network directory: which community-based organizations (CBOs) serve which SDOH needs, where,
// whether they have room, and how the hub reaches them. Read from the FHIR resources the hub stores
// (Organization, HealthcareService, Location, Endpoint), so the directory is maintained through the FHIR
// API like any other data; routing (routing.ts) decides over the listings this module returns.
//
// Data conventions (HL7 SDOH Clinical Care IG STU 3.0.0, "SDOHCC"; FHIR R4 base where the IG is silent):
//
// - One listing per HealthcareService whose `providedBy` is a stored Organization. An Organization with no
//   HealthcareService is not in the directory: without one, the hub does not know what it serves.
// - SDOH categories: HealthcareService.category codings in the SDOHCC temporary code system (the `SDOHCC`
//   slice of SDOHCC-HealthcareServiceForReferralManagement.category; the `us-core-category#sdoh` slice marks
//   the service as social care and is not a domain).
// - Services: HealthcareService.type and .program codings (SDOHCC-ValueSetHealthcareServiceType and VSAC
//   1247.312 "social care programs", both extensible, so a hub may add e.g. SNOMED CT procedure codes as
//   further codings of `type` to route on ServiceRequest.code).
// - Coverage area: the IG defines none, so the R4 element HealthcareService.coverageArea (Reference(Location),
//   "the location(s) that this service is available to") is used. Each referenced Location that is not
//   `inactive` contributes one area, from its address, most specific first: `postalCode` (a postal code),
//   else `district` (a county, with `state` to tell same-named counties apart), else `state` (the whole
//   state). A listing without coverage area covers nowhere (see routing.ts).
// - Capacity: the IG's (draft, FMM 0) extension SDOHCC-ExtensionHealthcareServiceCapacityStatus, sub-extension
//   `capacityStatus` from SDOHCC-ValueSetCapacityStatus: `capacity` and `additional-assessment-required`
//   (it has capacity, the CBO needs to assess first) are available; `no-capacity` and `waitlist` ("No Capacity -
//   Has Waitlist") are at capacity; no extension (the base SDOHCC-HealthcareService profile has none) is
//   unknown, which routing treats as available: the CBO can still reject at capacity after the referral
//   (IG capacity.md: Task `rejected` + statusReason, and the hub re-routes).
// - Active: HealthcareService.active and Organization.active are not false.
// - Endpoint: "full" when the HealthcareService (checked first) or the Organization references an Endpoint that
//   is `active`, has connectionType `hl7-fhir-rest` and an address (the CBO's FHIR base URL): the hub POSTs
//   its Task there (IG indirect referral). Otherwise "light": the CBO's app reads and updates the Task on the
//   hub (IG indirect referral light). Whether an http (not https) address may be used is the sender's call
//   (ALLOW_HTTP_ENDPOINTS).
import type { Address, Coding, Endpoint, Extension, HealthcareService, Location, Organization, Reference } from 'fhir/r4';
import type { Queryable } from '../store/database.ts';
import { SDOHCC_CODES } from '../sdoh/sdoh-codes.ts';

export const CAPACITY_STATUS_EXTENSION =
  'http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ExtensionHealthcareServiceCapacityStatus';
export const ENDPOINT_CONNECTION_TYPE = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
export const TASK_CODE_SYSTEM = 'http://hl7.org/fhir/CodeSystem/task-code';

/** Referral Task statuses that still occupy the owner (IG ReferralTaskStatus minus draft and the final states). */
export const OPEN_TASK_STATUSES: readonly string[] = ['requested', 'accepted', 'in-progress', 'on-hold'];

const AT_CAPACITY_CODES = new Set(['no-capacity', 'waitlist']);
const AVAILABLE_CODES = new Set(['capacity', 'additional-assessment-required']);

/** An area a service covers: one of postalCode, county (optionally with state) or state alone. */
export interface CoverageArea {
  postalCode?: string;
  county?: string;
  state?: string;
}

export type CapacityStatus = 'available' | 'at-capacity' | 'unknown';

export interface CboListing {
  /** `Organization/{id}` of the CBO. */
  organization: string;
  /** `HealthcareService/{id}` of this listing. */
  healthcareService: string;
  /** Organization.name, else the HealthcareService name, else the id. */
  name: string;
  serviceName?: string;
  /** SDOHCC category codes (e.g. `food-insecurity`). */
  categories: string[];
  /** HealthcareService.type and .program codings (system + code). */
  services: Coding[];
  coverage: CoverageArea[];
  capacity: CapacityStatus;
  /** The SDOHCC capacity code as stored (`capacity`, `no-capacity`, `waitlist`, `additional-assessment-required`). */
  capacityCode?: string;
  active: boolean;
  endpoint: 'full' | 'light';
  /** For full CBOs: `Endpoint/{id}` and its address (the FHIR base URL). */
  endpointReference?: string;
  endpointAddress?: string;
}

/** The resources a directory is built from, by `Type/id`. */
export interface DirectoryResources {
  healthcareServices: HealthcareService[];
  organizations: Map<string, Organization>;
  locations: Map<string, Location>;
  endpoints: Map<string, Endpoint>;
}

const RELATIVE = /^(Organization|Location|Endpoint)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** `Type/id` of a relative literal reference to a resource of `type`, else undefined (absolute ones point elsewhere). */
function referenceKey(reference: Reference | undefined, type: string): string | undefined {
  const match = reference?.reference ? RELATIVE.exec(reference.reference) : null;
  return match && match[1] === type ? `${match[1]}/${match[2]}` : undefined;
}

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
};

/** US ZIP+4 → the 5-digit ZIP; other postal codes upper-cased without spaces. */
export function normalizePostalCode(value: string | undefined): string | undefined {
  const trimmed = nonEmpty(value);
  if (!trimmed) return undefined;
  const zip = /^(\d{5})(?:-?\d{4})?$/.exec(trimmed);
  return zip ? zip[1] : trimmed.toUpperCase().replace(/\s+/g, '');
}

/** County names compare without case and without a trailing "County"/"Parish"/"Borough". */
export function normalizeCounty(value: string | undefined): string | undefined {
  const trimmed = nonEmpty(value);
  if (!trimmed) return undefined;
  const bare = trimmed.replace(/\s+(county|parish|borough)$/i, '').replace(/\s+/g, ' ');
  return bare.toLowerCase();
}

export function normalizeState(value: string | undefined): string | undefined {
  return nonEmpty(value)?.toUpperCase();
}

/** The coverage area an address describes (most specific part), or undefined when it names none. */
export function coverageOf(address: Address | undefined): CoverageArea | undefined {
  if (!address) return undefined;
  const state = normalizeState(address.state);
  const postalCode = normalizePostalCode(address.postalCode);
  if (postalCode) return { postalCode };
  const county = normalizeCounty(address.district);
  if (county) return state ? { county, state } : { county };
  return state ? { state } : undefined;
}

function capacityOf(service: HealthcareService): { capacity: CapacityStatus; capacityCode?: string } {
  const extension = service.extension?.find((e: Extension) => e.url === CAPACITY_STATUS_EXTENSION);
  const status = extension?.extension?.find((e) => e.url === 'capacityStatus')?.valueCodeableConcept;
  const code = status?.coding?.find((c) => c.system === SDOHCC_CODES && c.code)?.code;
  if (!code) return { capacity: 'unknown' };
  if (AT_CAPACITY_CODES.has(code)) return { capacity: 'at-capacity', capacityCode: code };
  if (AVAILABLE_CODES.has(code)) return { capacity: 'available', capacityCode: code };
  return { capacity: 'unknown', capacityCode: code };
}

function fhirEndpoint(references: Reference[] | undefined, endpoints: Map<string, Endpoint>): { reference: string; address: string } | undefined {
  for (const ref of references ?? []) {
    const key = referenceKey(ref, 'Endpoint');
    const endpoint = key ? endpoints.get(key) : undefined;
    if (!key || !endpoint || endpoint.status !== 'active') continue;
    const address = nonEmpty(endpoint.address);
    const restful = endpoint.connectionType?.system === ENDPOINT_CONNECTION_TYPE && endpoint.connectionType.code === 'hl7-fhir-rest';
    if (address && restful) return { reference: key, address: address.replace(/\/+$/, '') };
  }
  return undefined;
}

const codings = (concepts: { coding?: Coding[] }[] | undefined): Coding[] =>
  (concepts ?? []).flatMap((concept) => concept.coding ?? []).filter((c) => c.system && c.code).map((c) => ({ system: c.system, code: c.code }));

/** The listings of a set of directory resources (pure; loadDirectory reads the resources). */
export function listingsFrom(resources: DirectoryResources): CboListing[] {
  const listings: CboListing[] = [];
  for (const service of resources.healthcareServices) {
    const organizationKey = referenceKey(service.providedBy, 'Organization');
    const organization = organizationKey ? resources.organizations.get(organizationKey) : undefined;
    if (!organizationKey || !organization || !service.id) continue;
    const categories = [...new Set(codings(service.category).filter((c) => c.system === SDOHCC_CODES).map((c) => c.code as string))];
    const seen = new Set<string>();
    const services = codings([...(service.type ?? []), ...(service.program ?? [])]).filter((c) => {
      const key = `${c.system}|${c.code}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const coverage: CoverageArea[] = [];
    for (const ref of service.coverageArea ?? []) {
      const key = referenceKey(ref, 'Location');
      const location = key ? resources.locations.get(key) : undefined;
      if (!location || location.status === 'inactive') continue;
      const area = coverageOf(location.address);
      if (area) coverage.push(area);
    }
    const endpoint = fhirEndpoint(service.endpoint, resources.endpoints) ?? fhirEndpoint(organization.endpoint, resources.endpoints);
    const serviceName = nonEmpty(service.name);
    listings.push({
      organization: organizationKey,
      healthcareService: `HealthcareService/${service.id}`,
      name: nonEmpty(organization.name) ?? serviceName ?? organizationKey.slice('Organization/'.length),
      ...(serviceName ? { serviceName } : {}),
      categories,
      services,
      coverage,
      ...capacityOf(service),
      active: service.active !== false && organization.active !== false,
      endpoint: endpoint ? 'full' : 'light',
      ...(endpoint ? { endpointReference: endpoint.reference, endpointAddress: endpoint.address } : {}),
    });
  }
  return listings.sort((a, b) => compare(a.organization, b.organization) || compare(a.healthcareService, b.healthcareService));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function byIds<T>(q: Queryable, type: string, keys: Iterable<string>): Promise<Map<string, T>> {
  const ids = [...new Set([...keys].map((key) => key.slice(type.length + 1)))];
  const found = new Map<string, T>();
  if (ids.length === 0) return found;
  const rows = await q.query<{ id: string; content: T }>(
    `SELECT id, content FROM resource WHERE resource_type = $1 AND id = ANY($2::text[]) AND NOT deleted`,
    [type, ids],
  );
  for (const row of rows) found.set(`${type}/${row.id}`, row.content);
  return found;
}

const keysOf = (references: (Reference | undefined)[], type: string): string[] =>
  references.map((ref) => referenceKey(ref, type)).filter((key): key is string => key !== undefined);

/** Reads the hub's network: every stored HealthcareService provided by a stored Organization. */
export async function loadDirectory(q: Queryable): Promise<CboListing[]> {
  const healthcareServices = (
    await q.query<{ content: HealthcareService }>(`SELECT content FROM resource WHERE resource_type = 'HealthcareService' AND NOT deleted`)
  ).map((row) => row.content);
  const organizations = await byIds<Organization>(q, 'Organization', keysOf(healthcareServices.map((s) => s.providedBy), 'Organization'));
  const locations = await byIds<Location>(q, 'Location', keysOf(healthcareServices.flatMap((s) => s.coverageArea ?? []), 'Location'));
  const endpointRefs = [...healthcareServices.flatMap((s) => s.endpoint ?? []), ...[...organizations.values()].flatMap((o) => o.endpoint ?? [])];
  const endpoints = await byIds<Endpoint>(q, 'Endpoint', keysOf(endpointRefs, 'Endpoint'));
  return listingsFrom({ healthcareServices, organizations, locations, endpoints });
}

/**
 * Open referral Tasks per owner Organization (`Organization/{id}` → count): Tasks with code
 * `task-code#fulfill` (the IG's TaskForReferralManagement pattern) whose status is requested, accepted,
 * in-progress or on-hold, and whose owner is a relative Organization reference. Tasks the hub pushed to a
 * full CBO's server count only as far as the hub keeps its record of them here.
 */
export async function openLoad(q: Queryable): Promise<Map<string, number>> {
  const rows = await q.query<{ organization: string; open: number | string }>(
    `SELECT o.target_id AS organization, count(DISTINCT o.id)::int AS open
       FROM search_reference o
       JOIN resource r ON r.resource_type = 'Task' AND r.id = o.id AND NOT r.deleted
      WHERE o.resource_type = 'Task' AND o.code = 'owner' AND o.target_type = 'Organization'
        AND r.content->>'status' = ANY($1::text[])
        AND r.content->'code'->'coding' @> $2::jsonb
      GROUP BY o.target_id`,
    [[...OPEN_TASK_STATUSES], JSON.stringify([{ system: TASK_CODE_SYSTEM, code: 'fulfill' }])],
  );
  return new Map(rows.map((row) => [`Organization/${row.organization}`, Number(row.open)]));
}
