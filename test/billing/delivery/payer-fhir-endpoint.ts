// A payer's FHIR endpoint for delivery tests and the bench: a small real HTTP server on loopback that
// stores what it receives, honours If-None-Exist on identifier (as a FHIR server's conditional create
// does) and PUT with a client id, and can be told to fail the next requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedResource {
  resourceType: string;
  id: string;
  identifier?: { system?: string; value?: string }[] | { system?: string; value?: string };
  [key: string]: unknown;
}

export interface PayerFhirEndpoint {
  /** The FHIR base URL. */
  url: string;
  /** Stored resources by `Type/id`. */
  stored: Map<string, ReceivedResource>;
  /** Every request as `METHOD Type`. */
  requests: string[];
  /** Answer the next `count` requests with `status`. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

const identifiersOf = (resource: ReceivedResource) => (Array.isArray(resource.identifier) ? resource.identifier : resource.identifier ? [resource.identifier] : []);

export async function startPayerFhirEndpoint(): Promise<PayerFhirEndpoint> {
  const stored = new Map<string, ReceivedResource>();
  const requests: string[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let nextId = 1;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const [, type, id] = (request.url ?? '').replace(/^\/fhir/, '').split('?')[0].split('/');
      requests.push(`${request.method} ${type}`);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
        response.end(JSON.stringify(body));
      };
      if (failures.count > 0) {
        failures.count--;
        return send(failures.status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
      }
      let body: ReceivedResource;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedResource;
      } catch {
        return send(400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'structure' }] });
      }
      if (request.method === 'PUT' && id) {
        stored.set(`${type}/${id}`, { ...body, id });
        return send(200, { ...body, id }, { location: `${url}/${type}/${id}/_history/1` });
      }
      if (request.method !== 'POST' || !type) return send(405, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] });
      const criteria = request.headers['if-none-exist'];
      if (typeof criteria === 'string') {
        const wanted = decodeURIComponent(criteria.replace(/^identifier=/, ''));
        const match = [...stored.values()].find(
          (resource) => resource.resourceType === type && identifiersOf(resource).some((identifier) => `${identifier.system}|${identifier.value}` === wanted),
        );
        if (match) return send(200, match, { location: `${url}/${type}/${match.id}/_history/1` });
      }
      const newId = `p${nextId++}`;
      const resource = { ...body, id: newId };
      stored.set(`${type}/${newId}`, resource);
      send(201, resource, { location: `${url}/${type}/${newId}/_history/1` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return {
    url,
    stored,
    requests,
    failNext(count, status) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
