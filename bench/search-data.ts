// Deterministic SDOH data set for bench/search.ts: a Community Care Hub's referrals.
//
// Every resource is a pure function of (seed, kind, index), so any index range can be generated on
// its own (in any order, in any worker) and references are computed, never looked up: Condition i
// belongs to Patient conditionPatient(i), ServiceRequest j supports Condition j, Task k fulfils
// ServiceRequest taskServiceRequest(k), and a completed Task k has output Procedure proc-k.
//
// Shape (of N resources): Patients 20%, Observations ~36% (SDOH screening answers plus some vital
// signs), Conditions 10% (SDOH health concerns, ICD-10 Z codes), ServiceRequests 10% (referrals from
// clinics), Tasks 15% (to 50 CBOs; 8/15 completed, each with a Procedure: 8%), and a fixed ~170 of
// Organizations (hub, clinics, plans, CBOs), HealthcareServices and Locations.
import type {
  CodeableConcept, Condition, HealthcareService, Location, Observation, Organization, Patient, Procedure, Resource, ServiceRequest, Task,
} from 'fhir/r4';

export const MRN_SYSTEM = 'http://cch.example.org/fhir/sid/mrn';
const US_CORE_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CONDITION_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/condition-category';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const SDOHCC_TEMP = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: a 32-bit integer hash for O(1) linkage, mulberry32 for per-resource draws.

