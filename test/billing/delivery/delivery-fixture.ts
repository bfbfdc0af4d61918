// A payer, its billing Endpoint, a covered member and a built claim, written as hub-admin the way
// the billing conventions say (until then the claim builder's own output), for the delivery tests.
import { randomBytes } from 'node:crypto';
import { BILLING_CONNECTION_TYPE_SYSTEM, BILLING_PAYLOAD_TYPE, CLAIM_CONTROL_NUMBER_SYSTEM, CLAIMS_QUEUE, ENDPOINT_CONNECTION_TYPE_SYSTEM, LINE_CONTROL_NUMBER_EXTENSION, type PayerDeliveryMessage } from '../../../src/billing/billing-conventions.ts';
import { enqueue } from '../../../src/queue/outbox.ts';
import { wasProcessed } from '../../../src/queue/processed-once.ts';
import type { TestServer } from '../../helpers/test-server.ts';

export const HPAYMT_OPT_OUT = (id: string, patient: string) => ({
  resourceType: 'Consent', id, status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: `Patient/${patient}` }, dateTime: new Date().toISOString(),
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
  // The member refuses disclosure for payment (and only that).
  provision: { type: 'deny', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HPAYMT' }] },
});

export type ChannelKind = 'fhir' | 'sftp' | 'drop-folder';

async function put(server: TestServer, resource: { resourceType: string; id: string }): Promise<void> {
  const res = await server.request('PUT', `/fhir/${resource.resourceType}/${resource.id}`, { body: resource });
  if (res.status >= 300) throw new Error(`PUT ${resource.resourceType}/${resource.id}: ${res.status} ${res.text}`);
}

/** The payer Organization with its billing Endpoint of `kind` at `address`. */
export async function createPayer(server: TestServer, payerId: string, kind: ChannelKind, address: string): Promise<void> {
  const connectionType = kind === 'fhir' ? { system: ENDPOINT_CONNECTION_TYPE_SYSTEM, code: 'hl7-fhir-rest' } : { system: BILLING_CONNECTION_TYPE_SYSTEM, code: kind };
  await put(server, {
    resourceType: 'Endpoint', id: `${payerId}-billing`, status: 'active', connectionType, address,
    managingOrganization: { reference: `Organization/${payerId}` },
    payloadType: [{ coding: [{ ...BILLING_PAYLOAD_TYPE }] }],
    payloadMimeType: [kind === 'fhir' ? 'application/fhir+json' : 'application/edi-x12'],
  } as { resourceType: string; id: string });
  await put(server, { resourceType: 'Organization', id: payerId, name: `Plan ${payerId}`, endpoint: [{ reference: `Endpoint/${payerId}-billing` }] } as { resourceType: string; id: string });
}

/** A member of `payerId` (active Coverage from 2025) and the CBO that served them. */
export async function createMember(server: TestServer, patientId: string, payerId: string): Promise<void> {
  await put(server, { resourceType: 'Patient', id: patientId, name: [{ family: 'Doe', given: ['Jane'] }], birthDate: '1980-01-01', gender: 'female' } as { resourceType: string; id: string });
  await put(server, {
    resourceType: 'Coverage', id: `cov-${patientId}`, status: 'active', beneficiary: { reference: `Patient/${patientId}` },
    payor: [{ reference: `Organization/${payerId}` }], subscriberId: `MCD${patientId}`, period: { start: '2025-01-01' },
  } as { resourceType: string; id: string });
}

export const controlNumber = () => `CCH${randomBytes(5).toString('hex').toUpperCase()}`;

/** A built professional claim (two H0043-U6 lines) for the member; returns its id and control number. */
export async function createClaim(server: TestServer, patientId: string, payerId: string, cbo = 'Organization/cbo-housing', control = controlNumber()): Promise<{ id: string; control: string }> {
  const id = `claim-${control.toLowerCase()}`;
  const line = (sequence: number, quantity: number, price: number, date: string) => ({
    sequence,
    extension: [{ url: LINE_CONTROL_NUMBER_EXTENSION, valueString: `${control}-${sequence}` }],
    careTeamSequence: [1],
    diagnosisSequence: [1],
    productOrService: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'H0043' }] },
    modifier: [{ coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'U6' }] }],
    servicedDate: date,
    quantity: { value: quantity },
    unitPrice: { value: price, currency: 'USD' },
    net: { value: price * quantity, currency: 'USD' },
  });
  await put(server, {
    resourceType: 'Claim', id, status: 'active',
    identifier: [{ system: CLAIM_CONTROL_NUMBER_SYSTEM, value: control }],
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim', patient: { reference: `Patient/${patientId}` }, created: '2025-01-15T14:30:00Z',
    billablePeriod: { start: '2025-01-10', end: '2025-01-12' },
    insurer: { reference: `Organization/${payerId}` }, provider: { reference: 'Organization/hub' },
    priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
    careTeam: [{ sequence: 1, provider: { reference: cbo } }],
    diagnosis: [{ sequence: 1, diagnosisCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z59.01' }] } }],
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov-${patientId}` } }],
    item: [line(1, 1, 150, '2025-01-10'), line(2, 2, 150, '2025-01-11')],
    total: { value: 450, currency: 'USD' },
  } as { resourceType: string; id: string });
  return { id, control };
}

/** Queues a document for its payer through the outbox, as claim building does. */
export async function queueDelivery(server: TestServer, message: PayerDeliveryMessage): Promise<string> {
  const outboxId = await enqueue(server.db, { queue: CLAIMS_QUEUE, payload: message });
  server.queues!.nudge();
  return outboxId!;
}

/** Waits until the claims queue has processed outbox message `outboxId`. */
export async function waitProcessed(server: TestServer, outboxId: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await wasProcessed(server.db, { queue: CLAIMS_QUEUE, outboxId }))) {
    if (Date.now() > until) throw new Error(`claims message ${outboxId} not processed after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `reference` carries a delivery state other than queued; returns the resource. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function waitForDeliveryState(server: TestServer, reference: string, timeoutMs = 15_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.request('GET', `/fhir/${reference}`);
    const state = res.body?.extension?.find((e: { url: string }) => e.url.endsWith('/delivery-state'))?.valueCode;
    if (state && state !== 'queued') return res.body;
    if (Date.now() > until) throw new Error(`${reference} has no delivery state after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const deliveryState = (resource: { extension?: { url: string; valueCode?: string; valueString?: string }[] }) => ({
  state: resource.extension?.find((e) => e.url.endsWith('/delivery-state'))?.valueCode,
  reason: resource.extension?.find((e) => e.url.endsWith('/delivery-state-reason'))?.valueString,
});
