// Routing is pure: these tests build directory listings by hand and check eligibility, the choice and
// the reason the hub records on its Task.
import type { Coding, Patient, ServiceRequest } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import type { CboListing } from '../../src/referrals/cbo-directory.ts';
import { emptyCursor, route, routingKey, routingRequestFor, type RoundRobinCursor, type RoutingRequest } from '../../src/referrals/routing.ts';

const SDOHCC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';
const SNOMED = 'http://snomed.info/sct';
const SERVICE_TYPE = 'http://terminology.hl7.org/CodeSystem/service-type';
const FOOD: Coding = { system: SDOHCC, code: 'food-insecurity' };
const HOUSING: Coding = { system: SDOHCC, code: 'housing-instability' };
const PANTRY_ASSIST: Coding = { system: SNOMED, code: '467771000124109' };
const FOOD_PROVISION: Coding = { system: SNOMED, code: '710925007' };

function listing(id: string, overrides: Partial<CboListing> = {}): CboListing {
  return {
    organization: `Organization/${id}`,
    healthcareService: `HealthcareService/${id}-food`,
    name: `CBO ${id}`,
    categories: ['food-insecurity'],
    services: [{ system: SERVICE_TYPE, code: '61' }],
    coverage: [{ postalCode: '97201' }],
    capacity: 'available',
    capacityCode: 'capacity',
    active: true,
    endpoint: 'light',
    ...overrides,
  };
}

function request(overrides: Partial<RoutingRequest> = {}): RoutingRequest {
  return { categories: [FOOD], serviceCodes: [], postalCode: '97201', exclude: [], ...overrides };
}

const noLoad = new Map<string, number>();
const chosenId = (decision: ReturnType<typeof route>) => decision.chosen?.organization;
const whyOf = (decision: ReturnType<typeof route>, organization: string) =>
  decision.considered.find((c) => c.organization === `Organization/${organization}`);

