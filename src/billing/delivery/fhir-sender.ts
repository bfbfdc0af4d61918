// Sends to a payer's FHIR endpoint through the hub's hardened client (src/referrals/partner-client.ts:
// https unless ALLOW_HTTP_ENDPOINTS, no redirects, timeouts, credentials per base from PARTNERS_FILE).
// The document is a conditional create (If-None-Exist on its identifier): a resend finds the copy an
// earlier try made. Attachments are PUT under a fixed id, so a resend replaces rather than adds.
import type { PartnerClients } from '../../referrals/partner-client.ts';
import type { OutgoingResource } from './outgoing-package.ts';

export async function sendToFhir(clients: PartnerClients, baseUrl: string, resources: OutgoingResource[]): Promise<string[]> {
  const client = clients.client(baseUrl, { listedOnly: false });
  const locations: string[] = [];
  for (const { resource, ifNoneExist } of resources) {
    if (ifNoneExist === undefined && resource.id) {
      await client.update(resource as typeof resource & { id: string });
      locations.push(client.urlOf(resource.resourceType, resource.id));
    } else {
      locations.push((await client.create(resource, ifNoneExist)).url);
    }
  }
  return locations;
}
