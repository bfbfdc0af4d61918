// The 837P of a stored Claim, as X12 text: what GET /fhir/Claim/[id]/$x12 answers and what delivery
// writes to SFTP or a drop folder. Deterministic for a given Claim (dates from Claim.created, control
// numbers from CLM01), so a re-send is byte-identical. A held claim (draft, not billable as coded) is a
// 422 naming each line and code, from the hold reason the builder recorded.
import type { Claim } from 'fhir/r4';
import { FhirError, type IssueInput } from '../../fhir/errors.ts';
import type { Scope } from '../../fhir/scope.ts';
import { CLAIM_DELIVERY_STATE_EXTENSION, CLAIM_HOLD_REASON_EXTENSION } from '../billing-conventions.ts';
import { currentBillingConfig } from '../billing-identity.ts';
import type { BillingConfig } from '../billing-config.ts';
import { build837p } from './build-837p.ts';
import { claimTo837pInput } from './claim-to-837p-input.ts';
import { serializeSegments } from './x12-segments.ts';

/** Issues of a held claim: one per recorded reason ("Line n (CODE-MOD on date, ChargeItem/id): Zxx.x is ..."). */
export function holdIssues(claim: Claim): IssueInput[] | undefined {
  const held = claim.status === 'draft' && claim.extension?.some((extension) => extension.url === CLAIM_DELIVERY_STATE_EXTENSION && extension.valueCode === 'held');
  if (!held) return undefined;
  const reason = claim.extension?.find((extension) => extension.url === CLAIM_HOLD_REASON_EXTENSION)?.valueString ?? 'The claim is held';
  return reason.split('; ').map((text) => {
    const line = /^Line (\d+)/.exec(text)?.[1];
    return { severity: 'error' as const, code: 'business-rule' as const, diagnostics: `Claim held, not billable: ${text}`, expression: line ? `Claim.item[${Number(line) - 1}]` : 'Claim' };
  });
}

export async function renderClaim837p(scope: Scope, claim: Claim, billing: BillingConfig = currentBillingConfig()): Promise<string> {
  const held = holdIssues(claim);
  if (held) throw new FhirError(422, held);
  if (claim.status !== 'active') throw new FhirError(422, [{ severity: 'error', code: 'business-rule', diagnostics: `Only an active claim is rendered; this one is ${claim.status}`, expression: 'Claim.status' }]);
  return serializeSegments(build837p(await claimTo837pInput(scope, claim, billing)));
}
