// Token search: code/system matching, OR and AND, :not, :text, :of-type, :missing, booleans, codes,
// and the meta parameters _tag, _security, _profile and _source. Expected ids are worked out by
// hand from the data set below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { coding, LOINC, putAll, searchIds, type Json } from './search-helpers.ts';

let server: TestServer;
const ids = (search: string) => searchIds(server, search);

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const LOCAL = 'http://example.org/local-codes';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const TAGS = 'http://example.org/tags';
const PROFILE = 'http://example.org/fhir/StructureDefinition/search-patient';
const OTHER_PROFILE = 'http://example.org/fhir/StructureDefinition/other-patient';

const category = (code: string) => [{ coding: [coding(CATEGORY, code)] }];
const observation = (id: string, code: Json, extra: Json = {}): Json => ({ resourceType: 'Observation', id, status: 'final', code, ...extra });
const idType = (code: string, text?: string) => ({ coding: [coding(V2_0203, code)], ...(text ? { text } : {}) });

const data: Json[] = [
  observation(
    'obs-a',
    {
      coding: [coding(LOINC, '88122-7', 'Within the past 12 months we worried whether our food would run out before we got money to buy more')],
      text: 'Food insecurity worry',
    },
    { category: category('survey') },
  ),
  observation(
    'obs-b',
    { coding: [coding(LOINC, '88123-5', "Within the past 12 months the food we bought just didn't last and we didn't have money to get more")] },
    { category: category('survey') },
  ),
  // The same code without a system.
  observation('obs-c', { coding: [coding(undefined, '88122-7')], text: 'Hunger Vital Sign question 1' }, { category: category('social-history') }),
  // The same code in another system.
  observation('obs-d', { coding: [coding(LOCAL, '88122-7', 'Local copy')] }, { category: category('survey') }),
  // No category at all.
  observation('obs-e', { coding: [coding(LOINC, '93025-5', 'PRAPARE')] }),
  // Two codings, two systems.
  observation(
    'obs-f',
    { coding: [coding(LOCAL, 'food-1', 'Food worry'), coding(LOINC, '88124-3', 'Food insecurity risk [HVS]')] },
    { category: category('social-history') },
  ),

  {
    resourceType: 'Patient',
    id: 'pat-m',
    meta: {
      tag: [coding(TAGS, 'vip')],
      security: [coding(CONFIDENTIALITY, 'N')],
      profile: [PROFILE],
      source: 'http://ehr.example.org/fhir',
    },
    gender: 'male',
    active: true,
    identifier: [{ type: idType('MR'), system: 'http://hospital.example.org/mrn', value: '12345' }],
    telecom: [
      { system: 'phone', value: '555-0100' },
      { system: 'email', value: 'm@example.org' },
    ],
  },
  {
    resourceType: 'Patient',
    id: 'pat-f',
    meta: {
      tag: [coding(TAGS, 'research')],
      security: [coding(CONFIDENTIALITY, 'R')],
      profile: [PROFILE],
      source: 'http://hie.example.org/fhir',
    },
    gender: 'female',
    active: false,
    // An MR with another value, and 12345 under another type: of-type needs all three on one identifier.
    identifier: [
      { type: idType('MR'), system: 'http://other-hospital.example.org/mrn', value: '54321' },
      { type: idType('SS'), system: 'http://hl7.org/fhir/sid/us-ssn', value: '12345' },
    ],
  },
  {
    resourceType: 'Patient',
    id: 'pat-u',
    meta: { tag: [coding('http://other.org/tags', 'vip')], profile: [OTHER_PROFILE] },
    gender: 'unknown',
    // An MR without an identifier system.
    identifier: [{ type: idType('MR', 'Medical record number'), value: '12345' }],
  },
  { resourceType: 'Patient', id: 'pat-none', active: true },

  ...(
    [
      ['task-1', 'requested'],
      ['task-2', 'in-progress'],
      ['task-3', 'completed'],
      ['task-4', 'requested'],
      ['task-5', 'cancelled'],
    ] as const
  ).map(([id, status]) => ({ resourceType: 'Task', id, status, intent: 'order' })),
];

beforeAll(async () => {
  server = await startTestServer();
  await putAll(server, data);
});
afterAll(async () => {
  await server?.close();
});

