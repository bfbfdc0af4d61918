// Batching: the unbilled charges of one payer in a period become professional Claims (fee-for-service
// and case-rate accounts) or one Invoice per account (invoice and capitation accounts, invoice-build.ts).
// A Claim never mixes payers or funding accounts; it holds one member and one rendering CBO (837P 2000B
// and 2310B are claim-level), at most 50 lines (the 837P limit of loop 2400). Billing provider = the hub.
// Each clean Claim is enqueued on the claims queue in the same transaction; one with a non-billable
// diagnosis is stored as a draft, held, with the reason, and re-examined by the next build of its period.
import type { ChargeItem, Claim, ClaimItem, CodeableConcept, Coverage, Extension, Invoice, OperationOutcome } from 'fhir/r4';
import { operationOutcome, type IssueInput } from '../fhir/errors.ts';
import { create } from '../fhir/interactions/create.ts';
import { update } from '../fhir/interactions/update.ts';
import { newId } from '../fhir/resource-identity.ts';
import type { Scope } from '../fhir/scope.ts';
import { enqueue } from '../queue/outbox.ts';
import { readCurrent } from '../store/resource-store.ts';
import { ICD_10_CM, type TerminologyService } from '../terminology/terminology-service.ts';
import type { BillingConfig } from './billing-config.ts';
import { searchResources } from './billing-search.ts';
import {
  CLAIM_ACCOUNT_EXTENSION,
  CLAIM_CONTROL_NUMBER_SYSTEM,
  CLAIM_DELIVERY_STATE_EXTENSION,
  CLAIM_HOLD_REASON_EXTENSION,
  CLAIM_ITEM_CHARGE_EXTENSION,
  CLAIMS_QUEUE,
  LINE_CONTROL_NUMBER_EXTENSION,
  PLACE_OF_SERVICE_SYSTEM,
  SERVICE_MODIFIER_EXTENSION,
  type PayerDeliveryMessage,
} from './billing-conventions.ts';
import { claimsWithChargesIn, markBilled, nextControlNumber, unbilledCharges, type ChargeRow } from './charge-ledger.ts';
import { diagnosisIssues, icdCodesOf, serviceDateOfCharge } from './claim-diagnoses.ts';
import { accountForCoverage, coverageActiveOn, loadContracts, type Contracts, type FundingAccount } from './contracts.ts';
import { buildInvoice } from './invoice-build.ts';
import { recordCapitationCharges, completeMonths } from './capitation-charges.ts';

/** 837P loop 2400 repeats at most 50 times per claim. */
const MAX_LINES = 50;
/** HI holds at most 12 diagnoses; SV107 points at up to 4 of them. */
const MAX_DIAGNOSES = 12;

/** How many complete months back a build records PMPM charges (a daily batch spans every earlier month). */
const CAPITATION_LOOKBACK_MONTHS = 12;

export interface BuildPeriod {
  /** `Organization/id`. */
  payer: string;
  /** Service dates from start to end, inclusive (YYYY-MM-DD). */
  start: string;
  end: string;
}

export interface BillingContext {
  terminology: TerminologyService;
  billing: BillingConfig;
}

export interface BuildResult {
  claims: Claim[];
  invoices: Invoice[];
  /** One OperationOutcome per held claim. */
  held: OperationOutcome[];
}

const money = (value: number) => ({ value: Math.round(value * 100) / 100, currency: 'USD' });
const ref = (type: string, id: string) => `${type}/${id}`;

/** The control number of the nth claim: CLM01 (≤ 20 characters), also the 837P's ISA13 base. */
export const controlNumberFor = (n: number) => `CCH${String(n).padStart(9, '0')}`;

async function loadCharges(scope: Scope, rows: ChargeRow[]): Promise<ChargeItem[]> {
  const charges: ChargeItem[] = [];
  for (const row of rows) {
    const stored = await readCurrent(scope.q, 'ChargeItem', row.charge_id);
    if (stored?.resource && !stored.deleted) charges.push(stored.resource as ChargeItem);
  }
  return charges;
}

/** The member's Coverage that funds `account` on `date`. */
async function coverageFor(scope: Scope, contracts: Contracts, patient: string, account: FundingAccount, date: string): Promise<Coverage | undefined> {
  const coverages = await searchResources<Coverage>(scope, 'Coverage', { beneficiary: patient });
  return coverages.find((coverage) => coverageActiveOn(coverage, date) && accountForCoverage(contracts, coverage)?.id === account.id)
    ?? coverages.find((coverage) => accountForCoverage(contracts, coverage)?.id === account.id);
}

const performerOf = (charge: ChargeItem) => charge.performingOrganization?.reference ?? charge.performer?.[0]?.actor.reference ?? '';

