// Whether the payer may receive a document now: the same decide() as every other disclosure, for a
// recipient that is the payer's Organization acting as a plan. Claims and invoices go for payment
// (HPAYMT); reports for the plan's health care operations (HOPERAT). The patient's consents are read
// fresh at send time, so a consent revoked after the claim was built stops it.
import type { Claim, ChargeItem, Invoice, Resource } from 'fhir/r4';
import type { Actor } from '../../policy/actor.ts';
import { decide, type Decision } from '../../policy/decide.ts';
import { typeRule, type DisclosureProfiles } from '../../policy/disclosure-profile.ts';
import { loadPolicyFacts } from '../../policy/policy-facts.ts';
import type { Queryable } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import type { PayerDeliveryMessage } from '../billing-conventions.ts';

/** The purpose of use under which each kind of document leaves. */
export const DELIVERY_PURPOSE: Record<PayerDeliveryMessage['kind'], string> = { claim: 'HPAYMT', invoice: 'HPAYMT', report: 'HOPERAT' };

/** The payer as a recipient: a plan client of its own organization, with read scopes on everything (the profile narrows). */
export function payerActor(payer: string, kind: PayerDeliveryMessage['kind']): Actor {
  return { clientId: `payer-delivery:${payer}`, role: 'plan', organization: payer, purposeOfUse: DELIVERY_PURPOSE[kind], scopes: ['system/*.rs'] };
}

const patientId = (reference: string | undefined) => /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '')?.[1];

/** The patients a claim or invoice is about (an aggregate invoice: the patients of its charge items). */
export async function patientsOf(q: Queryable, document: Resource): Promise<string[]> {
  if (document.resourceType === 'Claim') return [patientId((document as Claim).patient?.reference)].filter((id): id is string => !!id);
  if (document.resourceType !== 'Invoice') return [];
  const invoice = document as Invoice;
  const patients = new Set<string>();
  const subject = patientId(invoice.subject?.reference);
  if (subject) patients.add(subject);
  for (const line of invoice.lineItem ?? []) {
    const chargeId = /^ChargeItem\/([A-Za-z0-9\-.]{1,64})$/.exec(line.chargeItemReference?.reference ?? '')?.[1];
    if (!chargeId) continue;
    const charge = await readCurrent(q, 'ChargeItem', chargeId);
    const id = charge && !charge.deleted ? patientId((charge.resource as ChargeItem).subject?.reference) : undefined;
    if (id) patients.add(id);
  }
  return [...patients];
}

/**
 * decide() for `document` bound for `actor`. Reports are aggregates (no member in them): they are
 * decided as data about no patient, so only the profile's type rule applies.
 */
export async function decideDelivery(q: Queryable, profiles: DisclosureProfiles, actor: Actor, document: Resource, aggregate: boolean): Promise<{ decision: Decision; patients: string[] }> {
  const patients = aggregate ? [] : await patientsOf(q, document);
  const facts = patients.length ? await loadPolicyFacts(q, actor, 'plan', patients, true) : undefined;
  const decision = decide(profiles, {
    actor,
    interaction: 'read',
    resourceType: document.resourceType,
    target: { resource: document, patients, patientLinked: !aggregate },
    facts,
  });
  return { decision, patients };
}

/**
 * Whether the plan's profile lets reports carry member-level detail. In R4 that detail is
 * MeasureReport.evaluatedResource (the members' resources behind the counts): allowed only when the
 * profile releases that element of MeasureReport and Patient reads.
 */
export function allowsMemberLevelReports(profiles: DisclosureProfiles): boolean {
  const profile = profiles.find('plan', DELIVERY_PURPOSE.report);
  if (!profile) return false;
  const rule = typeRule(profile, 'MeasureReport');
  const patients = typeRule(profile, 'Patient');
  return !!rule && !!patients?.interactions.includes('read') && (rule.elements.includes('*') || rule.elements.includes('evaluatedResource'));
}
