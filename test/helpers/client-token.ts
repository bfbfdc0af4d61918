// Registers a client directly in the database and trades its credentials for an access token
// at /auth/token, as a partner would. Shared by the test harness and the benchmarks.
import { createClient } from '../../src/policy/client-registry.ts';
import type { Queryable } from '../../src/store/database.ts';

export async function clientToken(serverUrl: string, db: Queryable, role: string, organization = 'Organization/hub', purposes: string[] = []): Promise<string> {
  const client = await createClient(db, { name: `${role} client`, role, organization, purposes });
  const response = await fetch(`${serverUrl}/auth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  if (!response.ok) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
