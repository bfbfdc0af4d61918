// The payer's billing channel: the active Endpoint of its Organization marked with the billing
// payloadType (src/billing/billing-conventions.ts), read as one of three channels. Addresses come
// from data, so each is vetted here: FHIR bases go through the hub's outbound URL rules (https
// unless ALLOW_HTTP_ENDPOINTS), drop folders must lie below CLAIMS_DROP_ROOT.
import path from 'node:path';
import type { Endpoint, Organization } from 'fhir/r4';
import type { Queryable } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { checkOutboundUrl } from '../../referrals/partner-client.ts';
import { BILLING_CONNECTION_TYPE_SYSTEM, BILLING_PAYLOAD_TYPE, ENDPOINT_CONNECTION_TYPE_SYSTEM } from '../billing-conventions.ts';

export type PayerChannel =
  | { kind: 'fhir'; endpointId: string; baseUrl: string }
  | { kind: 'sftp'; endpointId: string; host: string; port: number; username: string; directory: string }
  | { kind: 'drop-folder'; endpointId: string; directory: string };

/** A channel that cannot be used: retrying will not help until someone fixes the data or config. */
export class ChannelError extends Error {
  override name = 'ChannelError';
}

export interface ChannelRules {
  allowHttp: boolean;
  dropRoot: string | undefined;
}

const isBilling = (endpoint: Endpoint) =>
  endpoint.status === 'active' &&
  (endpoint.payloadType ?? []).some((concept) => (concept.coding ?? []).some((c) => c.system === BILLING_PAYLOAD_TYPE.system && c.code === BILLING_PAYLOAD_TYPE.code));

/** The payer's billing channel, or a ChannelError saying why there is none. */
export async function payerChannel(q: Queryable, payer: string, rules: ChannelRules): Promise<PayerChannel> {
  const orgId = /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(payer)?.[1];
  if (!orgId) throw new ChannelError(`The payer must be an Organization reference, got "${payer}"`);
  const organization = await readCurrent(q, 'Organization', orgId);
  if (!organization || organization.deleted) throw new ChannelError(`${payer} does not exist`);
  for (const reference of (organization.resource as Organization).endpoint ?? []) {
    const endpointId = /^Endpoint\/([A-Za-z0-9\-.]{1,64})$/.exec(reference.reference ?? '')?.[1];
    if (!endpointId) continue;
    const stored = await readCurrent(q, 'Endpoint', endpointId);
    if (!stored || stored.deleted) continue;
    const endpoint = stored.resource as Endpoint;
    if (!isBilling(endpoint)) continue;
    if (endpoint.managingOrganization?.reference && endpoint.managingOrganization.reference !== payer) continue;
    return channelOf(endpointId, endpoint, rules);
  }
  throw new ChannelError(`${payer} has no active billing Endpoint`);
}

export function channelOf(endpointId: string, endpoint: Endpoint, rules: ChannelRules): PayerChannel {
  const { system, code } = endpoint.connectionType;
  const address = endpoint.address;
  if (system === ENDPOINT_CONNECTION_TYPE_SYSTEM && code === 'hl7-fhir-rest') {
    try {
      checkOutboundUrl(address, rules.allowHttp);
    } catch (error) {
      throw new ChannelError((error as Error).message);
    }
    return { kind: 'fhir', endpointId, baseUrl: address.replace(/\/+$/, '') };
  }
  if (system === BILLING_CONNECTION_TYPE_SYSTEM && code === 'sftp') {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new ChannelError(`Endpoint/${endpointId}: the SFTP address is not a URL`);
    }
    if (url.protocol !== 'sftp:' || !url.username || url.password) throw new ChannelError(`Endpoint/${endpointId}: the address must be sftp://user@host[:port]/dir (no password)`);
    return {
      kind: 'sftp',
      endpointId,
      host: url.hostname,
      port: url.port ? Number(url.port) : 22,
      username: decodeURIComponent(url.username),
      directory: decodeURIComponent(url.pathname) || '/',
    };
  }
  if (system === BILLING_CONNECTION_TYPE_SYSTEM && code === 'drop-folder') {
    if (!rules.dropRoot) throw new ChannelError(`Endpoint/${endpointId}: drop folders are disabled (CLAIMS_DROP_ROOT is not set)`);
    let directory: string;
    try {
      directory = path.resolve(new URL(address).pathname);
      if (new URL(address).protocol !== 'file:') throw new Error();
    } catch {
      throw new ChannelError(`Endpoint/${endpointId}: the drop folder address must be file:///absolute/dir`);
    }
    const relative = path.relative(rules.dropRoot, directory);
    if (relative.startsWith('..') || path.isAbsolute(relative)) throw new ChannelError(`Endpoint/${endpointId}: the drop folder is outside CLAIMS_DROP_ROOT`);
    return { kind: 'drop-folder', endpointId, directory };
  }
  throw new ChannelError(`Endpoint/${endpointId}: connection type ${system}|${code} is not a billing channel`);
}
