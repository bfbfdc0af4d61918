// One Group per payer: its members are the beneficiaries of the payer's active Coverage (the same
// rule as the policy's plan relationship, src/policy/policy-facts.ts), managingEntity the payer, type
// person, actual true. A plan finds it with Group?managing-entity=Organization/x and exports it with
// Group/[id]/$export; the policy shows a plan only the Groups it manages (src/policy/decide.ts).
import type { Coverage, Group, GroupMember, Period } from 'fhir/r4';
import { checkResource, lockCurrent, persistVersion } from '../../fhir/persist.ts';
import { parseSearch } from '../../fhir/search/parse-search.ts';
import type { SearchCursor, SearchRequest } from '../../fhir/search/search-request.ts';
import type { Scope } from '../../fhir/scope.ts';
import { createHash } from 'node:crypto';
import { searchPage } from '../../store/search-sql.ts';

export const PAYER_GROUP_SYSTEM = 'urn:cch:payer-group';
const PAGE = 1000;
const PATIENT = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/** The Group id of a payer: `payer-{organization id}` (hashed when that would pass 64 characters). */
export function payerGroupId(payer: string): string {
  const id = payer.replace(/^Organization\//, '');
  return id.length <= 58 ? `payer-${id}` : `payer-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/** The payer's members (patient id → coverage period, when one Coverage gives exactly one), in id order. */
async function members(scope: Scope, payer: string): Promise<GroupMember[]> {
  const parsed = parseSearch('Coverage', new URLSearchParams({ payor: payer, status: 'active' }), scope.services.searchParameters, {
    maxPageSize: PAGE, strict: true, fhirBase: scope.ctx.fhirBase,
  });
  const periods = new Map<string, Period | undefined>();
  let cursor: SearchCursor | undefined;
  for (;;) {
    const request: SearchRequest = { ...parsed, count: PAGE, cursor };
    const rows = await searchPage(scope.q, request, PAGE);
    for (const row of rows) {
      const coverage = row.resource as Coverage;
      const patient = PATIENT.exec(coverage.beneficiary?.reference ?? '')?.[1];
      if (!patient) continue;
      // Several Coverages of one member: the member once, without a period (their union need not be one).
      periods.set(patient, periods.has(patient) ? undefined : coverage.period);
    }
    if (rows.length < PAGE) break;
    cursor = { direction: 'next', values: rows[rows.length - 1].keys };
  }
  return [...periods.keys()].sort().map((patient) => {
    const period = periods.get(patient);
    return { entity: { reference: `Patient/${patient}` }, ...(period ? { period } : {}) };
  });
}

/** JSON with keys sorted (stored JSONB does not keep key order), for comparing versions. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b))) : inner,
  );

/** Brings the payer's Group up to date (in the caller's transaction); writes a version only when it changed. */
export async function syncPayerGroup(scope: Scope, payer: string): Promise<Group> {
  const id = payerGroupId(payer);
  const previous = await lockCurrent(scope, 'Group', id);
  const member = await members(scope, payer);
  const group: Group = {
    resourceType: 'Group',
    id,
    identifier: [{ system: PAYER_GROUP_SYSTEM, value: payer }],
    active: true,
    type: 'person',
    actual: true,
    name: `Members of ${payer}`,
    managingEntity: { reference: payer },
    quantity: member.length,
    ...(member.length ? { member } : {}),
  };
  const current = previous && !previous.deleted ? (previous.resource as Group) : undefined;
  if (current && canonical({ ...current, meta: undefined }) === canonical(group)) return current;
  checkResource(scope, group, 'Group');
  const written = await persistVersion(scope, 'Group', id, group, previous);
  return written.resource as Group;
}