/** Mixes any number of 32-bit integers into one (murmur3-style finalizer per step). */
export function hash(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const value of values) {
    h = Math.imul(h ^ (value | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const unit = (...values: number[]) => hash(...values) / 4294967296;

export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Index drawn from cumulative weights (ascending, last = total) by a uniform u in [0, 1). */
function weighted(cumulative: readonly number[], u: number): number {
  const target = u * cumulative[cumulative.length - 1];
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Zipf-like weights 1/(k+1)^s, cumulative. */
function zipf(n: number, s: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let k = 0; k < n; k++) out.push((sum += 1 / (k + 1) ** s));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

const GIVEN_F = ['Maria', 'Linda', 'Aisha', 'Mei', 'Sofia', 'Fatima', 'Grace', 'Rosa', 'Emily', 'Nadia', 'Keisha', 'Olga', 'Priya', 'Hannah', 'Lucia', 'Amara', 'Chloe', 'Yuki', 'Ana', 'Dana'];
const GIVEN_M = ['James', 'Carlos', 'Wei', 'Mohammed', 'David', 'Jamal', 'Luis', 'Ivan', 'Samuel', 'Tuan', 'Omar', 'Daniel', 'Kwame', 'Raj', 'Diego', 'Ethan', 'Hiro', 'Mateo', 'Noah', 'Ali'];
const FAMILY = [
  'Garcia', 'Smith', 'Nguyen', 'Johnson', 'Martinez', 'Williams', 'Chen', 'Brown', 'Hernandez', 'Jones', 'Kim', 'Lopez', 'Patel', 'Davis', 'Rodriguez',
  'Wilson', 'Ahmed', 'Taylor', 'Okafor', 'Anderson', 'Singh', 'Thomas', 'Ivanova', 'Moore', 'Tran', 'Jackson', 'Silva', 'White', 'Haddad', 'Harris',
  'Cohen', 'Martin', 'Yamamoto', 'Clark', 'Mensah', 'Lewis', 'Kowalski', 'Walker', 'Rossi', 'Young',
];
const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Pine St', 'Elm St', 'Washington Blvd', 'Lake Rd', 'Hill St', 'Park Ave', 'River Rd', 'Sunset Blvd', '2nd St', 'Broadway', 'Division St'];
/** City and its postal codes. */
const CITIES: [string, string[]][] = [
  ['Portland', ['97201', '97202', '97203', '97205', '97206', '97209', '97211', '97212', '97214', '97217', '97220', '97230', '97233', '97236', '97266']],
  ['Gresham', ['97030', '97080']],
  ['Beaverton', ['97005', '97006', '97007', '97008']],
  ['Hillsboro', ['97123', '97124']],
  ['Salem', ['97301', '97302', '97303', '97304', '97305']],
  ['Vancouver', ['98660', '98661', '98662', '98663', '98664', '98682', '98683', '98684']],
];

export const CBO_COUNT = 50;
export const CLINICS = [
  'Riverside Family Clinic', 'Lakeview Community Health Center', 'Northgate Medical Group', 'Cedar Hills Pediatrics', 'Eastside Health Partners',
  'Mt Tabor Primary Care', 'Westbrook Internal Medicine', 'Southpoint Community Clinic', 'Harborview Family Medicine', 'Greenfield Health',
];
const PLANS = ['Cascade Health Plan', 'Columbia Medicaid Partners', 'Evergreen Advantage', 'Willamette Care Organization', 'Pacific Coordinated Care'];
const CBO_FIRST = ['Eastside', 'Westside', 'Northside', 'Southside', 'Downtown', 'Valley', 'Riverbend', 'Hilltop', 'Harbor', 'Lincoln'];
const CBO_KIND = ['Food Bank', 'Housing Alliance', 'Transit Helpers', 'Family Services', 'Community Pantry'];
/** Per CBO kind: the HealthcareService category and what it offers. */
const CBO_SERVICE: Record<string, { code: string; display: string }> = {
  'Food Bank': { code: 'food-insecurity', display: 'Food Insecurity' },
  'Community Pantry': { code: 'food-insecurity', display: 'Food Insecurity' },
  'Housing Alliance': { code: 'housing-instability', display: 'Housing Instability' },
  'Transit Helpers': { code: 'transportation-insecurity', display: 'Transportation Insecurity' },
  'Family Services': { code: 'financial-insecurity', display: 'Financial Insecurity' },
};

interface Answer { code: string; display: string }
interface Screening { code: string; display: string; answers: Answer[] }
const OFTEN_SOMETIMES_NEVER: Answer[] = [
  { code: 'LA28397-0', display: 'Often true' },
  { code: 'LA6729-3', display: 'Sometimes true' },
  { code: 'LA28398-8', display: 'Never true' },
];
export const SCREENINGS: Screening[] = [
  { code: '88122-7', display: 'Within the past 12 months we worried whether our food would run out before we got money to buy more', answers: OFTEN_SOMETIMES_NEVER },
  { code: '88123-5', display: "Within the past 12 months the food we bought just didn't last and we didn't have money to get more", answers: OFTEN_SOMETIMES_NEVER },
  {
    code: '71802-3', display: 'Housing status',
    answers: [{ code: 'LA31993-1', display: 'I have housing' }, { code: 'LA31994-9', display: 'I do not have housing' }, { code: 'LA31995-6', display: 'I choose not to answer this question' }],
  },
  {
    code: '93030-5', display: 'Has lack of transportation kept you from medical appointments, meetings, work, or from getting things needed for daily living',
    answers: [{ code: 'LA33-6', display: 'Yes' }, { code: 'LA32-8', display: 'No' }],
  },
];
/** ICD-10-CM Z codes and the SNOMED referral each leads to. */
const CONCERNS: { icd: string; display: string; service: { code: string; display: string }; procedure: { code: string; display: string } }[] = [
  { icd: 'Z59.41', display: 'Food insecurity', service: { code: '467771000124109', display: 'Assistance with application for food pantry program' }, procedure: { code: '467771000124109', display: 'Assistance with application for food pantry program' } },
  { icd: 'Z59.48', display: 'Other specified lack of adequate food', service: { code: '464031000124101', display: 'Referral to community meals service' }, procedure: { code: '710925007', display: 'Provision of food' } },
  { icd: 'Z59.01', display: 'Sheltered homelessness', service: { code: '1148417001', display: 'Referral to housing service' }, procedure: { code: '49919000', display: 'Housing assistance' } },
  { icd: 'Z59.02', display: 'Unsheltered homelessness', service: { code: '1148417001', display: 'Referral to housing service' }, procedure: { code: '49919000', display: 'Housing assistance' } },
  { icd: 'Z59.82', display: 'Transportation insecurity', service: { code: '308440001', display: 'Referral to transport service' }, procedure: { code: '183710001', display: 'Transport service provision' } },
  { icd: 'Z59.86', display: 'Financial insecurity', service: { code: '466931000124105', display: 'Referral to financial assistance program' }, procedure: { code: '410420003', display: 'Financial assistance provision' } },
];
const CONCERN_WEIGHTS = [30, 10, 12, 6, 22, 20].reduce<number[]>((acc, w) => [...acc, (acc.at(-1) ?? 0) + w], []);

// ---------------------------------------------------------------------------------------------
// The plan: how many of each kind, and the fixed organizations.

export type Kind = 'Organization' | 'Location' | 'HealthcareService' | 'Patient' | 'Observation' | 'Condition' | 'ServiceRequest' | 'Task';
/** Load order; Task ranges also yield the Procedures of completed tasks. */
export const KINDS: Kind[] = ['Organization', 'Location', 'HealthcareService', 'Patient', 'Observation', 'Condition', 'ServiceRequest', 'Task'];

export const TASK_STATUSES = ['completed', 'requested', 'accepted', 'in-progress', 'cancelled'] as const;
type TaskStatus = (typeof TASK_STATUSES)[number];
/** Cumulative: completed 8/15 (one Procedure each, so Procedures are 8% of N), requested 15%, ... */
const TASK_STATUS_CUMULATIVE = [8 / 15, 8 / 15 + 0.15, 8 / 15 + 0.25, 8 / 15 + 0.42, 1];

const START_2024 = Date.UTC(2024, 0, 1);
const END = Date.UTC(2026, 10, 1); // data up to 2026-11-01
const DAY = 86_400_000;

export interface Dataset {
  seed: number;
  total: number;
  counts: Record<Kind, number> & { Procedure: number };
}

/** The organizations that always exist: hub, clinics, plans, CBOs (ids org-hub, org-clinic-K, org-plan-K, org-cbo-K). */
function fixedOrganizations(): number {
  return 1 + CLINICS.length + PLANS.length + CBO_COUNT;
}

export function planDataset(total: number, seed = 20_260_101): Dataset {
  const fixed = fixedOrganizations() + 2 * CBO_COUNT;
  if (total < fixed + 100) throw new Error(`--resources must be at least ${fixed + 100}`);
  const patients = Math.round(total * 0.2);
  const conditions = Math.round(total * 0.1);
  const serviceRequests = conditions; // one referral per health concern
  const tasks = Math.round(serviceRequests * 1.5);
  let procedures = 0;
  for (let k = 0; k < tasks; k++) if (taskStatusOf(seed, k) === 'completed') procedures++;
  const observations = total - fixed - patients - conditions - serviceRequests - tasks - procedures;
  return {
    seed,
    total,
    counts: {
      Organization: fixedOrganizations(), Location: CBO_COUNT, HealthcareService: CBO_COUNT,
      Patient: patients, Observation: observations, Condition: conditions, ServiceRequest: serviceRequests, Task: tasks, Procedure: procedures,
    },
  };
}

// Salts per kind so the same index draws different numbers in each.
const SALT: Record<Kind | 'Procedure' | 'link', number> = {
  Organization: 11, Location: 12, HealthcareService: 13, Patient: 14, Observation: 15, Condition: 16, ServiceRequest: 17, Task: 18, Procedure: 19, link: 20,
};

export const patientId = (i: number) => `pat-${i}`;
export const cboId = (k: number) => `org-cbo-${k}`;
export const clinicId = (k: number) => `org-clinic-${k}`;
export const mrnOf = (i: number) => `MRN${String(1_000_000 + i)}`;

const CBO_WEIGHTS = zipf(CBO_COUNT, 0.7);
const CLINIC_WEIGHTS = zipf(CLINICS.length, 1);

function taskStatusOf(seed: number, k: number): TaskStatus {
  return TASK_STATUSES[weighted(TASK_STATUS_CUMULATIVE, unit(seed, SALT.Task, k, 1))];
}

/** Which patient Condition i (and so ServiceRequest i and its Tasks) is about. */
function conditionPatient(d: Dataset, i: number): number {
  return hash(d.seed, SALT.link, 1, i) % d.counts.Patient;
}
function concernOf(d: Dataset, i: number): number {
  return weighted(CONCERN_WEIGHTS, unit(d.seed, SALT.Condition, i, 7));
}
/** ServiceRequest of Task k: the first n tasks one each, the rest a second task for every other one. */
function taskServiceRequest(d: Dataset, k: number): number {
  const n = d.counts.ServiceRequest;
  return k < n ? k : ((k - n) * 2) % n;
}
function requesterClinic(d: Dataset, j: number): number {
  return weighted(CLINIC_WEIGHTS, unit(d.seed, SALT.ServiceRequest, j, 3));
}
/** Conditions are recorded from 2024 on; their referral a few days later, tasks the same day. */
function conditionRecorded(d: Dataset, i: number): number {
  return START_2024 + Math.floor(unit(d.seed, SALT.Condition, i, 2) * (END - START_2024 - 60 * DAY));
}
const iso = (ms: number) => new Date(ms).toISOString();
const isoDate = (ms: number) => iso(ms).slice(0, 10);
const meta = (ms: number) => ({ versionId: '1', lastUpdated: iso(Math.min(ms, END)) });

// ---------------------------------------------------------------------------------------------
// Resources.

function organization(k: number): Organization {
  const orgType = (code: string, display: string): CodeableConcept[] => [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code, display }] }];
  const address = (n: number) => {
    const [city, zips] = CITIES[n % CITIES.length];
    return [{ line: [`${100 + n * 7} ${STREETS[n % STREETS.length]}`], city, state: city === 'Vancouver' ? 'WA' : 'OR', postalCode: zips[n % zips.length] }];
  };
  const when = meta(START_2024 + k * DAY);
  if (k === 0) return { resourceType: 'Organization', id: 'org-hub', meta: when, active: true, type: orgType('other', 'Other'), name: 'Cascadia Community Care Hub', address: address(0) };
  k -= 1;
  if (k < CLINICS.length) {
    return {
      resourceType: 'Organization', id: clinicId(k), meta: when, active: true,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: String(1_234_567_000 + k) }],
      type: orgType('prov', 'Healthcare Provider'), name: CLINICS[k], address: address(k + 1),
    };
  }
  k -= CLINICS.length;
  if (k < PLANS.length) {
    return { resourceType: 'Organization', id: `org-plan-${k}`, meta: when, active: true, type: orgType('pay', 'Payer'), name: PLANS[k], address: address(k + 2) };
  }
  k -= PLANS.length;
  return {
    resourceType: 'Organization', id: cboId(k), meta: when, active: true,
    identifier: [{ system: 'http://cch.example.org/fhir/sid/cbo', value: `CBO-${k}` }],
    type: orgType('cg', 'Community Group'),
    name: cboName(k),
    telecom: [{ system: 'phone', value: `503-555-${String(1000 + k).slice(-4)}`, use: 'work' }],
    address: address(k + 3),
  };
}

