// What the hub's terminology says about screening questions and answers, asked the way the screening mapping
// needs it: is this an option of that question, which SDOH domain does a positive answer point to, which
// Condition codes (billable ICD-10-CM on the date of service, SNOMED CT) describe it. Everything comes from the
// TerminologyService: the LOINC subset and the three hub ConceptMaps (answer → domain, answer → Condition codes,
// domain → Condition codes), with the screening question as the `dependency` of answer translations.
import type { Coding, Parameters } from 'fhir/r4';
import { SCREENING_QUESTION_ELEMENT } from '../terminology/load-terminology.ts';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import {
  ANSWER_TO_CATEGORY_MAP,
  ANSWER_TO_CONDITION_MAP,
  CATEGORY_TO_CONDITION_MAP,
  HEADER_TO_BILLABLE_MAP,
  ICD_10_CM,
  LOINC,
  SDOHCC_CODES,
  SNOMED,
} from './sdoh-codes.ts';

/** The last day of the ICD-10-CM fiscal year the hub's subset describes (FY2026). */
const ICD_COVERED_THROUGH = '2026-09-30';

export type ConditionCoding = { codings: Coding[]; notes: string[] } | { reason: string };

function matchedCodings(result: Parameters): Coding[] {
  return (result.parameter ?? [])
    .filter((parameter) => parameter.name === 'match')
    .map((match) => match.part?.find((part) => part.name === 'concept')?.valueCoding)
    .filter((coding): coding is Coding => coding?.code !== undefined);
}

function distinct(codings: Coding[]): Coding[] {
  const seen = new Map<string, Coding>();
  for (const coding of codings) if (!seen.has(coding.code!)) seen.set(coding.code!, coding);
  return [...seen.values()];
}

export class ScreeningTerminology {
  static readonly #cache = new WeakMap<TerminologyService, ScreeningTerminology>();

  readonly #service: TerminologyService;
  /** Question → the answers the LOINC subset lists for it (`answer-to`). */
  readonly #answers = new Map<string, Set<string>>();

  private constructor(service: TerminologyService) {
    this.#service = service;
    for (const concept of service.data.codeSystems.get(LOINC)?.concepts.values() ?? []) {
      for (const property of concept.properties) {
        if (property.code !== 'answer-to' || !property.valueCode) continue;
        const options = this.#answers.get(property.valueCode) ?? new Set<string>();
        options.add(concept.code);
        this.#answers.set(property.valueCode, options);
      }
    }
  }

  /** One per TerminologyService (the answer index is built once). */
  static of(service: TerminologyService): ScreeningTerminology {
    let found = ScreeningTerminology.#cache.get(service);
    if (!found) {
      found = new ScreeningTerminology(service);
      ScreeningTerminology.#cache.set(service, found);
    }
    return found;
  }

  get service(): TerminologyService {
    return this.#service;
  }

  loincDisplay(code: string): string | undefined {
    return this.#service.data.codeSystems.get(LOINC)?.concepts.get(code)?.display;
  }

  categoryDisplay(code: string): string | undefined {
    return this.#service.data.codeSystems.get(SDOHCC_CODES)?.concepts.get(code)?.display;
  }

  /** The SDOHCC domains the LOINC subset gives the question (`sdoh-category`), in file order. */
  questionCategories(question: string): string[] {
    const concept = this.#service.data.codeSystems.get(LOINC)?.concepts.get(question);
    return (concept?.properties ?? [])
      .filter((property) => property.code === 'sdoh-category' && property.valueCoding?.code)
      .map((property) => property.valueCoding!.code!);
  }

  /** True when the subset lists the question's answer options (a coded question). */
  hasAnswerList(question: string): boolean {
    return this.#answers.has(question);
  }

  /** True or false when the subset lists the question's answers; undefined when it does not know them. */
  isAnswerOption(question: string, answer: string): boolean | undefined {
    const options = this.#answers.get(question);
    return options ? options.has(answer) : undefined;
  }