describe('token: code and system', () => {
  it('[code] matches the code in any system, or none', async () => {
    expect(await ids('Observation?code=88122-7')).toEqual(['obs-a', 'obs-c', 'obs-d']);
    expect(await ids('Observation?code=88124-3')).toEqual(['obs-f']);
    expect(await ids('Observation?code=no-such-code')).toEqual([]);
  });

  it('[system]|[code] matches the code in that system only', async () => {
    expect(await ids('Observation?code=http://loinc.org|88122-7')).toEqual(['obs-a']);
    expect(await ids(`Observation?code=${LOCAL}|88122-7`)).toEqual(['obs-d']);
    expect(await ids(`Observation?code=${LOCAL}|food-1`)).toEqual(['obs-f']);
    expect(await ids('Observation?code=http://snomed.info/sct|88122-7')).toEqual([]);
  });

  it('is an exact match, not a prefix match', async () => {
    expect(await ids('Observation?code=http://loinc.org|88122')).toEqual([]);
    expect(await ids('Observation?code=88122')).toEqual([]);
  });

  it('|[code] matches only a code without a system', async () => {
    expect(await ids('Observation?code=|88122-7')).toEqual(['obs-c']);
    expect(await ids('Observation?code=|88123-5')).toEqual([]);
  });

  it('[system]| matches any code in the system', async () => {
    expect(await ids('Observation?code=http://loinc.org|')).toEqual(['obs-a', 'obs-b', 'obs-e', 'obs-f']);
    expect(await ids(`Observation?code=${LOCAL}|`)).toEqual(['obs-d', 'obs-f']);
  });

  it('a comma separates alternatives (OR)', async () => {
    expect(await ids('Observation?code=88122-7,88123-5')).toEqual(['obs-a', 'obs-b', 'obs-c', 'obs-d']);
    expect(await ids('Observation?code=http://loinc.org|88123-5,http://loinc.org|93025-5')).toEqual(['obs-b', 'obs-e']);
    expect(await ids('Observation?code=http://loinc.org|88122-7,|88122-7')).toEqual(['obs-a', 'obs-c']);
    expect(await ids('Observation?code=no-such-code,88124-3')).toEqual(['obs-f']);
  });

  it('different parameters, and a repeated parameter, must all match (AND)', async () => {
    expect(await ids('Observation?category=survey&code=http://loinc.org|')).toEqual(['obs-a', 'obs-b']);
    expect(await ids('Observation?category=survey&code=88122-7')).toEqual(['obs-a', 'obs-d']);
    expect(await ids(`Observation?category=${CATEGORY}|social-history`)).toEqual(['obs-c', 'obs-f']);
    // The same parameter twice: each must be satisfied (by any coding).
    expect(await ids(`Observation?code=http://loinc.org|&code=${LOCAL}|`)).toEqual(['obs-f']);
    expect(await ids('Observation?code=http://loinc.org|88122-7&code=http://loinc.org|88123-5')).toEqual([]);
    expect(await ids('Observation?code=88122-7,88123-5&code=http://loinc.org|')).toEqual(['obs-a', 'obs-b']);
  });
});

describe('token :not', () => {
  it('matches resources without a matching value, including those with no value', async () => {
    expect(await ids('Patient?gender:not=male')).toEqual(['pat-f', 'pat-none', 'pat-u']);
    expect(await ids('Observation?code:not=http://loinc.org|88122-7')).toEqual(['obs-b', 'obs-c', 'obs-d', 'obs-e', 'obs-f']);
    expect(await ids('Observation?code:not=88122-7')).toEqual(['obs-b', 'obs-e', 'obs-f']);
    // obs-e has no category at all.
    expect(await ids('Observation?category:not=survey')).toEqual(['obs-c', 'obs-e', 'obs-f']);
  });

  it('with several values excludes a resource matching any of them', async () => {
    expect(await ids('Patient?gender=male,female')).toEqual(['pat-f', 'pat-m']);
    expect(await ids('Patient?gender:not=male,female')).toEqual(['pat-none', 'pat-u']);
    expect(await ids('Task?status:not=requested&status:not=completed')).toEqual(['task-2', 'task-5']);
  });
});

describe('token :text', () => {
  it('matches the start of CodeableConcept.text or a Coding.display, ignoring case', async () => {
    // obs-a by its text, obs-f by a display.
    expect(await ids('Observation?code:text=food')).toEqual(['obs-a', 'obs-f']);
    expect(await ids('Observation?code:text=FOOD INSECURITY')).toEqual(['obs-a', 'obs-f']);
    expect(await ids('Observation?code:text=within')).toEqual(['obs-a', 'obs-b']);
    expect(await ids('Observation?code:text=hunger vital')).toEqual(['obs-c']);
    expect(await ids('Observation?code:text=local')).toEqual(['obs-d']);
    expect(await ids('Observation?code:text=prap')).toEqual(['obs-e']);
  });

  it('does not match a code, or text in the middle of the string', async () => {
    expect(await ids('Observation?code:text=88122')).toEqual([]);
    expect(await ids('Observation?code:text=worry')).toEqual([]);
  });
});

