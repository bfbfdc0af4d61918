// A 999 (implementation acknowledgment) answers one of our 837P functional groups: AK1 names the
// group (GS06, which the 837P renderer derives from the claim control number: one claim per
// interchange), AK9 accepts (A), accepts with errors (E), partially accepts (P) or rejects (R) it,
// and IK3/IK4 point at the faulty segments. The claim's ClaimResponse records it: rejected → error.
import type { ClaimResponseError } from 'fhir/r4';
import type { Scope } from '../../fhir/scope.ts';
import { controlNumberFor } from '../claim-build.ts';
import { claimByControlNumber, updateClaimResponse } from './remittance-claims.ts';
import { el, x12Error, type X12Segment } from './x12-reader.ts';

const IK3_ERRORS = 'https://x12.org/codes/implementation-segment-syntax-error-codes';

export async function apply999(scope: Scope, body: X12Segment[]): Promise<string[]> {
  const ak1 = body.find((segment) => segment.tag === 'AK1');
  const ak9 = body.find((segment) => segment.tag === 'AK9');
  if (!ak1) throw x12Error(body[0]?.position ?? 1, 'AK1', 'a 999 needs AK1 (the acknowledged group)');
  if (!ak9) throw x12Error(body[body.length - 1]?.position ?? 1, 'AK9', 'a 999 needs AK9 (the group response)');
  const group = Number(el(ak1, 2));
  const claim = Number.isInteger(group) ? await claimByControlNumber(scope, controlNumberFor(group)) : undefined;
  if (!claim) throw x12Error(ak1.position, 'AK1', `group control number ${el(ak1, 2)} matches no claim sent by the hub`, 422);
  const verdict = el(ak9, 1);
  if (!['A', 'E', 'P', 'R'].includes(verdict)) throw x12Error(ak9.position, 'AK9', `AK901 must be A, E, P or R, not "${verdict}"`);
  const errors: ClaimResponseError[] = body
    .filter((segment) => segment.tag === 'IK3')
    .map((ik3) => ({ code: { coding: [{ system: IK3_ERRORS, code: el(ik3, 4) || '8' }], text: `segment ${el(ik3, 1)} at position ${el(ik3, 2)}` } }));
  const reference = await updateClaimResponse(scope, claim, (current) => ({
    ...current,
    outcome: verdict === 'R' ? 'error' : current.outcome === 'complete' ? 'complete' : 'queued',
    disposition: verdict === 'R' ? '999: the payer rejected the functional group' : `999: functional group accepted${verdict === 'A' ? '' : ' with errors'}`,
    ...(errors.length ? { error: errors } : {}),
  }));
  return [reference];
}
