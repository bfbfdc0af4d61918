// What the billing pieces agree on: how a built Claim carries its control numbers, and the message
// that sends a claim, invoice or report to a payer through the outbox. Claim building
// (claim-build*.ts, x12-837p*.ts) writes these; delivery (claims queue), inbound X12 (999/277CA/835)
// and reports read them.

/** The `claims` queue: every document bound for a payer (claims, invoices, reports) goes through it. */
export const CLAIMS_QUEUE = 'claims';

/** An outbox payload on the claims queue. References only: what is sent is decided at send time. */
export interface PayerDeliveryMessage {
  kind: 'claim' | 'invoice' | 'report';
  /** `Claim/id`, `Invoice/id` or `MeasureReport/id` (a report may also name a stored CSV as `Binary/id` in `attachments`). */
  reference: string;
  /** The payer's Organization, whose billing Endpoint receives it. */
  payer: string;
  /** Further stored documents sent with it (e.g. the CSV rendering of a report or invoice, as `Binary/id`). */
  attachments?: string[];
}

/**
 * Claim.identifier system of the hub's claim control number: CLM01 (patient control number) in the
 * 837P, echoed by the payer in 277CA and 835 CLP01. Unique per claim; at most 20 characters (X12 limit).
 */
export const CLAIM_CONTROL_NUMBER_SYSTEM = 'urn:cch:claim-control-number';

/**
 * Claim.item extension holding the line item control number: REF*6R in loop 2400, echoed in the 835
 * SVC loop's REF*6R, by which each paid line is matched back. Unique within the hub; at most 30 characters.
 */
export const LINE_CONTROL_NUMBER_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/line-control-number';

/** Claim.extension naming the funding Account (a Claim never mixes accounts); valueReference `Account/id`. */
export const CLAIM_ACCOUNT_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/claim-account';

/** Claim.extension (valueCode) with the delivery state: queued, sent, withheld-consent, failed. */
export const CLAIM_DELIVERY_STATE_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/delivery-state';