function cboName(k: number): string {
  return `${CBO_FIRST[k % CBO_FIRST.length]} ${CBO_KIND[Math.floor(k / CBO_FIRST.length) % CBO_KIND.length]}`;
}

function location(k: number): Location {
  const [city, zips] = CITIES[k % CITIES.length];
  return {
    resourceType: 'Location', id: `loc-${k}`, meta: meta(START_2024 + k * DAY), status: 'active', mode: 'instance',
    name: `${cboName(k)} - main site`,
    address: { line: [`${200 + k * 11} ${STREETS[(k + 3) % STREETS.length]}`], city, state: city === 'Vancouver' ? 'WA' : 'OR', postalCode: zips[k % zips.length] },
    managingOrganization: { reference: `Organization/${cboId(k)}` },
  };
}

function healthcareService(k: number): HealthcareService {
  const kind = CBO_KIND[Math.floor(k / CBO_FIRST.length) % CBO_KIND.length];
  const service = CBO_SERVICE[kind];
  return {
    resourceType: 'HealthcareService', id: `hs-${k}`, meta: meta(START_2024 + k * DAY), active: true,
    providedBy: { reference: `Organization/${cboId(k)}` },
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: service.code, display: service.display }] }],
    location: [{ reference: `Location/loc-${k}` }],
    name: `${cboName(k)} ${kind === 'Food Bank' || kind === 'Community Pantry' ? 'food assistance' : 'services'}`,
    telecom: [{ system: 'phone', value: `503-555-${String(2000 + k).slice(-4)}` }],
  };
}

