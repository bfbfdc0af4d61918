// Golden files of the 837P: fixed Claims (ids, created time, control numbers) rendered by
// GET /fhir/Claim/[id]/$x12 must equal fixtures/billing/golden/*.x12 byte for byte, and parse back with
// x12-parser with SE01 = the segments from ST to SE.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { HCPCS, ICD, member, put, x12Segments } from './billing-fixtures.ts';

let server: TestServer;
const golden = (name: string) => fs.readFileSync(new URL(`../../../fixtures/billing/golden/${name}`, import.meta.url), 'utf8');

const claim = (id: string, ccn: string, cbo: string, patient: string) => ({
  resourceType: 'Claim', id,
  extension: [{ url: 'http://cch.example.org/fhir/StructureDefinition/claim-account', valueReference: { reference: 'Account/demo-plan-calaim-cs' } }],
  identifier: [{ system: 'urn:cch:claim-control-number', value: ccn }],
  status: 'active', use: 'claim',
  type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
  patient: { reference: `Patient/${patient}` }, created: '2026-12-01T14:30:00Z',
  insurer: { reference: 'Organization/demo-plan' }, provider: { reference: 'Organization/hub' },
  priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
  careTeam: [{ sequence: 1, provider: { reference: `Organization/${cbo}` } }],
  diagnosis: [
    { sequence: 1, diagnosisCodeableConcept: { coding: [{ system: ICD, code: 'Z59.01' }] } },
    { sequence: 2, diagnosisCodeableConcept: { coding: [{ system: ICD, code: 'Z59.41' }] } },
  ],
  insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov-${patient}` }, preAuthRef: ['AUTH778899'] }],
  item: [
    {
      extension: [{ url: 'http://cch.example.org/fhir/StructureDefinition/line-control-number', valueString: `${ccn}-1` }],
      sequence: 1, careTeamSequence: [1], diagnosisSequence: [1],
      productOrService: { coding: [{ system: HCPCS, code: 'H0043' }] }, modifier: [{ coding: [{ system: HCPCS, code: 'U6' }] }],
      servicedDate: '2026-11-10',
      locationCodeableConcept: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set', code: '12' }] },
      quantity: { value: 1, system: 'urn:cch:x12-unit-basis', code: 'UN' }, unitPrice: { value: 150, currency: 'USD' }, net: { value: 150, currency: 'USD' },
    },
    {
      extension: [{ url: 'http://cch.example.org/fhir/StructureDefinition/line-control-number', valueString: `${ccn}-2` }],
      sequence: 2, careTeamSequence: [1], diagnosisSequence: [1, 2],
      productOrService: { coding: [{ system: HCPCS, code: 'H0043' }] }, modifier: [{ coding: [{ system: HCPCS, code: 'U6' }] }],
      servicedPeriod: { start: '2026-11-11', end: '2026-11-12' },
      locationCodeableConcept: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set', code: '12' }] },
      quantity: { value: 2, system: 'urn:cch:x12-unit-basis', code: 'UN' }, unitPrice: { value: 150, currency: 'USD' }, net: { value: 300, currency: 'USD' },
    },
  ],
  total: { value: 450, currency: 'USD' },
});


beforeAll(async () => {
  server = await startTestServer({ HUB_BILLING_NAME: 'EXAMPLE COMMUNITY CARE HUB', X12_SUBMITTER_ID: 'CCHSUBMIT01' });
  await put(server, { resourceType: 'Organization', id: 'hub', name: 'EXAMPLE COMMUNITY CARE HUB' });
  await put(server, {
    resourceType: 'Organization', id: 'demo-plan', name: 'EXAMPLE HEALTH PLAN',
    identifier: [{ system: 'urn:cch:x12-payer-id', value: 'PLANPAYERID' }, { system: 'urn:cch:x12-receiver-id', value: 'PLANRECV01' }],
  });
  await put(server, {
    resourceType: 'Organization', id: 'cbo-a', name: 'EXAMPLE HOUSING NONPROFIT',
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '9876543213' }], type: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '251B00000X' }] }],
  });
  // An atypical provider: no NPI, the plan's own id for it (REF*G2).
  await put(server, { resourceType: 'Organization', id: 'cbo-atypical', name: 'NEIGHBORHOOD PANTRY', identifier: [{ system: 'urn:cch:plan-provider-id', value: 'PLN-0042' }] });
  await put(server, { resourceType: 'Organization', id: 'cbo-b', name: 'unused' });
  await member(server, 'jane', 'demo-plan', 'demo-plan-calaim-cs', 'MCD123456789');
  await put(server, claim('golden-1', 'CCH000000123', 'cbo-a', 'jane'));
  await put(server, claim('golden-atypical', 'CCH000000124', 'cbo-atypical', 'jane'));
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('837P golden files', () => {
  for (const [id, file] of [['golden-1', 'calaim-two-lines.x12'], ['golden-atypical', 'atypical-rendering-provider.x12']]) {
    it(`Claim/${id} renders as ${file}`, async () => {
      const res = await server.request('GET', `/fhir/Claim/${id}/$x12`);
      expect(res.status, res.text).toBe(200);
      expect(res.text).toBe(golden(file));
      const segments = await x12Segments(res.text);
      const names = segments.map((segment) => segment.name);
      expect(names.slice(0, 3)).toEqual(['ISA', 'GS', 'ST']);
      expect(names.slice(-3)).toEqual(['SE', 'GE', 'IEA']);
      expect(Number(segments[names.indexOf('SE')]['1'])).toBe(names.indexOf('SE') - names.indexOf('ST') + 1);
      expect(segments[names.indexOf('GE')]['2']).toBe(segments[1]['6']);
      expect(segments[names.indexOf('IEA')]['2']).toBe(segments[0]['13']);
      expect(segments.filter((segment) => segment.name === 'LX')).toHaveLength(2);
    });
  }
});
