// What leaves for the payer, in the two shapes the channels take: FHIR resources (each with the
// conditional-create criteria that make a resend find the first copy) or named files (fixed names,
// so a resend overwrites instead of adding a second file).
import type { Binary, Claim, MeasureReport, Resource } from 'fhir/r4';
import { CLAIM_CONTROL_NUMBER_SYSTEM, CLAIM_DELIVERY_STATE_EXTENSION, type PayerDeliveryMessage } from '../billing-conventions.ts';
import { DELIVERY_REASON_EXTENSION } from './delivery-state.ts';

export interface OutgoingResource {
  resource: Resource;
  /** `If-None-Exist` criteria (POST); absent: PUT under `resource.id` (Binary attachments). */
  ifNoneExist?: string;
}

export interface OutgoingFile {
  name: string;
  content: Buffer;
}

/** The stable key of a document at the payer: its claim control number or first identifier, else hub id. */
export function documentKey(document: Resource): string {
  const identifiers = (document as { identifier?: { system?: string; value?: string }[] | { system?: string; value?: string } }).identifier;
  const list = Array.isArray(identifiers) ? identifiers : identifiers ? [identifiers] : [];
  const control = list.find((identifier) => identifier.system === CLAIM_CONTROL_NUMBER_SYSTEM && identifier.value) ?? list.find((identifier) => identifier.system && identifier.value);
  return control?.value ?? `${document.resourceType}-${document.id}`;
}

/** Criteria matching the document at the payer, when it has an identifier. */
export function conditionalCriteria(document: Resource): string | undefined {
  const identifiers = (document as { identifier?: { system?: string; value?: string }[] | { system?: string; value?: string } }).identifier;
  const list = Array.isArray(identifiers) ? identifiers : identifiers ? [identifiers] : [];
  const chosen = list.find((identifier) => identifier.system === CLAIM_CONTROL_NUMBER_SYSTEM && identifier.value) ?? list.find((identifier) => identifier.system && identifier.value);
  return chosen ? `identifier=${encodeURIComponent(`${chosen.system}|${chosen.value}`)}` : undefined;
}

/** The document as the payer gets it: without the hub's id, version and delivery bookkeeping. */
export function forPayer<T extends Resource>(document: T): T {
  const { id: _id, meta: _meta, ...rest } = document as T & { extension?: { url: string }[] };
  const extension = rest.extension?.filter((e) => e.url !== CLAIM_DELIVERY_STATE_EXTENSION && e.url !== DELIVERY_REASON_EXTENSION);
  const { extension: _extension, ...content } = rest;
  return { ...content, ...(extension?.length ? { extension } : {}) } as unknown as T;
}

/**
 * A report as an aggregate: no member-level parts (the subject, the contained member Lists and the
 * references to them, the evaluated resources). Sent so unless the plan's profile allows member-level
 * detail: its on-demand $evaluate-measure may show its members, its delivered reports do not.
 */
export function aggregateOnly(report: MeasureReport): MeasureReport {
  const { subject: _subject, contained: _contained, evaluatedResource: _evaluated, ...rest } = report;
  const withoutSubjects = <T extends { subjectResults?: unknown }>(item: T): T => {
    const { subjectResults: _results, ...kept } = item;
    return kept as T;
  };
  return {
    ...rest,
    group: rest.group?.map((group) => ({
      ...group,
      population: group.population?.map(withoutSubjects),
      stratifier: group.stratifier?.map((stratifier) => ({
        ...stratifier,
        stratum: stratifier.stratum?.map((stratum) => ({ ...stratum, population: stratum.population?.map(withoutSubjects) })),
      })),
    })),
  };
}

const safeName = (value: string) => value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);

const EXTENSION_OF: Record<string, string> = { 'text/csv': 'csv', 'application/edi-x12': 'x12', 'application/json': 'json', 'application/fhir+json': 'json' };

export function attachmentFile(key: string, index: number, binary: Binary): OutgoingFile {
  const extension = EXTENSION_OF[binary.contentType.split(';')[0].trim()] ?? 'bin';
  return { name: `${safeName(key)}-${index + 1}.${extension}`, content: Buffer.from(binary.data ?? '', 'base64') };
}

/** The main file: an 837P for a claim, the FHIR JSON of an invoice or report (`document` as released). */
export function documentFile(kind: PayerDeliveryMessage['kind'], key: string, document: Resource, x12?: string): OutgoingFile {
  if (kind === 'claim') return { name: `${safeName(key)}.837`, content: Buffer.from(x12 ?? '', 'utf8') };
  return { name: `${safeName(key)}.json`, content: Buffer.from(JSON.stringify(document, null, 2), 'utf8') };
}

export const isClaim = (resource: Resource): resource is Claim => resource.resourceType === 'Claim';