function patient(d: Dataset, i: number): Patient {
  const r = new Random(hash(d.seed, SALT.Patient, i));
  const female = r.chance(0.52);
  const given = female ? GIVEN_F : GIVEN_M;
  const [city, zips] = CITIES[weighted([50, 58, 68, 76, 86, 100], r.next())];
  const birth = Date.UTC(1940, 0, 1) + r.int(70 * 365) * DAY;
  const names = [r.pick(given)];
  if (r.chance(0.3)) names.push(r.pick(given));
  return {
    resourceType: 'Patient', id: patientId(i), meta: meta(START_2024 + r.int((END - START_2024) / DAY) * DAY + r.int(DAY)),
    identifier: [{
      use: 'usual',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }] },
      system: MRN_SYSTEM,
      value: mrnOf(i),
    }],
    active: true,
    name: [{ use: 'official', family: r.pick(FAMILY), given: names }],
    telecom: r.chance(0.8) ? [{ system: 'phone', value: `503-${200 + r.int(800)}-${String(r.int(10_000)).padStart(4, '0')}`, use: 'mobile' }] : undefined,
    gender: r.chance(0.02) ? 'other' : female ? 'female' : 'male',
    birthDate: isoDate(birth),
    address: [{
      use: 'home',
      line: [`${1 + r.int(9999)} ${r.pick(STREETS)}`],
      city,
      state: city === 'Vancouver' ? 'WA' : 'OR',
      postalCode: r.pick(zips),
      country: 'US',
    }],
  };
}