describe('eligibility', () => {
  it('requires one of the referral categories', () => {
    const directory = [listing('housing', { categories: ['housing-instability'] }), listing('food')];
    const decision = route(request(), directory, noLoad, emptyCursor());
    expect(chosenId(decision)).toBe('Organization/food');
    expect(whyOf(decision, 'housing')).toMatchObject({ eligible: false, why: expect.stringContaining('does not serve food-insecurity') });
    // several categories: any one is enough
    const either = route(request({ categories: [HOUSING, FOOD] }), [listing('housing', { categories: ['housing-instability'] })], noLoad, emptyCursor());
    expect(chosenId(either)).toBe('Organization/housing');
  });

  it('ignores category codings outside the SDOHCC code system', () => {
    const decision = route(request({ categories: [{ system: SNOMED, code: '410606002' }] }), [listing('food')], noLoad, emptyCursor());
    expect(decision.chosen).toBeUndefined();
    expect(decision.reason).toMatch(/no SDOH category/);
    expect(decision.considered[0].eligible).toBe(false);
  });

  it('matches requested services by system and code, and lets a listing without codes in that system through on its category', () => {
    const directory = [
      listing('pantry', { services: [{ system: SERVICE_TYPE, code: '61' }, PANTRY_ASSIST] }),
      listing('meals', { services: [FOOD_PROVISION] }),
      listing('uncoded', { services: [{ system: SERVICE_TYPE, code: '61' }] }),
    ];
    const decision = route(request({ serviceCodes: [PANTRY_ASSIST] }), directory, new Map([['Organization/pantry', 3]]), emptyCursor());
    expect(whyOf(decision, 'pantry')).toMatchObject({ eligible: true, why: expect.stringContaining('offers SNOMED 467771000124109') });
    expect(whyOf(decision, 'meals')).toMatchObject({ eligible: false, why: expect.stringContaining('none of the requested services') });
    expect(whyOf(decision, 'uncoded')).toMatchObject({ eligible: true, why: expect.stringContaining('services not coded in SNOMED') });
    // uncoded has the lower load
    expect(chosenId(decision)).toBe('Organization/uncoded');
    expect(decision.reason).toContain('meals other services');
  });

  it('requires the area to be covered: postal code, county (same state), whole state; none declared covers nowhere', () => {
    const directory = [
      listing('zip', { coverage: [{ postalCode: '97201' }] }),
      listing('other-zip', { coverage: [{ postalCode: '97202' }] }),
      listing('county', { coverage: [{ county: 'multnomah', state: 'OR' }] }),
      listing('wa-county', { coverage: [{ county: 'multnomah', state: 'WA' }] }),
      listing('state', { coverage: [{ state: 'OR' }] }),
      listing('nowhere', { coverage: [] }),
    ];
    const decision = route(request({ postalCode: '97201-1234', county: 'Multnomah County', state: 'or' }), directory, noLoad, emptyCursor());
    const eligible = decision.considered.filter((c) => c.eligible).map((c) => c.organization);
    expect(eligible).toEqual(['Organization/county', 'Organization/state', 'Organization/zip']);
    expect(whyOf(decision, 'other-zip')?.why).toBe('does not cover 97201');
    expect(whyOf(decision, 'nowhere')?.why).toBe('no coverage area declared');

    const byCounty = route(request({ postalCode: undefined, county: 'Multnomah', state: 'OR' }), directory, noLoad, emptyCursor());
    expect(byCounty.considered.filter((c) => c.eligible).map((c) => c.organization)).toEqual(['Organization/county', 'Organization/state']);
    expect(byCounty.reason).toContain('in county Multnomah OR');
  });

  it('does not filter by area when the referral has neither postal code nor county, and says so', () => {
    const directory = [listing('a', { coverage: [] }), listing('b', { coverage: [{ postalCode: '10001' }] })];
    const decision = route(request({ postalCode: undefined }), directory, noLoad, emptyCursor());
    expect(decision.considered.every((c) => c.eligible)).toBe(true);
    expect(decision.reason).toMatch(/^food-insecurity, area not checked \(no postal code or county\): 2 eligible/);
  });

  it('skips CBOs at capacity (no-capacity, waitlist) and treats unknown capacity as available', () => {
    const directory = [
      listing('full', { capacity: 'at-capacity', capacityCode: 'no-capacity' }),
      listing('waiting', { capacity: 'at-capacity', capacityCode: 'waitlist' }),
      listing('unknown', { capacity: 'unknown', capacityCode: undefined }),
    ];
    const decision = route(request(), directory, noLoad, emptyCursor());
    expect(chosenId(decision)).toBe('Organization/unknown');
    expect(whyOf(decision, 'full')?.why).toBe('at capacity (no-capacity)');
    expect(whyOf(decision, 'waiting')?.why).toBe('at capacity (waitlist)');
    expect(whyOf(decision, 'unknown')?.why).toContain('capacity unknown');
    expect(decision.reason).toContain('full at capacity (no-capacity)');
  });

  it('skips inactive and already tried CBOs', () => {
    const directory = [listing('a'), listing('b', { active: false }), listing('c')];
    const decision = route(request({ exclude: ['Organization/a'] }), directory, noLoad, emptyCursor());
    expect(chosenId(decision)).toBe('Organization/c');
    expect(whyOf(decision, 'a')?.why).toBe('already tried for this referral');
    expect(whyOf(decision, 'b')?.why).toMatch(/^inactive/);
    expect(decision.reason).toBe('food-insecurity in 97201: 1 eligible (a already tried, b inactive, c load 0); chose c (only eligible)');
  });

  it('lets a CBO with one eligible service of several speak for itself, and picks its listing with known capacity', () => {
    const directory = [
      listing('a', { healthcareService: 'HealthcareService/a-1', capacity: 'at-capacity', capacityCode: 'no-capacity' }),
      listing('a', { healthcareService: 'HealthcareService/a-2', capacity: 'unknown', capacityCode: undefined }),
      listing('a', { healthcareService: 'HealthcareService/a-3' }),
    ];
    const decision = route(request(), directory, noLoad, emptyCursor());
    expect(decision.chosen?.healthcareService).toBe('HealthcareService/a-3');
    expect(decision.considered).toHaveLength(3);
    expect(decision.reason).toBe('food-insecurity in 97201: 1 eligible (a load 0); chose a (only eligible)');
  });
});

