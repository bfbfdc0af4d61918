// The 837P (005010X222A1) loops of one claim, in order, from typed input: envelope, header, submitter
// and receiver (1000A/B), billing provider (2000A/2010AA), subscriber = patient (2000B/2010BA) and payer
// (2010BB), claim (2300), rendering provider (2310B), service lines (2400), trailers with their counts
// (SE01 = segments ST..SE; GE01 = transaction sets; IEA01 = groups). Patient ≠ subscriber (2000C) is not
// built: the hub bills Medicaid members, who are their own subscribers.
import type { ProfessionalClaimInput } from './professional-claim-input.ts';
import { segment, x12Amount, x12Text, type X12Segment } from './x12-segments.ts';

const pad = (value: string, width: number) => value.slice(0, width).padEnd(width, ' ');
const yymmdd = (date: Date) => date.toISOString().slice(2, 10).replace(/-/g, '');
const ccyymmdd = (date: Date) => date.toISOString().slice(0, 10).replace(/-/g, '');
const hhmm = (date: Date) => date.toISOString().slice(11, 16).replace(':', '');
const d8 = (date: string) => date.slice(0, 10).replace(/-/g, '');
const zip = (postalCode: string) => postalCode.replace(/\D/g, '');

function address(seg: X12Segment[], value: { line: string; city: string; state: string; postalCode: string }): void {
  seg.push(segment('N3', x12Text(value.line)));
  seg.push(segment('N4', x12Text(value.city), x12Text(value.state), zip(value.postalCode)));
}

/** The transaction set (ST..SE) of one claim. */
function transaction(input: ProfessionalClaimInput): X12Segment[] {
  const { interchange, billingProvider: billing, subscriber, payer, claim } = input;
  const s: X12Segment[] = [];
  s.push(segment('ST', '837', '0001', '005010X222A1'));
  s.push(segment('BHT', '0019', '00', claim.controlNumber, ccyymmdd(interchange.createdAt), hhmm(interchange.createdAt), claim.transactionType));
  // 1000A submitter, 1000B receiver
  s.push(segment('NM1', '41', '2', x12Text(interchange.submitter.name), '', '', '', '', '46', interchange.submitter.id));
  s.push(segment('PER', 'IC', x12Text(interchange.submitter.contactName), 'TE', interchange.submitter.contactPhone.replace(/\D/g, '')));
  s.push(segment('NM1', '40', '2', x12Text(interchange.receiver.name), '', '', '', '', '46', interchange.receiver.id));
  // 2000A billing provider, 2010AA
  s.push(segment('HL', '1', '', '20', '1'));
  s.push(segment('PRV', 'BI', 'PXC', billing.taxonomy));
  s.push(segment('NM1', '85', '2', x12Text(billing.name), '', '', '', '', 'XX', billing.npi));
  address(s, billing.address);
  s.push(segment('REF', 'EI', billing.tin));
  // 2000B subscriber (the patient: SBR02 = 18), 2010BA, 2010BB
  s.push(segment('HL', '2', '1', '22', '0'));
  s.push(segment('SBR', 'P', '18', '', '', '', '', '', '', subscriber.claimFilingIndicator));
  s.push(segment('NM1', 'IL', '1', x12Text(subscriber.lastName), x12Text(subscriber.firstName), '', '', '', 'MI', x12Text(subscriber.memberId)));
  if (subscriber.address) address(s, subscriber.address);
  if (subscriber.birthDate) s.push(segment('DMG', 'D8', d8(subscriber.birthDate), subscriber.gender));
  s.push(segment('NM1', 'PR', '2', x12Text(payer.name), '', '', '', '', 'PI', x12Text(payer.payerId)));
  // 2300 claim
  s.push(segment('CLM', claim.controlNumber, x12Amount(claim.total), '', '', [claim.placeOfService, 'B', claim.frequency], 'Y', 'A', 'Y', 'Y'));
  if (claim.priorAuthorization) s.push(segment('REF', 'G1', x12Text(claim.priorAuthorization)));
  s.push(segment('HI', ...claim.diagnoses.map((code, i) => [i === 0 ? 'ABK' : 'ABF', code.replace('.', '')])));
  // 2310B rendering provider (the CBO): NPI when it has one, else the plan-assigned id (REF*G2)
  if (claim.rendering) {
    const r = claim.rendering;
    s.push(r.npi ? segment('NM1', '82', '2', x12Text(r.name), '', '', '', '', 'XX', r.npi) : segment('NM1', '82', '2', x12Text(r.name)));
    if (r.taxonomy) s.push(segment('PRV', 'PE', 'PXC', r.taxonomy));
    if (!r.npi && r.planProviderId) s.push(segment('REF', 'G2', x12Text(r.planProviderId)));
  }
  // 2400 service lines
  input.lines.forEach((line, i) => {
    s.push(segment('LX', String(i + 1)));
    s.push(segment('SV1', [line.qualifier, line.code, ...line.modifiers.slice(0, 4)], x12Amount(line.charge), line.unit, String(line.quantity), '', '', line.pointers.map(String)));
    s.push(line.serviceEnd ? segment('DTP', '472', 'RD8', `${d8(line.serviceStart)}-${d8(line.serviceEnd)}`) : segment('DTP', '472', 'D8', d8(line.serviceStart)));
    s.push(segment('REF', '6R', line.lineControlNumber));
  });
  s.push(segment('SE', String(s.length + 1), '0001'));
  return s;
}

/** ISA..IEA around one transaction set. */
export function build837p(input: ProfessionalClaimInput): X12Segment[] {
  const { interchange } = input;
  const control = String(interchange.controlNumber % 1_000_000_000).padStart(9, '0');
  const group = String(interchange.controlNumber % 1_000_000_000);
  const at = interchange.createdAt;
  return [
    segment('ISA', '00', pad('', 10), '00', pad('', 10), 'ZZ', pad(interchange.submitter.id, 15), 'ZZ', pad(interchange.receiver.id, 15), yymmdd(at), hhmm(at), '^', '00501', control, '1', interchange.usage, ':'),
    segment('GS', 'HC', interchange.submitter.id, interchange.receiver.id, ccyymmdd(at), hhmm(at), group, 'X', '005010X222A1'),
    ...transaction(input),
    segment('GE', '1', group),
    segment('IEA', '1', control),
  ];
}
