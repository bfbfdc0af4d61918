// What one request did, gathered along the way and written as one AuditEvent (IHE BALP style)
// before the response leaves: who asked (client, organization, purpose of use), what was decided
// and why (disclosure profile, consents), which patients and resources were disclosed or received.
import type { AuditEvent, AuditEventEntity } from 'fhir/r4';
import type { Actor } from './actor.ts';
import type { Decision } from './decide.ts';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const CLIENT_ID_SYSTEM = 'urn:cch:client-id';
export const PROFILE_POLICY_PREFIX = 'urn:cch:disclosure-profile:';

const ACTION: Record<string, AuditEvent['action']> = { GET: 'R', HEAD: 'R', POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' };

export class AuditTrail {
  readonly #patients = new Set<string>();
  readonly #resources = new Set<string>();
  readonly #consents = new Set<string>();
  readonly #profiles = new Set<string>();
  readonly #denials: string[] = [];
  #interaction: string | undefined;

  /** The interaction of the request (the first one recorded; bundles record theirs first). */
  interaction(name: string): void {
    this.#interaction ??= name;
  }

  decided(decision: Decision): void {
    if (decision.profile) this.#profiles.add(`${PROFILE_POLICY_PREFIX}${decision.profile.id}:${decision.profile.version}`);
    for (const consent of decision.consents) this.#consents.add(consent);
    if (!decision.permit) this.#denials.push(decision.reason);
  }

  disclosed(reference: string, patients: readonly string[]): void {
    this.#resources.add(reference);
    for (const patient of patients) this.#patients.add(patient);
  }

  get denied(): boolean {
    return this.#denials.length > 0;
  }

  /**
   * The AuditEvent for the request. outcome: 0 success, 4 minor failure (denied or refused), 8 serious failure.
   * `query` is the request's query string (base64 in the query entity, as BALP does).
   */
  toAuditEvent(actor: Actor, request: { method: string; path: string; query: string; status: number; requestId: string }): AuditEvent {
    const outcome = request.status >= 500 ? '8' : request.status >= 400 ? '4' : '0';
    const entity: AuditEventEntity[] = [
      ...[...this.#patients].map((patient) => ({
        what: { reference: `Patient/${patient}` },
        type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
        role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
      })),
      ...[...this.#resources].map((reference) => ({
        what: { reference },
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
      })),
      ...[...this.#consents].map((reference) => ({
        what: { reference },
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE, code: '13', display: 'Security Resource' },
        description: 'consent that decided',
      })),
    ];
    if (request.query) {
      entity.push({
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
        query: Buffer.from(request.query).toString('base64'),
      });
    }
    const interaction = this.#interaction ?? 'unknown';
    return {
      resourceType: 'AuditEvent',
      type: { system: DCM, code: '110106', display: 'Export' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: interaction }],
      action: ACTION[request.method] ?? 'E',
      recorded: new Date().toISOString(),
      outcome,
      outcomeDesc: [`status ${request.status}`, ...this.#denials.map((reason) => `denied: ${reason}`)].join('; '),
      purposeOfEvent: actor.purposeOfUse ? [{ coding: [{ system: ACT_REASON, code: actor.purposeOfUse }] }] : undefined,
      agent: [
        {
          type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
          who: { identifier: { system: CLIENT_ID_SYSTEM, value: actor.clientId } },
          requestor: true,
          ...(this.#profiles.size || this.#consents.size ? { policy: [...this.#profiles, ...this.#consents] } : {}),
          purposeOfUse: actor.purposeOfUse ? [{ coding: [{ system: ACT_REASON, code: actor.purposeOfUse }] }] : undefined,
        },
        { who: { reference: actor.organization }, requestor: false, type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] } },
      ],
      source: {
        observer: { display: 'cch-fhir-server' },
        type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
      },
      entity: entity.length ? entity : undefined,
    } as AuditEvent;
  }
}