describe('choice', () => {
  it('chooses the least open load', () => {
    const directory = [listing('a'), listing('b'), listing('c')];
    const load = new Map([['Organization/a', 4], ['Organization/b', 1], ['Organization/c', 2]]);
    const decision = route(request(), directory, load, emptyCursor());
    expect(chosenId(decision)).toBe('Organization/b');
    expect(decision.reason).toBe('food-insecurity in 97201: 3 eligible (a load 4, b load 1, c load 2); chose b (least open load 1)');
  });

  it('breaks ties round-robin with the cursor the caller keeps, per category', () => {
    const directory = [listing('c'), listing('a'), listing('b'), listing('d', { capacity: 'at-capacity', capacityCode: 'no-capacity' })];
    const load = new Map([['Organization/a', 2], ['Organization/b', 2], ['Organization/c', 2]]);
    let cursor: RoundRobinCursor = emptyCursor();
    const picks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const decision = route(request(), directory, load, cursor);
      picks.push(decision.chosen?.organization ?? '');
      cursor = decision.cursor;
    }
    expect(picks).toEqual(['Organization/a', 'Organization/b', 'Organization/c', 'Organization/a']);
    expect(cursor.lastChosen).toEqual({ 'food-insecurity': 'Organization/a' });

    const first = route(request(), directory, load, emptyCursor());
    expect(first.reason).toBe(
      'food-insecurity in 97201: 3 eligible (a load 2, b load 2, c load 2, d at capacity (no-capacity)); chose a by round-robin first in order (3 tied at load 2)',
    );
    const next = route(request(), directory, load, first.cursor);
    expect(next.reason).toMatch(/chose b by round-robin after a \(3 tied at load 2\)$/);

    // the cursor of another category is not used, and is kept
    const housing = route(request({ categories: [HOUSING] }), [listing('h1', { categories: ['housing-instability'] }), listing('h2', { categories: ['housing-instability'] })], noLoad, cursor);
    expect(chosenId(housing)).toBe('Organization/h1');
    expect(housing.cursor.lastChosen).toEqual({ 'food-insecurity': 'Organization/a', 'housing-instability': 'Organization/h1' });
    expect(routingKey(request({ categories: [HOUSING, FOOD] }))).toBe('food-insecurity+housing-instability');
  });

  it('round-robin only among the least loaded', () => {
    const directory = [listing('a'), listing('b'), listing('c')];
    const load = new Map([['Organization/a', 1], ['Organization/b', 3], ['Organization/c', 1]]);
    const decision = route(request(), directory, load, { lastChosen: { 'food-insecurity': 'Organization/a' } });
    expect(chosenId(decision)).toBe('Organization/c');
    const wrapped = route(request(), directory, load, { lastChosen: { 'food-insecurity': 'Organization/c' } });
    expect(chosenId(wrapped)).toBe('Organization/a');
  });

  it('explains why nothing is eligible', () => {
    const directory = [
      listing('a', { capacity: 'at-capacity', capacityCode: 'waitlist' }),
      listing('b'),
      listing('c', { coverage: [{ postalCode: '97210' }] }),
      listing('h', { categories: ['housing-instability'] }),
      listing('t', { categories: ['transportation-insecurity'] }),
    ];
    const decision = route(request({ exclude: ['Organization/b'] }), directory, noLoad, emptyCursor());
    expect(decision.chosen).toBeUndefined();
    expect(decision.cursor).toEqual(emptyCursor());
    expect(decision.reason).toBe(
      'food-insecurity in 97201: 0 eligible (a at capacity (waitlist), b already tried, c outside area); 2 other CBOs do not serve it; no eligible CBO',
    );
    const empty = route(request(), [], noLoad, emptyCursor());
    expect(empty.reason).toBe('food-insecurity in 97201: 0 eligible; no eligible CBO');
  });
});

