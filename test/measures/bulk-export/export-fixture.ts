// A small hub for export tests, loaded by hub-admin: plan-a covers a1, a2 and a3 (a3 opted out of
// data sharing), plan-b covers b1. Each patient has two Observations (88122-7 and 93025-5) with free
// text, and Patients carry names and phone numbers: what the plan-analytics profile must drop.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { observation, optOut, patient } from '../../policy/fixture.ts';
import type { HttpResult, TestServer } from '../../helpers/test-server.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export const tempDataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cch-export-'));

export const coverage = (id: string, beneficiary: string, payer: string, status = 'active') => ({
  resourceType: 'Coverage', id, status, beneficiary: { reference: `Patient/${beneficiary}` },
  payor: [{ reference: `Organization/${payer}` }], period: { start: '2020-01-01' },
});

export const MEMBERS = { 'plan-a': ['a1', 'a2', 'a3'], 'plan-b': ['b1'] } as const;
const PATIENTS = ['a1', 'a2', 'a3', 'b1'];

export function exportFixture(): object[] {
  const put = (resource: { resourceType: string; id: string }) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });
  const orgs = ['hub', 'plan-a', 'plan-b'].map((id) => ({ resourceType: 'Organization', id, name: id }));
  const observations = PATIENTS.flatMap((id) => [
    observation(`obs-${id}-1`, id),
    observation(`obs-${id}-2`, id, { code: { coding: [{ system: 'http://loinc.org', code: '93025-5' }] } }),
  ]);
  const coverages = [coverage('cov-a1', 'a1', 'plan-a'), coverage('cov-a2', 'a2', 'plan-a'), coverage('cov-a3', 'a3', 'plan-a'), coverage('cov-b1', 'b1', 'plan-b')];
  const resources = [...orgs, ...PATIENTS.map(patient), ...coverages, ...observations, optOut('optout-a3', 'a3')] as { resourceType: string; id: string }[];
  return resources.map(put);
}

export async function loadFixture(server: TestServer): Promise<void> {
  const res = await server.request('POST', '/fhir', { body: { resourceType: 'Bundle', type: 'transaction', entry: exportFixture() } });
  if (res.status !== 200) throw new Error(`fixture load failed: ${res.status} ${res.text}`);
}

/** GET on a full URL (status and file URLs are absolute) with a token. */
export async function fetchWith(url: string, token: string | null, method = 'GET'): Promise<HttpResult> {
  const response = await fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Kicks an export off and returns its status URL (asserting 202 + Content-Location). */
export async function kickOff(server: TestServer, pathAndQuery: string, token = server.token): Promise<string> {
  const res = await server.request('GET', `/fhir/${pathAndQuery}`, { token, headers: { prefer: 'respond-async', accept: 'application/fhir+json' } });
  if (res.status !== 202) throw new Error(`kick-off ${pathAndQuery} answered ${res.status}: ${res.text}`);
  const location = res.headers.get('content-location');
  if (!location) throw new Error('no Content-Location');
  return location;
}

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

export async function manifestOf(statusUrl: string, token: string): Promise<Manifest> {
  let result: HttpResult | undefined;
  await waitFor('the export to complete', async () => {
    result = await fetchWith(statusUrl, token);
    if (result.status !== 200 && result.status !== 202) throw new Error(`status answered ${result.status}: ${result.text}`);
    return result.status === 200;
  });
  return result!.body as Manifest;
}

/** Every resource of every output file, by type (files downloaded with `token`). */
export async function download(manifest: Manifest, token: string): Promise<Map<string, Record<string, unknown>[]>> {
  const byType = new Map<string, Record<string, unknown>[]>();
  for (const file of manifest.output) {
    const res = await fetchWith(file.url, token);
    if (res.status !== 200) throw new Error(`download ${file.url}: ${res.status}`);
    if (!res.headers.get('content-type')?.startsWith('application/fhir+ndjson')) throw new Error('not NDJSON');
    const lines = res.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    if (lines.length !== file.count) throw new Error(`${file.url}: ${lines.length} lines, manifest says ${file.count}`);
    byType.set(file.type, [...(byType.get(file.type) ?? []), ...lines]);
  }
  return byType;
}

export const ids = (resources: Record<string, unknown>[] | undefined) => (resources ?? []).map((resource) => resource.id as string).sort();
