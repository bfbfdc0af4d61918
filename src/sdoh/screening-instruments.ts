// The screening instruments the hub turns into findings: Hunger Vital Sign, AHC HRSN and PRAPARE. Each is its
// LOINC panel, the canonical URLs of its Questionnaires and its questions. What answers mean (positivity, SDOH
// domain, Condition codes) is terminology and lives in terminology/ (read through ScreeningTerminology); this
// file holds only what the terminology does not say: which questions make up an instrument, which of them take
// several answers, and the domain of questions the hub's LOINC subset does not list.
//
// Sources: HL7 SDOH Clinical Care IG 3.0.0 Questionnaires and StructureMaps (HVS, PRAPARE: question lists,
// PRAPARE per-question domains, linkIds such as /93042-0/71802-3); CMS AHC HRSN tool via the NYS SHIN-NY HRSN
// IG v1.4.5 (the 10 core questions plus the 2 supplemental ones of the 12-question screener).

export type InstrumentId = 'hunger-vital-sign' | 'ahc-hrsn' | 'prapare';

export interface InstrumentQuestion {
  /** LOINC question code. */
  code: string;
  /** Only for questions outside the hub's LOINC subset (terminology/CodeSystem-loinc-sdoh-screening.json). */
  display?: string;
  /** Choose-all-that-apply: several answers are one response each, not a conflict. */
  multiple?: boolean;
  /** SDOHCC domain of the question's non-positive answers when the instrument fixes one (the IG PRAPARE map). */
  category?: string;
  /** Computed by the form from other answers (HVS risk, AHC safety total). */
  computed?: boolean;
}

export interface ScreeningInstrument {
  id: InstrumentId;
  title: string;
  /** LOINC panel code and display: the code of the grouping Observation. */
  panel: { code: string; display: string };
  /** Canonical URLs of Questionnaires that are this instrument (compared without `|version`). */
  questionnaires: string[];
  /** Group items (sections) that carry no answer. */
  sections: string[];
  questions: InstrumentQuestion[];
}

const IG_QUESTIONNAIRE = 'http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire';

export const HUNGER_VITAL_SIGN: ScreeningInstrument = {
  id: 'hunger-vital-sign',
  title: 'Hunger Vital Sign',
  panel: { code: '88121-9', display: 'Hunger Vital Sign [HVS]' },
  questionnaires: [`${IG_QUESTIONNAIRE}/SDOHCC-QuestionnaireHungerVitalSign`],
  sections: [],
  questions: [
    { code: '88122-7', category: 'food-insecurity' },
    { code: '88123-5', category: 'food-insecurity' },
    { code: '88124-3', category: 'food-insecurity', computed: true },
  ],
};

export const AHC_HRSN: ScreeningInstrument = {
  id: 'ahc-hrsn',
  title: 'AHC HRSN screening tool',
  panel: { code: '96777-8', display: 'Accountable health communities (AHC) health-related social needs screening (HRSN) tool' },
  questionnaires: [],
  sections: [],
  questions: [
    // Living situation: the category follows the answer (housing instability or homelessness).
    { code: '71802-3' },
    { code: '96778-6', multiple: true },
    { code: '88122-7' },
    { code: '88123-5' },
    { code: '93030-5' },
    { code: '96779-4' },
    { code: '95618-5' },
    { code: '95617-7' },
    { code: '95616-9' },
    { code: '95615-1' },
    { code: '95614-4', computed: true },
    // Supplemental questions of the NYS 12-question screener.
    { code: '96780-2' },
    { code: '96782-8' },
  ],
};

const UNSPECIFIED = 'sdoh-category-unspecified';

export const PRAPARE: ScreeningInstrument = {
  id: 'prapare',
  title: 'PRAPARE',
  panel: { code: '93025-5', display: "Protocol for Responding to and Assessing Patients' Assets, Risks, and Experiences [PRAPARE]" },
  questionnaires: [`${IG_QUESTIONNAIRE}/SDOHCC-QuestionnairePRAPARE`],
  sections: ['93043-8', '93042-0', '93041-2', '93040-4', '93039-6'],
  questions: [
    // Personal characteristics
    { code: '56051-6', display: 'Hispanic or Latino', category: UNSPECIFIED },
    { code: '32624-9', display: 'Race', category: UNSPECIFIED, multiple: true },
    {
      code: '93035-4',
      display: "Has season or migrant farm work been your or your family's main source of income at any point in past 2 years [PRAPARE]",
      category: UNSPECIFIED,
    },
    { code: '93034-7', category: 'veteran-status' },
    { code: '54899-0', display: 'Preferred language', category: UNSPECIFIED },
    // Family and home
    { code: '63512-8', display: 'How many people are living or staying at this address [#]', category: UNSPECIFIED },
    { code: '71802-3', category: 'homelessness' },
    { code: '93033-9', category: 'housing-instability' },
    { code: '56799-0', display: 'Address', category: UNSPECIFIED },
    // Money and resources
    { code: '82589-3', category: 'educational-attainment' },
    { code: '67875-5', category: 'employment-status' },
    { code: '76437-3', category: 'health-insurance-coverage-status' },
    {
      code: '63586-2',
      display: 'What was your best estimate of the total income of all family members from all sources, before taxes, in last year [PhenX]',
      category: UNSPECIFIED,
    },
    { code: '93031-3', category: 'material-hardship', multiple: true },
    { code: '93030-5', category: 'transportation-insecurity', multiple: true },
    // Social and emotional health
    { code: '93029-7', category: 'social-connection' },
    { code: '93038-8', category: 'stress' },
    // Optional additional questions
    { code: '93028-9', category: UNSPECIFIED },
    { code: '93027-1', category: UNSPECIFIED },
    { code: '93026-3', category: UNSPECIFIED },
    { code: '76501-6', category: 'intimate-partner-violence' },
  ],
};

export const SCREENING_INSTRUMENTS: readonly ScreeningInstrument[] = [HUNGER_VITAL_SIGN, AHC_HRSN, PRAPARE];

export function instrumentQuestion(instrument: ScreeningInstrument, code: string): InstrumentQuestion | undefined {
  return instrument.questions.find((question) => question.code === code);
}

/** By id (`prapare`), panel LOINC code (`93025-5`) or Questionnaire canonical (with or without `|version`). */
export function findInstrument(name: string): ScreeningInstrument | undefined {
  const bare = name.trim().split('|')[0];
  return SCREENING_INSTRUMENTS.find(
    (instrument) => instrument.id === bare.toLowerCase() || instrument.panel.code === bare || instrument.questionnaires.includes(bare),
  );
}

/** Every question code of every instrument: codes outside this set belong to no instrument the hub knows. */
export const KNOWN_QUESTION_CODES: ReadonlySet<string> = new Set(SCREENING_INSTRUMENTS.flatMap((i) => i.questions.map((q) => q.code)));
