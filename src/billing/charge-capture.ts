// Charge capture: when the hub's Task of a referral completes, its source Task is completed in the same
// transaction (src/referrals/referral-workflow.ts), which also writes an outbox row for the
// 'charge-capture' queue (requestChargeCapture). The job then records, in one transaction with its
// idempotency record, a ChargeItem for each output Procedure whose code matches a fee schedule entry of
// the patient's active Coverage: patient, code + modifiers, quantity, service date, performer CBO,
// funding account and the referral's Z-code diagnoses. Capture keys (charge-ledger.ts) make a repeat a no-op.
import type { ChargeItem, CodeableConcept, Condition, Coverage, Extension, Procedure, ServiceRequest, Task } from 'fhir/r4';
import type { FhirEngine } from '../fhir/engine.ts';
import { create } from '../fhir/interactions/create.ts';
import { newId } from '../fhir/resource-identity.ts';
import type { Scope } from '../fhir/scope.ts';
import { enqueue } from '../queue/outbox.ts';
import { claimMessage } from '../queue/processed-once.ts';
import type { QueueModule } from '../queue/queue-module.ts';
import type { Queryable } from '../store/database.ts';
import { readCurrent } from '../store/resource-store.ts';
import { ICD_10_CM } from '../terminology/terminology-service.ts';
import { searchResources } from './billing-search.ts';
import { SERVICE_MODIFIER_EXTENSION, X12_UNIT_SYSTEM, SERVICE_UNITS_EXTENSION } from './billing-conventions.ts';
import { recordCharge } from './charge-ledger.ts';
import { accountForCoverage, coverageActiveOn, feeFor, loadContracts, modifiersOf, type Contracts } from './contracts.ts';

export const CHARGE_CAPTURE_QUEUE = 'charge-capture';

export interface ChargeCaptureRequest {
  /** The hub's Task the CBO completed (its outputs are the Procedures). */
  hubTaskId: string;
  /** The referral source's Task: the referral episode (one case-rate charge each). */
  sourceTaskId: string;
}

/** Writes the capture request in the completing transaction; once per hub Task. */
export async function requestChargeCapture(q: Queryable, request: ChargeCaptureRequest): Promise<void> {
  await enqueue(q, { queue: CHARGE_CAPTURE_QUEUE, payload: request, dedupeKey: `charge-capture:Task/${request.hubTaskId}` });
}

const idOf = (reference: string | undefined, type: string) => {
  const match = reference ? new RegExp(`^${type}/([A-Za-z0-9\\-.]{1,64})$`).exec(reference) : null;
  return match?.[1];
};

async function current<T>(q: Queryable, type: string, id: string | undefined): Promise<T | undefined> {
  if (!id) return undefined;
  const stored = await readCurrent(q, type, id);
  return stored && !stored.deleted ? (stored.resource as T) : undefined;
}

/** The referral's diagnoses: ICD-10-CM codings of the ServiceRequest's reasonCode and reason Conditions, once each. */
async function referralDiagnoses(q: Queryable, serviceRequests: (ServiceRequest | undefined)[]): Promise<CodeableConcept[]> {
  const concepts: CodeableConcept[] = [];
  for (const request of serviceRequests) {
    if (!request) continue;
    concepts.push(...(request.reasonCode ?? []));
    for (const reason of request.reasonReference ?? []) {
      const condition = await current<Condition>(q, 'Condition', idOf(reason.reference, 'Condition'));
      if (condition?.code) concepts.push(condition.code);
    }
  }
  const seen = new Set<string>();
  return concepts.flatMap((concept) =>
    (concept.coding ?? [])
      .filter((coding) => coding.system === ICD_10_CM && coding.code && !seen.has(coding.code) && seen.add(coding.code))
      .map((coding) => ({ coding: [{ system: ICD_10_CM, code: coding.code, display: coding.display }] })),
  );
}

const serviceDateOf = (procedure: Procedure): { date?: string; end?: string } => {
  const start = procedure.performedDateTime ?? procedure.performedPeriod?.start;
  const end = procedure.performedPeriod?.end;
  return { date: start?.slice(0, 10), end: end && end.slice(0, 10) !== start?.slice(0, 10) ? end.slice(0, 10) : undefined };
};

export interface CaptureResult {
  recorded: string[];
}

