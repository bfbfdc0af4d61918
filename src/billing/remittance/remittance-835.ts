// An 835 (health care claim payment/advice) applied to the hub's books, in the caller's transaction:
// BPR (amount, date) and TRN (reassociation trace: how the EFT is tied to this remittance) become a
// PaymentReconciliation; each CLP (CLP01 = our CLM01) updates the Claim's ClaimResponse with what was
// paid; each SVC is matched back to its Claim line by REF*6R (line control number) with its CAS
// adjustments and AMT*B6 allowed amount; each paid line credits the rendering CBO's payable ledger,
// less the hub's admin fee, and the CBO's payable Account shows the new balance. Any claim or line
// that cannot be matched stops the whole file (422 naming the segment): nothing is half-applied.
import type { Claim, ClaimResponseItem, ClaimResponseItemAdjudication, PaymentReconciliation, PaymentReconciliationDetail } from 'fhir/r4';
import { persistVersion } from '../../fhir/persist.ts';
import { newId } from '../../fhir/resource-identity.ts';
import type { Scope } from '../../fhir/scope.ts';
import { LINE_CONTROL_NUMBER_EXTENSION } from '../billing-conventions.ts';
import { postPaidLine } from '../ledger/cbo-ledger.ts';
import { refreshPayableAccount } from '../ledger/payable-account.ts';
import { PAYER_CLAIM_NUMBER_SYSTEM } from './claim-ack-277ca.ts';
import { claimByControlNumber, claimLine, updateClaimResponse, x12Date } from './remittance-claims.ts';
import { el, x12Error, type X12Segment } from './x12-reader.ts';

const ADJUDICATION = 'http://terminology.hl7.org/CodeSystem/adjudication';
const CAS_GROUP = 'https://x12.org/codes/claim-adjustment-group-codes';
const CARC = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const EFT_TRACE_SYSTEM = 'urn:cch:835-reassociation-trace';

const CLP_STATUS: Record<string, string> = {
  '1': 'processed as primary', '2': 'processed as secondary', '3': 'processed as tertiary', '4': 'denied',
  '19': 'processed as primary, forwarded', '20': 'processed as secondary, forwarded', '21': 'processed as tertiary, forwarded', '22': 'reversal of previous payment', '23': 'not our claim, forwarded',
};

function amount(segment: X12Segment, n: number, required = true): number | undefined {
  const raw = el(segment, n);
  if (raw === '' && !required) return undefined;
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value)) throw x12Error(segment.position, segment.tag, `element ${n} must be an amount, got "${raw}"`);
  return value;
}

const money = (value: number) => ({ value, currency: 'USD' });
const category = (code: string) => ({ coding: [{ system: ADJUDICATION, code }] });

/** CAS: a group code, then up to six reason / amount / quantity triples. */
function adjustments(segments: X12Segment[]): ClaimResponseItemAdjudication[] {
  return segments
    .filter((segment) => segment.tag === 'CAS')
    .flatMap((cas) => {
      const found: ClaimResponseItemAdjudication[] = [];
      for (let n = 2; n <= 17; n += 3) {
        if (!el(cas, n)) continue;
        found.push({
          category: { coding: [{ system: CAS_GROUP, code: el(cas, 1) }] },
          reason: { coding: [{ system: CARC, code: el(cas, n) }] },
          amount: money(amount(cas, n + 1)!),
        });
      }
      return found;
    });
}

/** Splits `segments` into runs that start at each segment tagged `start`, ending before any of `stops`. */
function runs(segments: X12Segment[], start: string, stops: string[]): X12Segment[][] {
  const found: X12Segment[][] = [];
  let current: X12Segment[] | undefined;
  for (const segment of segments) {
    if (segment.tag === start) found.push((current = [segment]));
    else if (stops.includes(segment.tag)) current = undefined;
    else current?.push(segment);
  }
  return found;
}

/** The CBO that rendered `item` (its care team member, else the claim's first). */
function renderingCbo(claim: Claim, careTeamSequence: number | undefined): string | undefined {
  const member = claim.careTeam?.find((team) => team.sequence === careTeamSequence) ?? claim.careTeam?.[0];
  return member?.provider.reference;
}

export interface Applied835 {
  references: string[];
  /** `TRN03|TRN02`: the payer's originating company id and the trace number. */
  trace: string;
}

/** The duplicate key of an 835 before anything is applied (its TRN). */
export function trace835(body: X12Segment[]): string {
  const trn = body.find((segment) => segment.tag === 'TRN');
  if (!trn || !el(trn, 2)) throw x12Error(body[0]?.position ?? 1, 'TRN', 'an 835 needs TRN with the reassociation trace number');
  return `${el(trn, 3)}|${el(trn, 2)}`;
}