function observation(d: Dataset, i: number): Observation {
  const r = new Random(hash(d.seed, SALT.Observation, i));
  const subject = { reference: `Patient/${patientId(r.int(d.counts.Patient))}` };
  const effective = START_2024 + Math.floor(r.next() * (END - START_2024));
  if (r.chance(0.15)) {
    // Not SDOH: a heart rate, so category filters have something to exclude.
    return {
      resourceType: 'Observation', id: `obs-${i}`, meta: meta(effective + r.int(DAY)), status: 'final',
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }] }],
      code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] },
      subject,
      effectiveDateTime: iso(effective),
      valueQuantity: { value: 55 + r.int(50), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    };
  }
  const screening = r.pick(SCREENINGS);
  const answer = r.pick(screening.answers);
  return {
    resourceType: 'Observation', id: `obs-${i}`, meta: meta(effective + r.int(DAY)), status: 'final',
    category: [
      { coding: [{ system: OBSERVATION_CATEGORY, code: 'social-history', display: 'Social History' }] },
      { coding: [{ system: US_CORE_CATEGORY, code: 'sdoh', display: 'SDOH' }] },
    ],
    code: { coding: [{ system: LOINC, code: screening.code, display: screening.display }] },
    subject,
    effectiveDateTime: iso(effective),
    valueCodeableConcept: { coding: [{ system: LOINC, code: answer.code, display: answer.display }] },
  };
}

function condition(d: Dataset, i: number): Condition {
  const concern = CONCERNS[concernOf(d, i)];
  const recorded = conditionRecorded(d, i);
  const resolved = unit(d.seed, SALT.Condition, i, 3) < 0.35;
  return {
    resourceType: 'Condition', id: `cond-${i}`, meta: meta(recorded + (resolved ? 90 * DAY : 0)),
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: resolved ? 'resolved' : 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [
      { coding: [{ system: CONDITION_CATEGORY, code: 'health-concern', display: 'Health Concern' }] },
      { coding: [{ system: US_CORE_CATEGORY, code: 'sdoh', display: 'SDOH' }] },
    ],
    code: { coding: [{ system: ICD10, code: concern.icd, display: concern.display }], text: concern.display },
    subject: { reference: `Patient/${patientId(conditionPatient(d, i))}` },
    onsetDateTime: iso(recorded - 30 * DAY),
    abatementDateTime: resolved ? iso(Math.min(recorded + 90 * DAY, END)) : undefined,
    recordedDate: iso(recorded),
  };
}

function serviceRequest(d: Dataset, j: number): ServiceRequest {
  const concern = CONCERNS[concernOf(d, j)];
  const authored = conditionRecorded(d, j) + 2 * DAY;
  const status = taskStatusOf(d.seed, j); // the first Task of the referral decides its status
  return {
    resourceType: 'ServiceRequest', id: `sr-${j}`, meta: meta(authored + (status === 'completed' ? 30 * DAY : 0)),
    status: status === 'completed' ? 'completed' : status === 'cancelled' ? 'revoked' : 'active',
    intent: 'order',
    category: [{ coding: [{ system: US_CORE_CATEGORY, code: 'sdoh', display: 'SDOH' }] }],
    code: { coding: [{ system: SNOMED, code: concern.service.code, display: concern.service.display }] },
    subject: { reference: `Patient/${patientId(conditionPatient(d, j))}` },
    authoredOn: iso(authored),
    requester: { reference: `Organization/${clinicId(requesterClinic(d, j))}` },
    reasonReference: [{ reference: `Condition/cond-${j}` }],
    supportingInfo: [{ reference: `Condition/cond-${j}` }],
  };
}