describe('Identifier :of-type', () => {
  it('needs type system, type code and value on the same identifier', async () => {
    expect(await ids(`Patient?identifier:of-type=${V2_0203}|MR|12345`)).toEqual(['pat-m', 'pat-u']);
    expect(await ids(`Patient?identifier:of-type=${V2_0203}|MR|54321`)).toEqual(['pat-f']);
    expect(await ids(`Patient?identifier:of-type=${V2_0203}|SS|12345`)).toEqual(['pat-f']);
    expect(await ids(`Patient?identifier:of-type=${V2_0203}|SS|54321`)).toEqual([]);
    expect(await ids(`Patient?identifier:of-type=http://example.org/other-types|MR|12345`)).toEqual([]);
  });

  it('differs from a plain identifier search on the value', async () => {
    expect(await ids('Patient?identifier=12345')).toEqual(['pat-f', 'pat-m', 'pat-u']);
    expect(await ids('Patient?identifier=http://hospital.example.org/mrn|12345')).toEqual(['pat-m']);
  });
});

describe('code, boolean and ContactPoint tokens', () => {
  it('Task?status matches the code', async () => {
    expect(await ids('Task?status=requested')).toEqual(['task-1', 'task-4']);
    expect(await ids('Task?status=requested,in-progress')).toEqual(['task-1', 'task-2', 'task-4']);
    expect(await ids('Task?status:not=requested')).toEqual(['task-2', 'task-3', 'task-5']);
    expect(await ids('Task?status=on-hold')).toEqual([]);
  });

  it('Patient?active matches true and false', async () => {
    expect(await ids('Patient?active=true')).toEqual(['pat-m', 'pat-none']);
    expect(await ids('Patient?active=false')).toEqual(['pat-f']);
    expect(await ids('Patient?active:not=true')).toEqual(['pat-f', 'pat-u']);
  });

  it('phone and email select ContactPoints by system', async () => {
    expect(await ids('Patient?phone=555-0100')).toEqual(['pat-m']);
    expect(await ids('Patient?email=m@example.org')).toEqual(['pat-m']);
    expect(await ids('Patient?email=555-0100')).toEqual([]);
    expect(await ids('Patient?telecom=555-0100')).toEqual(['pat-m']);
  });
});

describe(':missing', () => {
  it('true matches resources without the element, false those with it', async () => {
    expect(await ids('Patient?gender:missing=true')).toEqual(['pat-none']);
    expect(await ids('Patient?gender:missing=false')).toEqual(['pat-f', 'pat-m', 'pat-u']);
    expect(await ids('Patient?active:missing=true')).toEqual(['pat-u']);
    expect(await ids('Patient?identifier:missing=true')).toEqual(['pat-none']);
    expect(await ids('Observation?category:missing=true')).toEqual(['obs-e']);
    expect(await ids('Observation?category:missing=false')).toEqual(['obs-a', 'obs-b', 'obs-c', 'obs-d', 'obs-f']);
  });
});

describe('meta: _tag, _security, _profile, _source', () => {
  it('_tag is a token on meta.tag', async () => {
    expect(await ids('Patient?_tag=vip')).toEqual(['pat-m', 'pat-u']);
    expect(await ids(`Patient?_tag=${TAGS}|vip`)).toEqual(['pat-m']);
    expect(await ids(`Patient?_tag=${TAGS}|`)).toEqual(['pat-f', 'pat-m']);
    expect(await ids(`Patient?_tag=${TAGS}|research,http://other.org/tags|vip`)).toEqual(['pat-f', 'pat-u']);
    expect(await ids('Observation?_tag=vip')).toEqual([]);
  });

  it('_security is a token on meta.security', async () => {
    expect(await ids(`Patient?_security=${CONFIDENTIALITY}|R`)).toEqual(['pat-f']);
    expect(await ids('Patient?_security=N')).toEqual(['pat-m']);
    expect(await ids(`Patient?_security=${CONFIDENTIALITY}|`)).toEqual(['pat-f', 'pat-m']);
  });

  it('_profile is a uri on meta.profile (exact match)', async () => {
    expect(await ids(`Patient?_profile=${PROFILE}`)).toEqual(['pat-f', 'pat-m']);
    expect(await ids(`Patient?_profile=${OTHER_PROFILE}`)).toEqual(['pat-u']);
    expect(await ids('Patient?_profile=http://example.org/fhir/StructureDefinition/search')).toEqual([]);
  });

  it('_source is a uri on meta.source', async () => {
    expect(await ids('Patient?_source=http://ehr.example.org/fhir')).toEqual(['pat-m']);
    expect(await ids('Patient?_source=http://hie.example.org/fhir')).toEqual(['pat-f']);
    expect(await ids('Patient?_source=http://ehr.example.org')).toEqual([]);
  });
});
