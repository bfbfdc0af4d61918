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

/**
 * Claim.extension (valueCode) with the delivery state: queued, sent, withheld-consent, failed; and `held` (set by the
 * builder: not enqueued, see CLAIM_HOLD_REASON_EXTENSION; Claim.status stays draft until coded correctly and rebuilt).
 */
export const CLAIM_DELIVERY_STATE_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/delivery-state';

// ---------------------------------------------------------------------------------------------
// The payer's billing channel: an Endpoint listed in the payer Organization's `endpoint`, with
// `managingOrganization` = the payer. An Organization may list other Endpoints (e.g. a CBO's
// referral server); the billing one is the active Endpoint whose payloadType carries
// BILLING_PAYLOAD_TYPE. Claims, invoices and reports all go to it.
//
//   connectionType                                   address                               payloadMimeType
//   hl7-fhir-rest (ENDPOINT_CONNECTION_TYPE_SYSTEM)  FHIR base URL: https://plan.example/fhir  application/fhir+json (Claim POSTed as is)
//   sftp          (BILLING_CONNECTION_TYPE_SYSTEM)   sftp://user@host[:port]/remote/dir       application/edi-x12 (837P file) / text/csv
//   drop-folder   (BILLING_CONNECTION_TYPE_SYSTEM)   file:///absolute/dir                     application/edi-x12 / text/csv
//
// Secrets (SFTP password or key) are never stored in the Endpoint: delivery takes them from its own
// config, keyed by the Endpoint id. Endpoint.header is not used for secrets.
// ---------------------------------------------------------------------------------------------

/** Standard connection types (FHIR REST). */
export const ENDPOINT_CONNECTION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
/** The hub's own connection types for file channels (the standard code system has none for SFTP or a folder). */
export const BILLING_CONNECTION_TYPE_SYSTEM = 'http://cch.example.org/fhir/CodeSystem/billing-connection-type';
export type BillingConnectionType = 'hl7-fhir-rest' | 'sftp' | 'drop-folder';

/** Endpoint.payloadType coding that marks the payer's billing channel. */
export const BILLING_PAYLOAD_TYPE = { system: 'http://cch.example.org/fhir/CodeSystem/endpoint-payload-type', code: 'billing' } as const;

/**
 * Payer Organization.identifier systems for X12 identities: the payer id (2010BB NM1*PR NM109, 835 N1*PR)
 * and the interchange receiver id (ISA08 / GS03, 1000B NM1*40). A payer without a receiver id uses its payer id.
 */
export const X12_PAYER_ID_SYSTEM = 'urn:cch:x12-payer-id';
export const X12_RECEIVER_ID_SYSTEM = 'urn:cch:x12-receiver-id';

/**
 * Organization.identifier system of a plan-assigned provider id (atypical CBOs without an NPI):
 * rendered as REF*G2. NPIs use http://hl7.org/fhir/sid/us-npi.
 */
export const PLAN_PROVIDER_ID_SYSTEM = 'urn:cch:plan-provider-id';

/** ChargeItem.extension (valueReference `Claim/id`) set once a charge is on a built claim or invoice, so it is billed once. */
export const CHARGE_BILLED_ON_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/charge-billed-on';

// ---------------------------------------------------------------------------------------------
// Contracts as data (contract bundles, `npm run cli -- contract load FILE`).
// ---------------------------------------------------------------------------------------------

/** Account.identifier system naming a funding program; Coverage.class (type plan) and ChargeItemDefinition.useContext (program) carry the same code. */
export const FUNDING_PROGRAM_SYSTEM = 'urn:cch:funding-program';
/** Account.extension (valueReference Organization): the payer that funds the account. */
export const ACCOUNT_PAYER_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/account-payer';
/** Account.extension (valueCode): fee-for-service | case-rate | capitation | invoice. */
export const PAYMENT_MODEL_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/payment-model';
export type PaymentModel = 'fee-for-service' | 'case-rate' | 'capitation' | 'invoice';
/** ChargeItemDefinition / ChargeItem / Procedure extension (valueCoding, up to 4, in order): a procedure modifier (HCPCS U-modifiers...). */
export const SERVICE_MODIFIER_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/service-modifier';
/** ChargeItemDefinition.extension (valueCode): X12 unit basis of the price, UN (unit) or MJ (minutes). */
export const BILLING_UNIT_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/billing-unit';
/** Procedure.extension (valueQuantity): units delivered (default 1). */
export const SERVICE_UNITS_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/service-units';
/** ChargeItem / Claim.item / InvoiceLineItem extension (valueCode): CMS place-of-service code. */
export const PLACE_OF_SERVICE_SYSTEM = 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set';
/** Claim.extension (valueString): why a built claim is held (not sent) — e.g. a non-billable header Z-code. */
export const CLAIM_HOLD_REASON_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/claim-hold-reason';
/** The code system of procedure codes on fee schedules and claims (HCPCS Level II; CPT codes keep the CPT system). */
export const HCPCS_SYSTEM = 'http://terminology.hl7.org/CodeSystem/HCPCS-all-codes';
export const CPT_SYSTEM = 'http://www.ama-assn.org/go/cpt';
/** Per-member-per-month capitation: the code of a capitation ChargeItemDefinition (no HCPCS code exists for it). */
export const CAPITATION_CODE = { system: 'urn:cch:billing-code', code: 'pmpm' } as const;
/** Claim.item extension (valueReference `ChargeItem/id`): the charge a line bills, so a paid line posts back to it. */
export const CLAIM_ITEM_CHARGE_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/claim-item-charge';
/** Invoice.extension (valuePeriod): the billing period an invoice covers (R4 Invoice has no period element). */
export const INVOICE_PERIOD_EXTENSION = 'http://cch.example.org/fhir/StructureDefinition/invoice-period';
/** Invoice.identifier system: `{account id}:{start}:{end}`, one invoice per payer account and period. */
export const INVOICE_NUMBER_SYSTEM = 'urn:cch:invoice-number';
/** Quantity.system of ChargeItem / Claim.item quantities whose code is the X12 unit basis (UN, MJ). */
export const X12_UNIT_SYSTEM = 'urn:cch:x12-unit-basis';
