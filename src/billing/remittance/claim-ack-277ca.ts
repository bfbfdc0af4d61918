// A 277CA (claim acknowledgment) says, per claim, whether the payer took it into adjudication:
// TRN*2 carries our CLM01, STC01-1 its status category (A1/A2/A5 acknowledged; A3, A4, A6, A7, A8
// rejected: such a claim never reaches an 835), REF*1K the payer's claim number.
import type { ClaimResponseError } from 'fhir/r4';
import type { Scope } from '../../fhir/scope.ts';
import { claimByControlNumber, updateClaimResponse } from './remittance-claims.ts';
import { el, x12Error, type X12Segment } from './x12-reader.ts';

const CATEGORY = 'https://x12.org/codes/claim-status-category-codes';
const STATUS = 'https://x12.org/codes/claim-status-codes';
const ACCEPTED = new Set(['A0', 'A1', 'A2', 'A5']);
export const PAYER_CLAIM_NUMBER_SYSTEM = 'urn:cch:payer-claim-control-number';

export async function apply277ca(scope: Scope, body: X12Segment[]): Promise<string[]> {
  const references: string[] = [];
  let level = '';
  for (let i = 0; i < body.length; i++) {
    const trn = body[i];
    if (trn.tag === 'HL') level = el(trn, 3);
    // Claim-level TRN*2 sit under the patient level (HL03 PT, or 23 for a dependent); the
    // information receiver and provider levels carry batch traces.
    if (trn.tag !== 'TRN' || el(trn, 1) !== '2' || (level !== 'PT' && level !== '23')) continue;
    // The claim level's segments run to the next HL or TRN.
    const rest = body.slice(i + 1);
    const end = rest.findIndex((segment) => segment.tag === 'HL' || segment.tag === 'TRN');
    const claimLevel = end === -1 ? rest : rest.slice(0, end);
    const stc = claimLevel.find((segment) => segment.tag === 'STC');
    if (!stc) throw x12Error(trn.position, 'TRN', 'a claim acknowledgment needs an STC after its TRN');
    const claim = await claimByControlNumber(scope, el(trn, 2));
    if (!claim) throw x12Error(trn.position, 'TRN', `claim control number ${el(trn, 2)} matches no claim`, 422);
    const category = el(stc, 1, 1);
    const status = el(stc, 1, 2);
    const payerNumber = el(claimLevel.find((segment) => segment.tag === 'REF' && el(segment, 1) === '1K'), 2);
    const accepted = ACCEPTED.has(category);
    const error: ClaimResponseError[] = accepted ? [] : [{ code: { coding: [{ system: CATEGORY, code: category }, ...(status ? [{ system: STATUS, code: status }] : [])] } }];
    references.push(
      await updateClaimResponse(scope, claim, (current) => ({
        ...current,
        outcome: accepted ? (current.outcome === 'complete' ? 'complete' : 'queued') : 'error',
        disposition: accepted ? `277CA: accepted for adjudication (${category})` : `277CA: rejected (${category}${status ? `:${status}` : ''})`,
        ...(payerNumber ? { identifier: [{ system: PAYER_CLAIM_NUMBER_SYSTEM, value: payerNumber }] } : {}),
        ...(error.length ? { error } : {}),
      })),
    );
  }
  if (references.length === 0) throw x12Error(body[0]?.position ?? 1, 'TRN', 'a 277CA must acknowledge at least one claim (TRN*2)');
  return references;
}
