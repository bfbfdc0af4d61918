// The CSV rendering of an Invoice: what plans that take invoices instead of 837s actually load (DHCS's
// invoice option, NC HOP). One row per line: member, service (code + modifiers), dates, units, amount,
// rendering CBO (NPI or plan-assigned id), diagnoses and funding account. RFC 4180 quoting.
import type { ChargeItem, Coverage, Invoice, Organization, Patient } from 'fhir/r4';
import type { Scope } from '../fhir/scope.ts';
import { readCurrent } from '../store/resource-store.ts';
import { searchResources } from './billing-search.ts';
import { INVOICE_NUMBER_SYSTEM, PLAN_PROVIDER_ID_SYSTEM, SERVICE_MODIFIER_EXTENSION } from './billing-conventions.ts';
import { icdCodesOf } from './claim-diagnoses.ts';

export const INVOICE_CSV_COLUMNS = [
  'invoice_number', 'line', 'member_id', 'member_last_name', 'member_first_name', 'member_birth_date', 'service_code', 'modifiers',
  'service_start', 'service_end', 'units', 'amount', 'rendering_provider_id', 'rendering_provider_name', 'diagnoses', 'account',
] as const;

const csvField = (value: string | number | undefined) => {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

async function read<T>(scope: Scope, reference: string | undefined): Promise<T | undefined> {
  const [type, id] = (reference ?? '').split('/');
  if (!type || !id) return undefined;
  const stored = await readCurrent(scope.q, type, id);
  return stored && !stored.deleted ? (stored.resource as T) : undefined;
}

export async function renderInvoiceCsv(scope: Scope, invoice: Invoice): Promise<string> {
  const number = invoice.identifier?.find((identifier) => identifier.system === INVOICE_NUMBER_SYSTEM)?.value ?? invoice.id ?? '';
  const rows: string[] = [INVOICE_CSV_COLUMNS.join(',')];
  const members = new Map<string, { patient?: Patient; memberId?: string }>();
  for (const line of invoice.lineItem ?? []) {
    const charge = await read<ChargeItem>(scope, line.chargeItemReference?.reference);
    if (!charge) continue;
    const patientRef = charge.subject.reference ?? '';
    if (!members.has(patientRef)) {
      const coverages = await searchResources<Coverage>(scope, 'Coverage', { beneficiary: patientRef, payor: invoice.recipient?.reference ?? '' });
      members.set(patientRef, { patient: await read<Patient>(scope, patientRef), memberId: coverages[0]?.subscriberId });
    }
    const member = members.get(patientRef)!;
    const cbo = await read<Organization>(scope, charge.performingOrganization?.reference);
    const renderingId = cbo?.identifier?.find((id) => id.system === 'http://hl7.org/fhir/sid/us-npi')?.value ?? cbo?.identifier?.find((id) => id.system === PLAN_PROVIDER_ID_SYSTEM)?.value;
    const start = (charge.occurrenceDateTime ?? charge.occurrencePeriod?.start ?? '').slice(0, 10);
    const end = (charge.occurrencePeriod?.end ?? start).slice(0, 10);
    const modifiers = (charge.extension ?? []).filter((extension) => extension.url === SERVICE_MODIFIER_EXTENSION).map((extension) => extension.valueCoding?.code).join(':');
    const amount = line.priceComponent?.find((component) => component.type === 'base')?.amount?.value ?? charge.priceOverride?.value ?? 0;
    rows.push(
      [
        number, line.sequence, member.memberId, member.patient?.name?.[0]?.family, member.patient?.name?.[0]?.given?.[0], member.patient?.birthDate,
        charge.code.coding?.[0]?.code, modifiers, start, end, charge.quantity?.value ?? 1, amount.toFixed(2), renderingId, cbo?.name,
        icdCodesOf(charge).join(' '), invoice.account?.reference,
      ].map(csvField).join(','),
    );
  }
  return rows.join('\r\n') + '\r\n';
}