/** Diagnoses of the claim (unique, at most 12) and each line's pointers (at most 4). */
function diagnosesOf(charges: ChargeItem[]): { diagnosis: Claim['diagnosis']; pointers: number[][] } {
  const codes: string[] = [];
  const pointers = charges.map((charge) => {
    const own: number[] = [];
    for (const code of icdCodesOf(charge)) {
      let index = codes.indexOf(code);
      if (index < 0 && codes.length < MAX_DIAGNOSES) index = codes.push(code) - 1;
      if (index >= 0 && own.length < 4 && !own.includes(index + 1)) own.push(index + 1);
    }
    return own;
  });
  const diagnosis = codes.map((code, i) => ({ sequence: i + 1, diagnosisCodeableConcept: { coding: [{ system: ICD_10_CM, code }] } as CodeableConcept }));
  return { diagnosis: diagnosis.length ? diagnosis : undefined, pointers };
}

function claimItems(charges: ChargeItem[], controlNumber: string, pointers: number[][], placeOfService: string): ClaimItem[] {
  return charges.map((charge, i) => {
    const quantity = charge.quantity?.value ?? 1;
    const net = charge.priceOverride?.value ?? 0;
    const modifiers = (charge.extension ?? []).filter((extension) => extension.url === SERVICE_MODIFIER_EXTENSION);
    const item: ClaimItem = {
      extension: [
        { url: LINE_CONTROL_NUMBER_EXTENSION, valueString: `${controlNumber}-${i + 1}` },
        { url: CLAIM_ITEM_CHARGE_EXTENSION, valueReference: { reference: ref('ChargeItem', charge.id!) } },
      ],
      sequence: i + 1,
      careTeamSequence: [1],
      ...(pointers[i].length ? { diagnosisSequence: pointers[i] } : {}),
      productOrService: charge.code,
      ...(modifiers.length ? { modifier: modifiers.map((extension) => ({ coding: [extension.valueCoding!] })) } : {}),
      ...(charge.occurrencePeriod ? { servicedPeriod: charge.occurrencePeriod } : { servicedDate: serviceDateOfCharge(charge) }),
      locationCodeableConcept: { coding: [{ system: PLACE_OF_SERVICE_SYSTEM, code: placeOfService }] },
      quantity: { value: quantity },
      unitPrice: money(quantity ? net / quantity : net),
      net: money(net),
    };
    return item;
  });
}

const holdOutcome = (issues: IssueInput[]): OperationOutcome => operationOutcome(issues);

const holdReason = (issues: IssueInput[]) => issues.map((issue) => issue.diagnostics).join('; ');

function stateExtensions(account: FundingAccount, issues: IssueInput[]): Extension[] {
  return [
    { url: CLAIM_ACCOUNT_EXTENSION, valueReference: { reference: account.reference } },
    { url: CLAIM_DELIVERY_STATE_EXTENSION, valueCode: issues.length ? 'held' : 'queued' },
    ...(issues.length ? [{ url: CLAIM_HOLD_REASON_EXTENSION, valueString: holdReason(issues) }] : []),
  ];
}

async function enqueueClaim(scope: Scope, claim: Claim, payer: string): Promise<void> {
  const payload: PayerDeliveryMessage = { kind: 'claim', reference: ref('Claim', claim.id!), payer };
  await enqueue(scope.q, { queue: CLAIMS_QUEUE, payload, dedupeKey: `claim:Claim/${claim.id}` });
  scope.afterCommit(() => scope.services.nudgeOutbox());
}

