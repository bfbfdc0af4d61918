// The delivery state of a document bound for a payer, kept on the document itself
// (CLAIM_DELIVERY_STATE_EXTENSION, valueCode) so hub staff see it where they look: on the Claim,
// Invoice or MeasureReport. A second extension says why (a withheld or failed delivery), without PHI.
import type { Resource } from 'fhir/r4';
import { lockCurrent, persistVersion } from '../../fhir/persist.ts';
import type { Scope } from '../../fhir/scope.ts';
import { CLAIM_DELIVERY_STATE_EXTENSION } from '../billing-conventions.ts';

/** Extension (valueString) beside the delivery state: why it was withheld or failed, or where it went. */
export const DELIVERY_REASON_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/delivery-state-reason';

export type DeliveryState = 'queued' | 'sent' | 'withheld-consent' | 'failed';

type WithExtensions = Resource & { extension?: { url: string; valueCode?: string; valueString?: string }[] };

export function deliveryStateOf(resource: Resource): DeliveryState | undefined {
  return (resource as WithExtensions).extension?.find((e) => e.url === CLAIM_DELIVERY_STATE_EXTENSION)?.valueCode as DeliveryState | undefined;
}

/** Sets the state (and reason) on `Type/id` as a new version, unless it already says exactly that. */
export async function setDeliveryState(scope: Scope, reference: string, state: DeliveryState, reason?: string): Promise<void> {
  const [type, id] = reference.split('/');
  const current = await lockCurrent(scope, type, id);
  if (!current || current.deleted) return;
  const resource = current.resource as WithExtensions;
  const others = (resource.extension ?? []).filter((e) => e.url !== CLAIM_DELIVERY_STATE_EXTENSION && e.url !== DELIVERY_REASON_EXTENSION);
  const extension = [
    ...others,
    { url: CLAIM_DELIVERY_STATE_EXTENSION, valueCode: state },
    ...(reason ? [{ url: DELIVERY_REASON_EXTENSION, valueString: reason.slice(0, 500) }] : []),
  ];
  const before = resource.extension ?? [];
  const same = before.length === extension.length && extension.every((e) => before.some((b) => b.url === e.url && b.valueCode === e.valueCode && b.valueString === e.valueString));
  if (same) return;
  await persistVersion(scope, type, id, { ...resource, extension } as Resource, current);
}