/** Records the charges of a completed hub Task (idempotent by capture key). */
export async function captureCharges(scope: Scope, request: ChargeCaptureRequest, contracts?: Contracts): Promise<CaptureResult> {
  const q = scope.q;
  const hubTask = await current<Task>(q, 'Task', request.hubTaskId);
  if (!hubTask || hubTask.status !== 'completed') return { recorded: [] };
  const patientId = idOf(hubTask.for?.reference, 'Patient');
  const performer = hubTask.owner?.reference;
  if (!patientId || !performer) return { recorded: [] };
  const hubRequest = await current<ServiceRequest>(q, 'ServiceRequest', idOf(hubTask.focus?.reference, 'ServiceRequest'));
  const sourceRequest = await current<ServiceRequest>(q, 'ServiceRequest', idOf(hubRequest?.basedOn?.[0]?.reference, 'ServiceRequest'));
  const diagnoses = await referralDiagnoses(q, [hubRequest, sourceRequest]);
  const coverages = await searchResources<Coverage>(scope, 'Coverage', { beneficiary: `Patient/${patientId}` });
  const loaded = contracts ?? (await loadContracts(scope));
  const recorded: string[] = [];
  for (const output of hubTask.output ?? []) {
    const procedure = await current<Procedure>(q, 'Procedure', idOf(output.valueReference?.reference, 'Procedure'));
    if (!procedure || procedure.status !== 'completed') continue;
    const { date, end } = serviceDateOf(procedure);
    if (!date) continue;
    const modifiers = modifiersOf(procedure.extension);
    for (const coverage of coverages.filter((candidate) => coverageActiveOn(candidate, date))) {
      const account = accountForCoverage(loaded, coverage);
      if (!account) continue;
      const fee = (procedure.code?.coding ?? []).map((coding) => feeFor(loaded, account.program, coding, modifiers, date)).find(Boolean);
      if (!fee) continue;
      const caseRate = account.model === 'case-rate';
      const units = caseRate ? 1 : (procedure.extension?.find((extension) => extension.url === SERVICE_UNITS_EXTENSION)?.valueQuantity?.value ?? 1);
      const mods = fee.modifiers;
      // One charge per service (member, code + modifiers, date, rendering CBO) across all accounts; one per episode for a case rate.
      const captureKey = caseRate ? `case|${account.id}|Task/${request.sourceTaskId}` : `svc|${patientId}|${fee.code.code}:${mods.join(':')}|${date}|${performer}`;
      // Capitation pays per member per month: a service is recorded for utilization, never billed.
      const state = account.model === 'capitation' ? 'not-billable' : 'billable';
      const chargeId = newId();
      if (!(await recordCharge(q, { chargeId, captureKey, accountId: account.id, payer: account.payer, patientId, serviceDate: date, state }))) break;
      const extension: Extension[] = mods.map((code) => ({ url: SERVICE_MODIFIER_EXTENSION, valueCoding: { system: fee.code.system, code } }));
      const charge: ChargeItem = {
        resourceType: 'ChargeItem',
        ...(extension.length ? { extension } : {}),
        status: state,
        definitionCanonical: [fee.url],
        code: { coding: [fee.code] },
        subject: { reference: `Patient/${patientId}` },
        ...(end ? { occurrencePeriod: { start: date, end } } : { occurrenceDateTime: date }),
        performer: [{ actor: { reference: performer } }],
        performingOrganization: { reference: performer },
        requestingOrganization: { reference: scope.services.hubOrganization },
        // The unit basis rides on the quantity (X12 SV103: UN units, MJ minutes).
        quantity: { value: units, system: X12_UNIT_SYSTEM, code: fee.unit },
        // The price at capture: a later change of the fee schedule does not re-price delivered services.
        priceOverride: { value: Math.round(fee.unitPrice * units * 100) / 100, currency: fee.currency },
        enteredDate: new Date().toISOString(),
        reason: diagnoses.length ? diagnoses : undefined,
        service: [{ reference: `Procedure/${procedure.id}` }],
        account: [{ reference: account.reference }],
        supportingInformation: [{ reference: `Task/${request.sourceTaskId}` }, { reference: `Task/${request.hubTaskId}` }],
      };
      await create(scope, 'ChargeItem', charge, undefined, chargeId);
      recorded.push(chargeId);
      break; // one funding source per service (braiding: never two accounts for one delivery)
    }
  }
  return { recorded };
}

export function chargeCaptureQueue(engine: FhirEngine, hubOrganization: string): QueueModule<ChargeCaptureRequest> {
  return {
    name: CHARGE_CAPTURE_QUEUE,
    attempts: 5,
    backoffMs: 500,
    async process({ outboxId, payload }) {
      await engine.runAsSystem('$charge-capture', hubOrganization, async (scope) => {
        if (!(await claimMessage(scope.q, { queue: CHARGE_CAPTURE_QUEUE, outboxId }))) return;
        await captureCharges(scope, payload);
      });
    },
  };
}