export async function apply835(scope: Scope, body: X12Segment[], adminFeePercent: number): Promise<Applied835> {
  const bpr = body.find((segment) => segment.tag === 'BPR');
  if (!bpr) throw x12Error(body[0]?.position ?? 1, 'BPR', 'an 835 needs BPR (the payment)');
  const trn = body.find((segment) => segment.tag === 'TRN')!;
  const trace = trace835(body);
  const paymentAmount = amount(bpr, 2)!;
  const paymentDate = x12Date(el(bpr, 16)) ?? x12Date(el(body.find((segment) => segment.tag === 'DTM' && el(segment, 1) === '405'), 2)) ?? new Date().toISOString().slice(0, 10);
  const references: string[] = [];
  const details: PaymentReconciliationDetail[] = [];
  const cbos = new Set<string>();
  let insurer: string | undefined;
  for (const clpRun of runs(body, 'CLP', ['LX', 'PLB'])) {
    const clp = clpRun[0];
    const claim = await claimByControlNumber(scope, el(clp, 1));
    if (!claim) throw x12Error(clp.position, 'CLP', `claim control number ${el(clp, 1)} matches no claim`, 422);
    insurer ??= claim.insurer?.reference;
    const status = el(clp, 2);
    const charged = amount(clp, 3)!;
    const paid = amount(clp, 4)!;
    const claimLevel = clpRun.slice(1, clpRun.findIndex((segment) => segment.tag === 'SVC') === -1 ? undefined : clpRun.findIndex((segment) => segment.tag === 'SVC'));
    const items: ClaimResponseItem[] = [];
    const lines = runs(clpRun, 'SVC', []);
    for (const svcRun of lines) {
      const svc = svcRun[0];
      const ref = svcRun.find((segment) => segment.tag === 'REF' && el(segment, 1) === '6R');
      if (!ref) throw x12Error(svc.position, 'SVC', 'the service line has no REF*6R line control number to match it by');
      const line = claimLine(claim, el(ref, 2), LINE_CONTROL_NUMBER_EXTENSION);
      if (!line) throw x12Error(ref.position, 'REF', `line control number ${el(ref, 2)} matches no line of the claim ${el(clp, 1)}`, 422);
      const linePaid = amount(svc, 3)!;
      const allowed = svcRun.find((segment) => segment.tag === 'AMT' && el(segment, 1) === 'B6');
      items.push({
        itemSequence: line.sequence,
        adjudication: [
          { category: category('submitted'), amount: money(amount(svc, 2)!) },
          ...(allowed ? [{ category: category('eligible'), amount: money(amount(allowed, 2)!) }] : []),
          { category: category('benefit'), amount: money(linePaid) },
          ...adjustments(svcRun),
        ],
      });
      const cbo = renderingCbo(claim, line.careTeamSequence?.[0]);
      if (cbo && linePaid !== 0) {
        await postPaidLine(scope.q, { cbo, paid: linePaid, claim: `Claim/${claim.id}`, lineControlNumber: el(ref, 2), remittance: trace }, adminFeePercent);
        cbos.add(cbo);
      }
    }
    // A claim paid without line detail credits its (first) rendering CBO with the whole payment.
    if (lines.length === 0 && paid !== 0) {
      const cbo = renderingCbo(claim, undefined);
      if (cbo) {
        await postPaidLine(scope.q, { cbo, paid, claim: `Claim/${claim.id}`, lineControlNumber: undefined, remittance: trace }, adminFeePercent);
        cbos.add(cbo);
      }
    }
    const payerNumber = el(clp, 7);
    const response = await updateClaimResponse(scope, claim, ({ error: _acknowledgmentErrors, ...current }) => ({
      ...current,
      outcome: 'complete',
      disposition: `835: ${CLP_STATUS[status] ?? `status ${status}`}`,
      ...(payerNumber ? { identifier: [{ system: PAYER_CLAIM_NUMBER_SYSTEM, value: payerNumber }] } : {}),
      item: items,
      adjudication: adjustments(claimLevel),
      total: [
        { category: category('submitted'), amount: money(charged) },
        { category: category('benefit'), amount: money(paid) },
      ],
      payment: {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-paymenttype', code: 'complete' }] },
        date: paymentDate,
        amount: money(paid),
        identifier: { system: EFT_TRACE_SYSTEM, value: el(trn, 2) },
      },
    }));
    references.push(response);
    details.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/payment-type', code: 'payment' }] },
      request: { reference: `Claim/${claim.id}` },
      response: { reference: response },
      date: paymentDate,
      amount: money(paid),
    });
  }
  const id = newId();
  const reconciliation: PaymentReconciliation = {
    resourceType: 'PaymentReconciliation',
    id,
    status: 'active',
    identifier: [{ system: EFT_TRACE_SYSTEM, value: trace }],
    created: new Date().toISOString(),
    ...(insurer ? { paymentIssuer: { reference: insurer } } : {}),
    outcome: 'complete',
    disposition: `835 ${el(bpr, 1) === 'I' ? 'remittance information only (EFT separate)' : 'payment with remittance'}`,
    paymentDate,
    paymentAmount: money(paymentAmount),
    paymentIdentifier: { system: EFT_TRACE_SYSTEM, value: el(trn, 2) },
    detail: details,
  };
  await persistVersion(scope, 'PaymentReconciliation', id, reconciliation, undefined);
  references.unshift(`PaymentReconciliation/${id}`);
  for (const cbo of [...cbos].sort()) references.push(await refreshPayableAccount(scope, cbo));
  return { references, trace };
}
