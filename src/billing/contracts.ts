// Contracts as data: funding Accounts (one per contract or grant, with its payer and payment model)
// and fee schedules (ChargeItemDefinition: code + up to 4 modifiers → unit price and unit, applicable
// to a program by useContext). Read here into plain values the charge capture and builders use.
import type { Account, ChargeItemDefinition, Coding, Coverage, Extension } from 'fhir/r4';
import type { Scope } from '../fhir/scope.ts';
import { searchResources } from './billing-search.ts';
import {
  ACCOUNT_PAYER_EXTENSION,
  BILLING_UNIT_EXTENSION,
  FUNDING_PROGRAM_SYSTEM,
  PAYMENT_MODEL_EXTENSION,
  SERVICE_MODIFIER_EXTENSION,
  type PaymentModel,
} from './billing-conventions.ts';

export interface FundingAccount {
  id: string;
  reference: string;
  name: string;
  program: string;
  /** `Organization/id` of the payer. */
  payer: string;
  model: PaymentModel;
}

export interface FeeScheduleEntry {
  url: string;
  program: string;
  code: Coding;
  modifiers: string[];
  unitPrice: number;
  currency: string;
  /** X12 SV103: UN units, MJ minutes. */
  unit: 'UN' | 'MJ';
  effective?: { start?: string; end?: string };
}

export interface Contracts {
  accounts: FundingAccount[];
  fees: FeeScheduleEntry[];
}

const MODELS: readonly PaymentModel[] = ['fee-for-service', 'case-rate', 'capitation', 'invoice'];

const extensionsOf = (extensions: Extension[] | undefined, url: string) => (extensions ?? []).filter((extension) => extension.url === url);

/** The modifiers (up to 4, in order) a resource carries in SERVICE_MODIFIER_EXTENSION. */
export const modifiersOf = (extensions: Extension[] | undefined): string[] =>
  extensionsOf(extensions, SERVICE_MODIFIER_EXTENSION).flatMap((extension) => (extension.valueCoding?.code ? [extension.valueCoding.code] : []));

export function toFundingAccount(account: Account): FundingAccount | undefined {
  const program = account.identifier?.find((identifier) => identifier.system === FUNDING_PROGRAM_SYSTEM)?.value;
  const payer = extensionsOf(account.extension, ACCOUNT_PAYER_EXTENSION)[0]?.valueReference?.reference;
  const model = extensionsOf(account.extension, PAYMENT_MODEL_EXTENSION)[0]?.valueCode as PaymentModel | undefined;
  if (account.status !== 'active' || !program || !payer || !model || !MODELS.includes(model)) return undefined;
  return { id: account.id!, reference: `Account/${account.id}`, name: account.name ?? program, program, payer, model };
}

export function toFeeScheduleEntry(definition: ChargeItemDefinition): FeeScheduleEntry | undefined {
  const program = definition.useContext
    ?.filter((context) => context.code.code === 'program')
    .flatMap((context) => context.valueCodeableConcept?.coding ?? [])
    .find((coding) => coding.system === FUNDING_PROGRAM_SYSTEM)?.code;
  const code = definition.code?.coding?.[0];
  const base = definition.propertyGroup?.flatMap((group) => group.priceComponent ?? []).find((component) => component.type === 'base');
  if (definition.status !== 'active' || !program || !code?.code || base?.amount?.value === undefined) return undefined;
  const unit = extensionsOf(definition.extension, BILLING_UNIT_EXTENSION)[0]?.valueCode === 'MJ' ? 'MJ' : 'UN';
  return {
    url: definition.url,
    program,
    code: { system: code.system, code: code.code },
    modifiers: modifiersOf(definition.extension).slice(0, 4),
    unitPrice: base.amount.value,
    currency: base.amount.currency ?? 'USD',
    unit,
    effective: definition.effectivePeriod,
  };
}

export async function loadContracts(scope: Scope): Promise<Contracts> {
  const accounts = (await searchResources<Account>(scope, 'Account', { status: 'active' })).flatMap((account) => toFundingAccount(account) ?? []);
  const fees = (await searchResources<ChargeItemDefinition>(scope, 'ChargeItemDefinition', { status: 'active' })).flatMap((definition) => toFeeScheduleEntry(definition) ?? []);
  return { accounts, fees };
}

const within = (date: string, period: { start?: string; end?: string } | undefined) =>
  !period || ((!period.start || period.start.slice(0, 10) <= date) && (!period.end || period.end.slice(0, 10) >= date));

/** The funding program a Coverage belongs to: its class of type plan (FUNDING_PROGRAM_SYSTEM codes). */
export const programOf = (coverage: Coverage): string | undefined =>
  coverage.class?.find((entry) => entry.type.coding?.some((coding) => coding.code === 'plan'))?.value;

/** Whether a Coverage is in force on `date`. */
export const coverageActiveOn = (coverage: Coverage, date: string) => coverage.status === 'active' && within(date, coverage.period);

/** The funding account of a Coverage: the active account of its program and payer. */
export function accountForCoverage(contracts: Contracts, coverage: Coverage): FundingAccount | undefined {
  const payers = new Set((coverage.payor ?? []).flatMap((payor) => (payor.reference ? [payor.reference] : [])));
  const program = programOf(coverage);
  return contracts.accounts.find((account) => payers.has(account.payer) && account.program === program);
}

/**
 * The fee schedule entry for a service: same code system and code, on `date`. The service's own
 * modifiers must equal the entry's; a service without modifiers matches when one entry alone has its code
 * (H0043-U6 and H0043-U3 are different services, so a bare H0043 with both on the schedule matches neither).
 */
export function feeFor(contracts: Contracts, program: string, code: Coding, modifiers: string[], date: string): FeeScheduleEntry | undefined {
  const candidates = contracts.fees.filter(
    (fee) => fee.program === program && fee.code.system === code.system && fee.code.code === code.code && within(date, fee.effective),
  );
  if (modifiers.length) return candidates.find((fee) => fee.modifiers.join(':') === modifiers.join(':'));
  return candidates.length === 1 ? candidates[0] : candidates.find((fee) => fee.modifiers.length === 0);
}
