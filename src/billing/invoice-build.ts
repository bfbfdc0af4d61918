// Invoice-model (and capitation) accounts are billed in aggregate: one FHIR Invoice per payer account
// and calendar month (claim-build.ts), a line per charge (member × service × date × units × rendering CBO), no member-level claim.
// It is enqueued on the claims queue (kind 'invoice'); its CSV rendering is invoice-csv.ts.
import type { ChargeItem, Invoice } from 'fhir/r4';
import { create } from '../fhir/interactions/create.ts';
import { newId } from '../fhir/resource-identity.ts';
import type { Scope } from '../fhir/scope.ts';
import { enqueue } from '../queue/outbox.ts';
import { CLAIMS_QUEUE, INVOICE_NUMBER_SYSTEM, INVOICE_PERIOD_EXTENSION, type PayerDeliveryMessage } from './billing-conventions.ts';
import { invoicedBefore, markBilled } from './charge-ledger.ts';
import type { BuildPeriod } from './claim-build.ts';
import type { FundingAccount } from './contracts.ts';

const money = (value: number) => ({ value: Math.round(value * 100) / 100, currency: 'USD' });

export async function buildInvoice(scope: Scope, account: FundingAccount, charges: ChargeItem[], period: BuildPeriod): Promise<Invoice> {
  const id = newId();
  // One Invoice per account and month; charges captured after it was issued go on a supplemental one.
  const supplemental = await invoicedBefore(scope.q, account.id, period.start, period.end);
  const total = charges.reduce((sum, charge) => sum + (charge.priceOverride?.value ?? 0), 0);
  const invoice: Invoice = {
    resourceType: 'Invoice',
    id,
    extension: [{ url: INVOICE_PERIOD_EXTENSION, valuePeriod: { start: period.start, end: period.end } }],
    // Several builds of one period (late charges) each get their own number: account, period and a sequence.
    identifier: [{ system: INVOICE_NUMBER_SYSTEM, value: `${account.id}:${period.start}:${period.end}:${id.slice(0, 8)}` }],
    status: 'issued',
    type: { text: `${account.model === 'capitation' ? 'Capitation (PMPM) statement' : 'Social care services invoice'}${supplemental ? ' (supplemental)' : ''}` },
    recipient: { reference: account.payer },
    issuer: { reference: scope.services.hubOrganization },
    date: new Date().toISOString(),
    account: { reference: account.reference },
    lineItem: charges.map((charge, i) => ({
      sequence: i + 1,
      chargeItemReference: { reference: `ChargeItem/${charge.id}` },
      priceComponent: [{ type: 'base', amount: money(charge.priceOverride?.value ?? 0) }],
    })),
    totalNet: money(total),
    totalGross: money(total),
  };
  const stored = (await create(scope, 'Invoice', invoice, undefined, id)).resource as Invoice;
  await markBilled(scope.q, charges.map((charge) => charge.id!), `Invoice/${id}`);
  const payload: PayerDeliveryMessage = { kind: 'invoice', reference: `Invoice/${id}`, payer: account.payer };
  await enqueue(scope.q, { queue: CLAIMS_QUEUE, payload, dedupeKey: `invoice:Invoice/${id}` });
  scope.afterCommit(() => scope.services.nudgeOutbox());
  return stored;
}
