// Finding the hub's Claim an inbound X12 speaks of (by its claim control number, CLM01, echoed as
// 277CA TRN02 / 835 CLP01), and keeping the one ClaimResponse per Claim that 999, 277CA and 835
// update in turn (id derived from the Claim's, so every file finds the same one).
import type { Claim, ClaimResponse } from 'fhir/r4';
import { findMatches } from '../../fhir/conditional.ts';
import { lockCurrent, persistVersion } from '../../fhir/persist.ts';
import type { Scope } from '../../fhir/scope.ts';
import { CLAIM_CONTROL_NUMBER_SYSTEM } from '../billing-conventions.ts';

export async function claimByControlNumber(scope: Scope, controlNumber: string): Promise<Claim | undefined> {
  if (!/^[A-Za-z0-9-]{1,20}$/.test(controlNumber)) return undefined;
  const [claim] = await findMatches(scope, 'Claim', `identifier=${CLAIM_CONTROL_NUMBER_SYSTEM}|${controlNumber}`, 'Claim.identifier');
  return claim as Claim | undefined;
}

export const claimResponseId = (claimId: string) => `cr-${claimId}`.slice(0, 64);

/** Writes the Claim's ClaimResponse: `change` gets the current one (or a fresh one) and returns the new content. */
export async function updateClaimResponse(scope: Scope, claim: Claim, change: (current: ClaimResponse) => ClaimResponse): Promise<string> {
  const id = claimResponseId(claim.id!);
  const current = await lockCurrent(scope, 'ClaimResponse', id);
  const base: ClaimResponse =
    current && !current.deleted
      ? (current.resource as ClaimResponse)
      : {
          resourceType: 'ClaimResponse',
          id,
          status: 'active',
          type: claim.type,
          use: claim.use,
          patient: claim.patient,
          created: new Date().toISOString(),
          insurer: claim.insurer ?? { display: 'payer' },
          requestor: claim.provider,
          request: { reference: `Claim/${claim.id}` },
          outcome: 'queued',
        };
  await persistVersion(scope, 'ClaimResponse', id, change(base), current);
  return `ClaimResponse/${id}`;
}

/** CCYYMMDD → FHIR date. */
export const x12Date = (value: string): string | undefined => (/^\d{8}$/.test(value) ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}` : undefined);

/** The Claim's line whose line control number (REF*6R) is `lineControlNumber`. */
export function claimLine(claim: Claim, lineControlNumber: string, extensionUrl: string) {
  return claim.item?.find((item) => item.extension?.some((extension) => extension.url === extensionUrl && extension.valueString === lineControlNumber));
}