async function buildClaim(scope: Scope, context: BillingContext, contracts: Contracts, account: FundingAccount, charges: ChargeItem[], result: BuildResult): Promise<void> {
  const patient = charges[0].subject.reference!;
  const performer = performerOf(charges[0]);
  const dates = charges.flatMap((charge) => [serviceDateOfCharge(charge), (charge.occurrencePeriod?.end ?? '').slice(0, 10)]).filter(Boolean).sort();
  const coverage = await coverageFor(scope, contracts, patient, account, dates[0]);
  const controlNumber = controlNumberFor(await nextControlNumber(scope.q));
  const { diagnosis, pointers } = diagnosesOf(charges);
  const issues = charges.flatMap((charge, i) => diagnosisIssues(context.terminology, charge, i + 1));
  if (!coverage) issues.push({ severity: 'error', code: 'not-found', diagnostics: `${patient} has no Coverage with ${account.payer} for ${account.reference}`, expression: 'Claim.insurance' });
  const id = newId();
  const claim: Claim = {
    resourceType: 'Claim',
    id,
    extension: stateExtensions(account, issues),
    identifier: [{ system: CLAIM_CONTROL_NUMBER_SYSTEM, value: controlNumber }],
    status: issues.length ? 'draft' : 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: patient },
    billablePeriod: { start: dates[0], end: dates[dates.length - 1] },
    created: new Date().toISOString(),
    insurer: { reference: account.payer },
    provider: { reference: scope.services.hubOrganization },
    priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
    careTeam: [{ sequence: 1, provider: { reference: performer }, role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claimcareteamrole', code: 'primary' }] } }],
    diagnosis,
    // Without a Coverage the claim is held: the reference then only says so (R4 requires insurance).
    insurance: [{ sequence: 1, focal: true, coverage: coverage ? { reference: ref('Coverage', coverage.id!) } : { display: 'No Coverage of the member with this payer' } }],
    item: claimItems(charges, controlNumber, pointers, context.billing.defaultPlaceOfService),
    total: money(charges.reduce((sum, charge) => sum + (charge.priceOverride?.value ?? 0), 0)),
  };
  const stored = (await create(scope, 'Claim', claim, undefined, id)).resource as Claim;
  await markBilled(scope.q, charges.map((charge) => charge.id!), ref('Claim', id));
  if (issues.length) result.held.push(holdOutcome(issues));
  else await enqueueClaim(scope, stored, account.payer);
  result.claims.push(stored);
}

/** A held claim of the period, re-examined: coded correctly now → its diagnoses rebuilt, active and enqueued. */
async function reexamineHeld(scope: Scope, context: BillingContext, claimRef: string, result: BuildResult): Promise<void> {
  const stored = await readCurrent(scope.q, 'Claim', claimRef.split('/')[1], true);
  const claim = stored?.resource as Claim | undefined;
  if (!claim || stored?.deleted || claim.status !== 'draft') return;
  if (!claim.extension?.some((extension) => extension.url === CLAIM_DELIVERY_STATE_EXTENSION && extension.valueCode === 'held')) return;
  const charges = await loadCharges(scope, (claim.item ?? []).map((item) => ({ charge_id: item.extension?.find((e) => e.url === CLAIM_ITEM_CHARGE_EXTENSION)?.valueReference?.reference?.split('/')[1] ?? '' }) as ChargeRow));
  const issues = charges.flatMap((charge, i) => diagnosisIssues(context.terminology, charge, i + 1));
  if (claim.insurance?.[0]?.coverage.reference === undefined) issues.push({ severity: 'error', code: 'not-found', diagnostics: 'The member has no Coverage with the payer', expression: 'Claim.insurance' });
  const accountRef = claim.extension.find((extension) => extension.url === CLAIM_ACCOUNT_EXTENSION)?.valueReference?.reference ?? '';
  const account = { reference: accountRef } as FundingAccount;
  const { diagnosis, pointers } = diagnosesOf(charges);
  const items = (claim.item ?? []).map((item, i) => ({ ...item, diagnosisSequence: pointers[i]?.length ? pointers[i] : undefined }));
  const updated: Claim = { ...claim, status: issues.length ? 'draft' : 'active', extension: stateExtensions(account, issues), diagnosis, item: items };
  const saved = (await update(scope, 'Claim', claim.id!, updated)).resource as Claim;
  if (issues.length) result.held.push(holdOutcome(issues));
  else await enqueueClaim(scope, saved, claim.insurer?.reference ?? '');
  result.claims.push(saved);
}

/** Builds the payer's claims and invoices for a period (one transaction: the caller's scope). */
export async function buildForPeriod(scope: Scope, context: BillingContext, period: BuildPeriod): Promise<BuildResult> {
  const contracts = await loadContracts(scope);
  const result: BuildResult = { claims: [], invoices: [], held: [] };
  // Serializes builds of one payer: two at once would otherwise both see the same held claims.
  await scope.q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`claim-build:${period.payer}`]);
  for (const claimRef of await claimsWithChargesIn(scope.q, period.payer, period.start, period.end)) await reexamineHeld(scope, context, claimRef, result);
  const accounts = contracts.accounts.filter((account) => account.payer === period.payer);
  // Aggregate models (invoice, capitation) bill whole calendar months: one Invoice per account and month,
  // once the month is over. A daily batch leaves the running month's charges to the batch after it ends;
  // PMPM charges are recorded for at most the last CAPITATION_LOOKBACK_MONTHS complete months of a build.
  const months = completeMonths(period.start, period.end);
  for (const account of accounts.filter((candidate) => candidate.model === 'capitation')) {
    for (const month of months.slice(-CAPITATION_LOOKBACK_MONTHS)) await recordCapitationCharges(scope, contracts, account, { payer: period.payer, ...month });
  }
  const rows = await unbilledCharges(scope.q, period.payer, period.start, period.end);
  for (const account of accounts) {
    const accountRows = rows.filter((row) => row.account_id === account.id);
    if (account.model === 'invoice' || account.model === 'capitation') {
      for (const month of months) {
        const charges = await loadCharges(scope, accountRows.filter((row) => row.service_date >= month.start && row.service_date <= month.end));
        if (charges.length) result.invoices.push(await buildInvoice(scope, account, charges, { payer: period.payer, ...month }));
      }
      continue;
    }
    const charges = await loadCharges(scope, accountRows);
    if (!charges.length) continue;
    const groups = new Map<string, ChargeItem[]>();
    for (const charge of charges) {
      const key = `${charge.subject.reference}|${performerOf(charge)}`;
      groups.set(key, [...(groups.get(key) ?? []), charge]);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += MAX_LINES) await buildClaim(scope, context, contracts, account, group.slice(i, i + MAX_LINES), result);
    }
  }
  return result;
}