  /**
   * The SDOHCC domains a positive answer indicates a possible need in; empty when the answer is not positive for
   * this question (LA33-6 "Yes" is positive for 93030-5, not for 93026-3 "Do you feel safe").
   */
  positiveCategories(question: string, answer: string): string[] {
    const result = this.#service.translate({
      url: ANSWER_TO_CATEGORY_MAP,
      system: LOINC,
      code: answer,
      dependency: [{ element: SCREENING_QUESTION_ELEMENT, system: LOINC, code: question }],
    });
    return [...new Set(matchedCodings(result).filter((c) => c.system === SDOHCC_CODES).map((c) => c.code!))];
  }

  /**
   * The Condition codes for a positive answer on a date of service (YYYY-MM-DD; undefined: FY2026 status): the
   * answer-specific mapping when there is one, else the domain's. ICD-10-CM codes are those billable on that date,
   * never a header: a target not yet in use then gives way to its header when the header was still billable on
   * that date (Z59.41 → Z59.4 before FY2022, Z59.861 → Z59.86 before FY2026), and is left out otherwise. Several
   * candidates in one code system are not guessed between: the result is then a reason, as when nothing maps.
   */
  conditionCodes(question: string, answer: string, category: string, date: string | undefined): ConditionCoding {
    const notes: string[] = [];
    let codings = matchedCodings(
      this.#service.translate({
        url: ANSWER_TO_CONDITION_MAP,
        system: LOINC,
        code: answer,
        dependency: [{ element: SCREENING_QUESTION_ELEMENT, system: LOINC, code: question }],
      }),
    );
    if (codings.length === 0) {
      codings = matchedCodings(this.#service.translate({ url: CATEGORY_TO_CONDITION_MAP, system: SDOHCC_CODES, code: category }));
      if (codings.length === 0) return { reason: this.#unmatchedReason(category) };
    }
    const snomed = distinct(codings.filter((c) => c.system === SNOMED));
    const icd: Coding[] = [];
    for (const target of distinct(codings.filter((c) => c.system === ICD_10_CM))) {
      const usable = this.#billableOn(target, date);
      if (usable && usable.code !== target.code) notes.push(`ICD-10-CM ${target.code} was not in use on ${date}: ${usable.code} applies`);
      if (!usable) notes.push(`ICD-10-CM ${target.code} is not billable${date ? ` on ${date}` : ''}: left out`);
      if (usable && !icd.some((c) => c.code === usable.code)) icd.push(usable);
    }
    for (const [label, list] of [['ICD-10-CM', icd], ['SNOMED CT', snomed]] as const) {
      if (list.length > 1) return { reason: `several ${label} codes fit ${category} (${list.map((c) => c.code).join(', ')}); the care team chooses` };
    }
    if (date && date > ICD_COVERED_THROUGH && icd.length) {
      notes.push(`ICD-10-CM ${icd[0].code} is checked against FY2026; ${date} falls in a later fiscal year`);
    }
    const result = [...snomed, ...icd].map(({ system, code, display }) => ({ system, code, ...(display ? { display } : {}) }));
    if (result.length === 0) return { reason: `no billable Condition code for ${category}${date ? ` on ${date}` : ''} (${notes.join('; ')})` };
    return { codings: result, notes };
  }

  /** The ICD-10-CM code to use on the date: the target, or its header while the header was billable. */
  #billableOn(target: Coding, date: string | undefined): Coding | undefined {
    if (this.#service.isBillableZCode(target.code!, date)) return target;
    if (!date) return undefined;
    const headers = matchedCodings(this.#service.translate({ url: HEADER_TO_BILLABLE_MAP, system: ICD_10_CM, code: target.code!, reverse: true }));
    return headers.find((header) => this.#service.isBillableZCode(header.code!, date));
  }

  /** Why a domain has no Condition code: the concept map's own comment (e.g. IPV needs clinician confirmation). */
  #unmatchedReason(category: string): string {
    const map = this.#service.data.conceptMaps.get(CATEGORY_TO_CONDITION_MAP)?.resource;
    const comments = (map?.group ?? [])
      .flatMap((group) => group.element)
      .filter((element) => element.code === category)
      .flatMap((element) => element.target ?? [])
      .filter((target) => target.equivalence === 'unmatched' && target.comment)
      .map((target) => target.comment!);
    return comments.length ? comments[0] : `no Condition code is mapped for ${category}`;
  }
}
