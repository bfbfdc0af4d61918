// POSTs a notification Bundle to a rest-hook endpoint with the subscription's headers, within its
// timeout. Redirects are not followed (a 3xx is a failure: the endpoint was checked, its target was not).
import type { Bundle } from 'fhir/r4';
import type { ChannelSettings } from './subscription-config.ts';

export interface DeliveryResult {
  ok: boolean;
  /** The HTTP status, when the endpoint answered. */
  status?: number;
  /** Why it failed without an answer (error class only: messages can quote URLs). */
  error?: string;
}

export function endpointAllowed(endpoint: string, allowHttpEndpoints: boolean): boolean {
  try {
    const url = new URL(endpoint);
    return url.protocol === 'https:' || (allowHttpEndpoints && url.protocol === 'http:');
  } catch {
    return false;
  }
}

export async function postNotification(channel: ChannelSettings, bundle: Bundle, allowHttpEndpoints: boolean): Promise<DeliveryResult> {
  if (!endpointAllowed(channel.endpoint, allowHttpEndpoints)) return { ok: false, error: 'EndpointNotAllowed' };
  const headers = new Headers();
  for (const [name, value] of channel.headers) headers.append(name, value);
  headers.set('content-type', channel.mimeType === 'application/json' ? 'application/json' : 'application/fhir+json');
  try {
    const response = await fetch(channel.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(bundle),
      redirect: 'manual',
      signal: AbortSignal.timeout(channel.timeoutSeconds * 1000),
    });
    await response.body?.cancel().catch(() => undefined);
    return { ok: response.status >= 200 && response.status < 300, status: response.status };
  } catch (error) {
    return { ok: false, error: (error as Error)?.name ?? 'Error' };
  }
}

export const describeFailure = (result: DeliveryResult) => (result.status !== undefined ? `HTTP ${result.status}` : (result.error ?? 'no answer'));