describe('reason without PHI', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'pat-1',
    name: [{ family: 'Zyzzyva', given: ['Quentin'] }],
    birthDate: '1961-07-04',
    telecom: [{ system: 'phone', value: '503-555-0199' }],
    address: [
      { use: 'old', line: ['1 Former Way'], city: 'Salem', postalCode: '97301', district: 'Marion', state: 'OR' },
      { use: 'home', line: ['742 Evergreen Terrace Apt 3'], city: 'Portland', postalCode: '97201-4321', district: 'Multnomah', state: 'OR' },
    ],
  };
  const serviceRequest: ServiceRequest = {
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/pat-1', display: 'Quentin Zyzzyva' },
    category: [
      { coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category', code: 'sdoh' }] },
      { coding: [{ system: SDOHCC, code: 'food-insecurity', display: 'Food Insecurity' }] },
    ],
    code: { coding: [{ system: SNOMED, code: '467771000124109', display: 'Assistance with application for food pantry program' }], text: 'Help Quentin apply' },
    note: [{ text: 'Quentin lives at 742 Evergreen Terrace' }],
  };

  it('reads categories, services and the home address area only', () => {
    const input = routingRequestFor(serviceRequest, patient);
    expect(input).toEqual({
      categories: [{ system: SDOHCC, code: 'food-insecurity' }],
      serviceCodes: [{ system: SNOMED, code: '467771000124109' }],
      postalCode: '97201',
      county: 'Multnomah',
      state: 'OR',
      exclude: [],
    });
    // no home address: temp, then an address without use; never old/work/billing or ended ones
    const moved: Patient = {
      resourceType: 'Patient',
      address: [
        { use: 'work', postalCode: '97204' },
        { use: 'home', postalCode: '97205', period: { end: '2020-01-01' } },
        { use: 'temp', postalCode: '97209' },
      ],
    };
    expect(routingRequestFor(serviceRequest, moved).postalCode).toBe('97209');
    expect(routingRequestFor(serviceRequest, { resourceType: 'Patient' })).not.toHaveProperty('postalCode');
    expect(routingRequestFor(serviceRequest, undefined).categories).toHaveLength(1);
  });

  it('puts none of the patient in the reason or the considered list', () => {
    const directory = [
      listing('a', { services: [PANTRY_ASSIST] }),
      listing('b', { services: [FOOD_PROVISION] }),
      listing('c', { services: [], coverage: [{ county: 'multnomah', state: 'OR' }] }),
    ];
    const decision = route(routingRequestFor(serviceRequest, patient), directory, noLoad, emptyCursor());
    expect(decision.chosen).toBeDefined();
    const recorded = [decision.reason, ...decision.considered.map((c) => c.why)].join('\n');
    for (const phi of ['Quentin', 'Zyzzyva', 'Evergreen', '742', 'Portland', '1961', '555', 'pat-1', '4321', 'Salem', '97301', 'Help']) {
      expect(recorded).not.toContain(phi);
    }
    expect(decision.reason).toBe(
      'food-insecurity (service SNOMED 467771000124109) in 97201: 2 eligible (a load 0, b other services, c load 0); chose a by round-robin first in order (2 tied at load 0)',
    );
  });

  it('does not echo an area or code that is not shaped like one', () => {
    const decision = route(
      request({ postalCode: 'Apt 3, 742 Evergreen Terrace', serviceCodes: [{ system: SNOMED, code: 'Quentin Zyzzyva, DOB 1961-07-04' }] }),
      [listing('a')],
      noLoad,
      emptyCursor(),
    );
    const recorded = [decision.reason, ...decision.considered.map((c) => c.why)].join('\n');
    expect(recorded).not.toMatch(/evergreen|quentin|1961/i);
    const byCounty = route(request({ postalCode: undefined, county: 'c/o Quentin <script>' }), [listing('a')], noLoad, emptyCursor());
    expect(byCounty.reason).not.toContain('Quentin');
  });
});
