// String (starts-with, case- and accent-insensitive; :exact; :contains; HumanName and Address parts),
// uri (exact, :below, :above), number (implicit precision, prefixes) and quantity
// (value|system|code, value||unit, prefixes) search. Expected ids are worked out by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { putAll, ref, searchIds, UCUM, type Json } from './search-helpers.ts';

let server: TestServer;
const ids = (search: string) => searchIds(server, search);

const patient = (id: string, extra: Json): Json => ({ resourceType: 'Patient', id, ...extra });
const organization = (id: string, name: string, alias?: string[]): Json => ({ resourceType: 'Organization', id, name, ...(alias ? { alias } : {}) });
const valueSet = (id: string, url: string): Json => ({ resourceType: 'ValueSet', id, url, status: 'active' });
const risk = (id: string, probabilities: number[]): Json => ({
  resourceType: 'RiskAssessment',
  id,
  status: 'final',
  subject: ref('Patient/smith'),
  prediction: probabilities.map((probabilityDecimal) => ({ outcome: { text: 'Food insecurity' }, probabilityDecimal })),
});
const quantity = (id: string, valueQuantity: Json): Json => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'quantity search' },
  valueQuantity,
});

const data: Json[] = [
  patient('smith', {
    name: [{ family: 'Smith', given: ['John', 'Quincy'] }],
    address: [{ line: ['1 Main St'], city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' }],
  }),
  patient('smithson', { name: [{ family: 'Smithson', given: ['Anna'] }], address: [{ city: 'Shelbyville', postalCode: '62565', country: 'US' }] }),
  patient('jose-accent', { name: [{ family: 'José', given: ['Ana María'] }] }),
  patient('jose-plain', { name: [{ family: 'Jose', given: ['Pat'] }] }),
  // 'smi' only in the middle of the family name.
  patient('blacksmith', { name: [{ family: 'Blacksmith', given: ['Will'] }] }),
  patient('muller', {
    name: [{ family: 'Müller', given: ['Jürgen'] }],
    address: [{ line: ['Bahnhofstrasse 1'], city: 'Zürich', postalCode: '8001', country: 'CH' }],
  }),
  // Only HumanName.text.
  patient('smitty', { name: [{ text: 'Smitty Jones' }] }),

  organization('org-sfb', 'Springfield Food Bank', ['SFB']),
  organization('org-sha', 'Shelbyville Housing Authority'),
  organization('org-pantry', 'Food Pantry of Springfield'),

  valueSet('vs-food', 'http://example.org/fhir/ValueSet/food'),
  valueSet('vs-food-insecurity', 'http://example.org/fhir/ValueSet/food-insecurity'),
  valueSet('vs-food-child', 'http://example.org/fhir/ValueSet/food/child'),
  valueSet('vs-other', 'http://example.org/fhir/other/ValueSet/x'),
  // Shares a string prefix with http://example.org/fhir but not a path.
  valueSet('vs-fhirish', 'http://example.org/fhirish/ValueSet/y'),

  risk('r-080', [0.8]),
  risk('r-084', [0.84]),
  risk('r-076', [0.76]),
  risk('r-086', [0.86]),
  risk('r-050', [0.5]),
  risk('r-two', [0.25, 0.95]),

  quantity('q-mg', { value: 5.4, unit: 'mg', system: UCUM, code: 'mg' }),
  quantity('q-unit-only', { value: 5.4, unit: 'mg' }),
  quantity('q-mmol', { value: 5.4, unit: 'mmol/L', system: UCUM, code: 'mmol/L' }),
  quantity('q-mg-high', { value: 7.2, unit: 'mg', system: UCUM, code: 'mg' }),
  quantity('q-mg-low', { value: 3, unit: 'mg', system: UCUM, code: 'mg' }),
  quantity('q-other-system', { value: 5.4, unit: 'milligram', system: 'http://example.org/units', code: 'mg' }),
  quantity('q-mg-544', { value: 5.44, unit: 'mg', system: UCUM, code: 'mg' }),
];

beforeAll(async () => {
  server = await startTestServer();
  await putAll(server, data);
});
afterAll(async () => {
  await server?.close();
});

describe('string', () => {
  it('matches the start of a value, ignoring case', async () => {
    expect(await ids('Patient?name=smi')).toEqual(['smith', 'smithson', 'smitty']);
    expect(await ids('Patient?name=SMITH')).toEqual(['smith', 'smithson']);
    expect(await ids('Patient?family=smi')).toEqual(['smith', 'smithson']);
    expect(await ids('Patient?name=john')).toEqual(['smith']);
    expect(await ids('Patient?given=an')).toEqual(['jose-accent', 'smithson']);
    expect(await ids('Patient?given=ana')).toEqual(['jose-accent']);
    expect(await ids('Patient?family=mith')).toEqual([]);
  });

  it('ignores accents, in the data and in the search value', async () => {
    expect(await ids('Patient?family=jose')).toEqual(['jose-accent', 'jose-plain']);
    expect(await ids('Patient?family=JOSÉ')).toEqual(['jose-accent', 'jose-plain']);
    expect(await ids('Patient?family=muller')).toEqual(['muller']);
    expect(await ids('Patient?given=jurg')).toEqual(['muller']);
    expect(await ids('Patient?address-city=zurich')).toEqual(['muller']);
  });

  it(':exact matches the whole value, with case and accents', async () => {
    expect(await ids('Patient?family:exact=José')).toEqual(['jose-accent']);
    expect(await ids('Patient?family:exact=Jose')).toEqual(['jose-plain']);
    expect(await ids('Patient?family:exact=jose')).toEqual([]);
    expect(await ids('Patient?family:exact=Smith')).toEqual(['smith']);
    expect(await ids('Patient?family:exact=Smit')).toEqual([]);
    expect(await ids('Patient?given:exact=Ana María')).toEqual(['jose-accent']);
  });

  it(':contains matches anywhere in the value', async () => {
    expect(await ids('Patient?family:contains=mit')).toEqual(['blacksmith', 'smith', 'smithson']);
    expect(await ids('Patient?family:contains=SON')).toEqual(['smithson']);
    expect(await ids('Patient?name:contains=jones')).toEqual(['smitty']);
    expect(await ids('Patient?given:contains=URG')).toEqual(['muller']);
    expect(await ids('Patient?family:contains=xyz')).toEqual([]);
  });

  it('comma is OR, repeated parameters are AND', async () => {
    expect(await ids('Patient?family=smith,jose')).toEqual(['jose-accent', 'jose-plain', 'smith', 'smithson']);
    expect(await ids('Patient?name=smith&given=anna')).toEqual(['smithson']);
    expect(await ids('Patient?family=smith&family=smithson')).toEqual(['smithson']);
  });

  it('address matches any part of the Address; the address-* parameters one part', async () => {
    expect(await ids('Patient?address=springfield')).toEqual(['smith']);
    expect(await ids('Patient?address=1 main')).toEqual(['smith']);
    expect(await ids('Patient?address=zur')).toEqual(['muller']);
    expect(await ids('Patient?address=us')).toEqual(['smith', 'smithson']);
    expect(await ids('Patient?address-postalcode=627')).toEqual(['smith']);
    expect(await ids('Patient?address-postalcode=62')).toEqual(['smith', 'smithson']);
    expect(await ids('Patient?address-city=spring')).toEqual(['smith']);
    expect(await ids('Patient?address-city=627')).toEqual([]);
    expect(await ids('Patient?address-country=ch')).toEqual(['muller']);
  });

  it('Organization?name matches name and alias', async () => {
    expect(await ids('Organization?name=food')).toEqual(['org-pantry']);
    expect(await ids('Organization?name=spring')).toEqual(['org-sfb']);
    expect(await ids('Organization?name=sfb')).toEqual(['org-sfb']);
    expect(await ids('Organization?name:contains=food')).toEqual(['org-pantry', 'org-sfb']);
    expect(await ids('Organization?name:exact=Springfield Food Bank')).toEqual(['org-sfb']);
    expect(await ids('Organization?name:exact=springfield food bank')).toEqual([]);
  });
});

describe('uri', () => {
  it('matches the whole uri exactly, case-sensitively', async () => {
    expect(await ids('ValueSet?url=http://example.org/fhir/ValueSet/food')).toEqual(['vs-food']);
    expect(await ids('ValueSet?url=http://example.org/fhir/ValueSet/food-insecurity')).toEqual(['vs-food-insecurity']);
    expect(await ids('ValueSet?url=http://example.org/fhir/valueset/food')).toEqual([]);
    expect(await ids('ValueSet?url=http://example.org/fhir/ValueSet')).toEqual([]);
  });

  it(':below matches the uri and those under it at a path boundary', async () => {
    expect(await ids('ValueSet?url:below=http://example.org/fhir/ValueSet/food')).toEqual(['vs-food', 'vs-food-child']);
    expect(await ids('ValueSet?url:below=http://example.org/fhir')).toEqual(['vs-food', 'vs-food-child', 'vs-food-insecurity', 'vs-other']);
  });

  it(':above matches the uri and those above it', async () => {
    expect(await ids('ValueSet?url:above=http://example.org/fhir/ValueSet/food/child/grandchild')).toEqual(['vs-food', 'vs-food-child']);
    expect(await ids('ValueSet?url:above=http://example.org/fhir/ValueSet/food-insecurity')).toEqual(['vs-food-insecurity']);
  });
});

describe('number', () => {
  it('an equality search covers the implicit precision of the value', async () => {
    // 0.8 means [0.75, 0.85).
    expect(await ids('RiskAssessment?probability=0.8')).toEqual(['r-076', 'r-080', 'r-084']);
    expect(await ids('RiskAssessment?probability=eq0.8')).toEqual(['r-076', 'r-080', 'r-084']);
    // 0.80 means [0.795, 0.805).
    expect(await ids('RiskAssessment?probability=0.80')).toEqual(['r-080']);
    expect(await ids('RiskAssessment?probability=0.25')).toEqual(['r-two']);
    expect(await ids('RiskAssessment?probability=0.4')).toEqual([]);
  });

  it('compares with gt, lt, ge, le and ne; any prediction may match', async () => {
    // With a prefix other than eq/ne, the comparison is with the exact value: 0.76 is below 0.8.
    expect(await ids('RiskAssessment?probability=lt0.8')).toEqual(['r-050', 'r-076', 'r-two']);
    expect(await ids('RiskAssessment?probability=gt0.5')).toEqual(['r-076', 'r-080', 'r-084', 'r-086', 'r-two']);
    expect(await ids('RiskAssessment?probability=lt0.5')).toEqual(['r-two']);
    expect(await ids('RiskAssessment?probability=le0.5')).toEqual(['r-050', 'r-two']);
    expect(await ids('RiskAssessment?probability=ge0.84')).toEqual(['r-084', 'r-086', 'r-two']);
    expect(await ids('RiskAssessment?probability=lt0.76')).toEqual(['r-050', 'r-two']);
    expect(await ids('RiskAssessment?probability=gt0.86')).toEqual(['r-two']);
    expect(await ids('RiskAssessment?probability=ne0.8')).toEqual(['r-050', 'r-086', 'r-two']);
  });

  it('comma is OR, repeated is AND', async () => {
    expect(await ids('RiskAssessment?probability=0.5,0.86')).toEqual(['r-050', 'r-086']);
    expect(await ids('RiskAssessment?probability=gt0.5&probability=lt0.8')).toEqual(['r-076', 'r-two']);
  });
});

describe('quantity', () => {
  it('value|system|code matches the value (with its precision), system and code', async () => {
    expect(await ids(`Observation?value-quantity=5.4|${UCUM}|mg`)).toEqual(['q-mg', 'q-mg-544']);
    expect(await ids(`Observation?value-quantity=5.40|${UCUM}|mg`)).toEqual(['q-mg']);
    expect(await ids(`Observation?value-quantity=5.4|${UCUM}|mmol/L`)).toEqual(['q-mmol']);
    expect(await ids('Observation?value-quantity=5.4|http://example.org/units|mg')).toEqual(['q-other-system']);
    expect(await ids(`Observation?value-quantity=7.2|${UCUM}|mg`)).toEqual(['q-mg-high']);
  });

  it('a value alone matches any unit', async () => {
    expect(await ids('Observation?value-quantity=5.4')).toEqual(['q-mg', 'q-mg-544', 'q-mmol', 'q-other-system', 'q-unit-only']);
    expect(await ids('Observation?value-quantity=3')).toEqual(['q-mg-low']);
  });

  it('value||unit matches the code or the unit in any system', async () => {
    expect(await ids('Observation?value-quantity=5.4||mg')).toEqual(['q-mg', 'q-mg-544', 'q-other-system', 'q-unit-only']);
    expect(await ids('Observation?value-quantity=5.4||milligram')).toEqual(['q-other-system']);
    expect(await ids('Observation?value-quantity=5.4||kg')).toEqual([]);
  });

  it('compares with prefixes, with and without units', async () => {
    expect(await ids('Observation?value-quantity=gt5')).toEqual(['q-mg', 'q-mg-544', 'q-mg-high', 'q-mmol', 'q-other-system', 'q-unit-only']);
    expect(await ids(`Observation?value-quantity=gt5|${UCUM}|mg`)).toEqual(['q-mg', 'q-mg-544', 'q-mg-high']);
    expect(await ids('Observation?value-quantity=lt5||mg')).toEqual(['q-mg-low']);
    expect(await ids(`Observation?value-quantity=le7.2|${UCUM}|mg`)).toEqual(['q-mg', 'q-mg-544', 'q-mg-high', 'q-mg-low']);
    expect(await ids(`Observation?value-quantity=ge7.2|${UCUM}|mg`)).toEqual(['q-mg-high']);
    expect(await ids(`Observation?value-quantity=gt7.2|${UCUM}|mg`)).toEqual([]);
    expect(await ids(`Observation?value-quantity=ne5.4|${UCUM}|mg`)).toEqual(['q-mg-high', 'q-mg-low']);
  });

  it('comma is OR', async () => {
    expect(await ids('Observation?value-quantity=3||mg,7.2||mg')).toEqual(['q-mg-high', 'q-mg-low']);
  });
});
