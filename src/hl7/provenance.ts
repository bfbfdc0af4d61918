// One Provenance per processed message that changed something: targets the versions it wrote, the
// sending facility's Organization as the source (agent type "author" of the data, the hub as "assembler"),
// and the inbox message as the entity (an identifier: the raw message is not a FHIR resource).
import type { Provenance, Resource } from 'fhir/r4';
import type { MapContext } from './map-context.ts';
import { save } from './resource-writer.ts';

export const INBOX_IDENTIFIER_SYSTEM = 'urn:cch:hl7-inbox';

export async function recordProvenance(ctx: MapContext, written: Resource[]): Promise<string | undefined> {
  if (!written.length) return undefined;
  const agentType = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code }] });
  const provenance: Provenance = {
    resourceType: 'Provenance',
    target: written.map((resource) => ({ reference: `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}` })),
    recorded: new Date().toISOString(),
    activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'UPDATE' }], text: `HL7 v2 ${ctx.row.messageType}` },
    agent: [
      { type: agentType('author'), who: { reference: ctx.facility.organization } },
      { type: agentType('assembler'), who: { reference: ctx.hubOrganization } },
    ],
    entity: [
      {
        role: 'source',
        what: {
          identifier: { system: INBOX_IDENTIFIER_SYSTEM, value: ctx.row.id },
          display: `HL7 v2 ${ctx.row.messageType} ${ctx.row.sendingApplication}/${ctx.row.sendingFacility} control id ${ctx.row.controlId}`,
        },
      },
    ],
  };
  const saved = await save(ctx.scope, undefined, provenance);
  return `Provenance/${saved.resource.id}`;
}
