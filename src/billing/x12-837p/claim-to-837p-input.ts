// FHIR → 837P input: the Claim with its Patient, Coverage, payer and rendering Organizations, and the
// hub's billing identity. Missing facts the 837P requires are a 422 naming the FHIR path to fix.
import type { Claim, Coverage, Organization, Patient } from 'fhir/r4';
import { FhirError } from '../../fhir/errors.ts';
import type { Scope } from '../../fhir/scope.ts';
import { readCurrent } from '../../store/resource-store.ts';
import type { BillingConfig } from '../billing-config.ts';
import {
  CLAIM_CONTROL_NUMBER_SYSTEM,
  LINE_CONTROL_NUMBER_EXTENSION,
  PLAN_PROVIDER_ID_SYSTEM,
  X12_PAYER_ID_SYSTEM,
  X12_RECEIVER_ID_SYSTEM,
  X12_UNIT_SYSTEM,
} from '../billing-conventions.ts';
import type { ProfessionalClaimInput, X12Address } from './professional-claim-input.ts';

const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const NUCC_SYSTEM = 'http://nucc.org/provider-taxonomy';
const CLAIM_FILING_SYSTEM = 'https://x12.org/codes/claim-filing-indicator-code';

const unprocessable = (diagnostics: string, expression: string) => new FhirError(422, [{ severity: 'error', code: 'required', diagnostics, expression }]);

async function read<T>(scope: Scope, reference: string | undefined, type: string): Promise<T | undefined> {
  const match = reference ? new RegExp(`^${type}/([A-Za-z0-9\\-.]{1,64})$`).exec(reference) : null;
  if (!match) return undefined;
  const stored = await readCurrent(scope.q, type, match[1]);
  return stored && !stored.deleted ? (stored.resource as T) : undefined;
}

const identifier = (org: Organization | undefined, system: string) => org?.identifier?.find((id) => id.system === system)?.value;

function addressOf(address: Patient['address']): X12Address | undefined {
  const home = address?.find((entry) => entry.use === 'home') ?? address?.[0];
  if (!home?.line?.length || !home.city || !home.state || !home.postalCode) return undefined;
  return { line: home.line[0], city: home.city, state: home.state, postalCode: home.postalCode };
}

export async function claimTo837pInput(scope: Scope, claim: Claim, billing: BillingConfig): Promise<ProfessionalClaimInput> {
  const controlNumber = claim.identifier?.find((id) => id.system === CLAIM_CONTROL_NUMBER_SYSTEM)?.value;
  if (!controlNumber) throw unprocessable('The claim has no claim control number', 'Claim.identifier');
  const patient = await read<Patient>(scope, claim.patient.reference, 'Patient');
  if (!patient) throw unprocessable('The claim names no stored Patient', 'Claim.patient');
  const coverage = await read<Coverage>(scope, claim.insurance?.[0]?.coverage.reference, 'Coverage');
  if (!coverage) throw unprocessable('The claim names no stored Coverage', 'Claim.insurance[0].coverage');
  const memberId = coverage.subscriberId ?? coverage.identifier?.[0]?.value;
  if (!memberId) throw unprocessable('The Coverage has no member id (subscriberId)', 'Coverage.subscriberId');
  const payer = await read<Organization>(scope, claim.insurer?.reference, 'Organization');
  if (!payer) throw unprocessable('The claim names no stored payer Organization', 'Claim.insurer');
  const payerId = identifier(payer, X12_PAYER_ID_SYSTEM);
  if (!payerId) throw unprocessable(`The payer has no X12 payer id (identifier system ${X12_PAYER_ID_SYSTEM})`, 'Organization.identifier');
  const cbo = await read<Organization>(scope, claim.careTeam?.[0]?.provider.reference, 'Organization');
  const name = patient.name?.[0];
  const numbers = (claim.item ?? []).map((item) => item.extension?.find((extension) => extension.url === LINE_CONTROL_NUMBER_EXTENSION)?.valueString);
  return {
    interchange: {
      controlNumber: Number(controlNumber.replace(/\D/g, '')) || 1,
      createdAt: new Date(claim.created),
      usage: billing.usage,
      submitter: { id: billing.submitterId, name: billing.name, contactName: billing.contactName, contactPhone: billing.contactPhone },
      receiver: { id: identifier(payer, X12_RECEIVER_ID_SYSTEM) ?? payerId, name: payer.name ?? payerId },
    },
    billingProvider: { name: billing.name, npi: billing.npi, tin: billing.tin, taxonomy: billing.taxonomy, address: billing.address },
    subscriber: {
      lastName: name?.family ?? '',
      firstName: name?.given?.[0] ?? '',
      memberId,
      address: addressOf(patient.address),
      birthDate: patient.birthDate,
      gender: patient.gender === 'female' ? 'F' : patient.gender === 'male' ? 'M' : 'U',
      claimFilingIndicator: coverage.type?.coding?.find((coding) => coding.system === CLAIM_FILING_SYSTEM)?.code ?? 'MC',
    },
    payer: { name: payer.name ?? payerId, payerId },
    claim: {
      controlNumber,
      total: claim.total?.value ?? 0,
      placeOfService: claim.item?.[0]?.locationCodeableConcept?.coding?.[0]?.code ?? billing.defaultPlaceOfService,
      frequency: '1',
      priorAuthorization: claim.insurance?.[0]?.preAuthRef?.[0],
      diagnoses: (claim.diagnosis ?? []).flatMap((diagnosis) => diagnosis.diagnosisCodeableConcept?.coding?.[0]?.code ?? []),
      rendering: cbo
        ? {
            name: cbo.name ?? cbo.id!,
            npi: identifier(cbo, NPI_SYSTEM),
            planProviderId: identifier(cbo, PLAN_PROVIDER_ID_SYSTEM),
            taxonomy: claim.careTeam?.[0]?.qualification?.coding?.[0]?.code ?? cbo.type?.flatMap((type) => type.coding ?? []).find((coding) => coding.system === NUCC_SYSTEM)?.code,
          }
        : undefined,
      transactionType: 'CH',
    },
    lines: (claim.item ?? []).map((item, i) => ({
      qualifier: 'HC',
      code: item.productOrService.coding?.[0]?.code ?? '',
      modifiers: (item.modifier ?? []).flatMap((modifier) => modifier.coding?.[0]?.code ?? []),
      charge: item.net?.value ?? 0,
      unit: item.quantity?.system === X12_UNIT_SYSTEM && item.quantity.code === 'MJ' ? 'MJ' : 'UN',
      quantity: item.quantity?.value ?? 1,
      pointers: item.diagnosisSequence ?? [],
      serviceStart: item.servicedDate ?? item.servicedPeriod?.start ?? '',
      serviceEnd: item.servicedPeriod?.end,
      lineControlNumber: numbers[i] ?? `${controlNumber}-${item.sequence}`,
    })),
  };
}
