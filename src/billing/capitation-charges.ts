// Capitation: the payer pays per member per month (PMPM). For each month a build period touches, every
// member whose Coverage of the account's program is in force during that month gets one PMPM charge at the
// rate of the account's capitation fee (ChargeItemDefinition with code CAPITATION_CODE). Capture keys make a
// member-month one charge however often the period is built. Delivered services under capitation are
// recorded as not-billable (utilization only, charge-capture.ts).
import type { ChargeItem, Coverage } from 'fhir/r4';
import { create } from '../fhir/interactions/create.ts';
import { newId } from '../fhir/resource-identity.ts';
import type { Scope } from '../fhir/scope.ts';
import { searchResources } from './billing-search.ts';
import { CAPITATION_CODE } from './billing-conventions.ts';
import { recordCharge } from './charge-ledger.ts';
import type { BuildPeriod } from './claim-build.ts';
import { accountForCoverage, type Contracts, type FundingAccount } from './contracts.ts';

/** First and last day of each month overlapping [start, end]. */
export function monthsOf(start: string, end: string): { start: string; end: string }[] {
  const months: { start: string; end: string }[] = [];
  let year = Number(start.slice(0, 4));
  let month = Number(start.slice(5, 7));
  for (;;) {
    const first = `${year}-${String(month).padStart(2, '0')}-01`;
    if (first > end) break;
    const last = new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
    months.push({ start: first, end: last });
    month += 1;
    if (month > 12) [year, month] = [year + 1, 1];
  }
  return months;
}

/** The calendar months lying wholly inside [start, end]: what aggregate (invoice, capitation) accounts bill. */
export function completeMonths(start: string, end: string): { start: string; end: string }[] {
  return monthsOf(start, end).filter((month) => month.start >= start && month.end <= end);
}

const overlaps = (coverage: Coverage, month: { start: string; end: string }) =>
  coverage.status === 'active' &&
  (!coverage.period?.start || coverage.period.start.slice(0, 10) <= month.end) &&
  (!coverage.period?.end || coverage.period.end.slice(0, 10) >= month.start);

export async function recordCapitationCharges(scope: Scope, contracts: Contracts, account: FundingAccount, period: BuildPeriod): Promise<number> {
  const fee = contracts.fees.find((entry) => entry.program === account.program && entry.code.system === CAPITATION_CODE.system && entry.code.code === CAPITATION_CODE.code);
  if (!fee) return 0;
  const coverages = (await searchResources<Coverage>(scope, 'Coverage', { payor: account.payer })).filter((coverage) => accountForCoverage(contracts, coverage)?.id === account.id);
  let recorded = 0;
  for (const month of monthsOf(period.start, period.end)) {
    for (const coverage of coverages.filter((candidate) => overlaps(candidate, month))) {
      const patient = coverage.beneficiary.reference!;
      const patientId = patient.split('/')[1];
      const chargeId = newId();
      // The ledger date falls inside the building period, so this build bills it (a daily batch mid-month too).
      const captureKey = `pmpm|${account.id}|${patient}|${month.start.slice(0, 7)}`;
      if (!(await recordCharge(scope.q, { chargeId, captureKey, accountId: account.id, payer: account.payer, patientId, serviceDate: month.start < period.start ? period.start : month.start, state: 'billable' }))) continue;
      const charge: ChargeItem = {
        resourceType: 'ChargeItem',
        status: 'billable',
        definitionCanonical: [fee.url],
        code: { coding: [{ ...CAPITATION_CODE, display: 'Per member per month' }] },
        subject: { reference: patient },
        occurrencePeriod: month,
        requestingOrganization: { reference: scope.services.hubOrganization },
        quantity: { value: 1 },
        priceOverride: { value: fee.unitPrice, currency: fee.currency },
        enteredDate: new Date().toISOString(),
        account: [{ reference: account.reference }],
        supportingInformation: [{ reference: `Coverage/${coverage.id}` }],
      };
      await create(scope, 'ChargeItem', charge, undefined, chargeId);
      recorded += 1;
    }
  }
  return recorded;
}