function task(d: Dataset, k: number): { task: Task; procedure?: Procedure } {
  const r = new Random(hash(d.seed, SALT.Task, k));
  const j = taskServiceRequest(d, k);
  const status = taskStatusOf(d.seed, k);
  const authored = conditionRecorded(d, j) + 2 * DAY + (k >= d.counts.ServiceRequest ? 20 * DAY : 0) + r.int(DAY);
  const updated = Math.min(END - 1, authored + (status === 'completed' ? 5 + r.int(55) : r.int(14)) * DAY + r.int(DAY));
  const patient = { reference: `Patient/${patientId(conditionPatient(d, j))}` };
  // Unassigned referrals: 40% of the requested ones wait for the hub to pick a CBO.
  const owner = status === 'requested' && r.chance(0.4) ? undefined : { reference: `Organization/${cboId(weighted(CBO_WEIGHTS, r.next()))}` };
  const concern = CONCERNS[concernOf(d, j)];
  const procedure: Procedure | undefined =
    status === 'completed'
      ? {
          resourceType: 'Procedure', id: `proc-${k}`, meta: meta(updated),
          basedOn: [{ reference: `ServiceRequest/sr-${j}` }],
          status: 'completed',
          category: { coding: [{ system: SNOMED, code: '410606002', display: 'Social service procedure' }] },
          code: { coding: [{ system: SNOMED, code: concern.procedure.code, display: concern.procedure.display }] },
          subject: patient,
          performedDateTime: iso(updated - DAY),
          performer: owner ? [{ actor: owner }] : undefined,
          reasonReference: [{ reference: `Condition/cond-${j}` }],
        }
      : undefined;
  return {
    task: {
      resourceType: 'Task', id: `task-${k}`, meta: meta(updated),
      basedOn: [{ reference: `ServiceRequest/sr-${j}` }],
      status,
      businessStatus: status === 'in-progress' ? { text: r.pick(['Client contacted', 'Appointment scheduled', 'Waiting on client documents']) } : undefined,
      intent: 'order',
      priority: r.chance(0.1) ? 'urgent' : 'routine',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill', display: 'Fulfill the focal request' }] },
      focus: { reference: `ServiceRequest/sr-${j}` },
      for: patient,
      authoredOn: iso(authored),
      lastModified: iso(updated),
      requester: { reference: `Organization/${clinicId(requesterClinic(d, j))}` },
      owner,
      output: procedure
        ? [{ type: { coding: [{ system: SDOHCC_TEMP, code: 'resulting-activity', display: 'Resulting Activity' }] }, valueReference: { reference: `Procedure/${procedure.id}` } }]
        : undefined,
    },
    procedure,
  };
}

/** Drops undefined properties (JSON.stringify would too, but index extraction sees the objects). */
function clean<T extends Resource>(resource: T): T {
  for (const key of Object.keys(resource) as (keyof T)[]) if (resource[key] === undefined) delete resource[key];
  return resource;
}

/** The resources of `kind` with indexes [from, to); a Task range also yields its Procedures. */
export function generate(d: Dataset, kind: Kind, from: number, to: number): Resource[] {
  const out: Resource[] = [];
  for (let i = from; i < to; i++) {
    switch (kind) {
      case 'Organization': out.push(organization(i)); break;
      case 'Location': out.push(location(i)); break;
      case 'HealthcareService': out.push(healthcareService(i)); break;
      case 'Patient': out.push(clean(patient(d, i))); break;
      case 'Observation': out.push(observation(d, i)); break;
      case 'Condition': out.push(clean(condition(d, i))); break;
      case 'ServiceRequest': out.push(serviceRequest(d, i)); break;
      case 'Task': {
        const { task: t, procedure } = task(d, i);
        out.push(clean(t));
        if (procedure) out.push(clean(procedure));
        break;
      }
    }
  }
  return out;
}
