// Screening → findings (SDC-style extraction, HL7 SDOH Clinical Care IG STU 3.0.0). Given a completed Hunger
// Vital Sign, AHC HRSN or PRAPARE screening, as a QuestionnaireResponse or as screening Observations, produces:
// - one SDOHCC Observation Screening Response per kept answer (plus the grouping Observation with hasMember when
//   the screening came as a QuestionnaireResponse or as a panel not yet stored), derivedFrom the
//   QuestionnaireResponse;
// - one SDOHCC Condition per SDOH domain and Condition code found positive, with evidence.detail → the responses;
// - issues for what it would otherwise have to guess: conflicts, ignored and declined answers, positive answers
//   without an agreed Condition code.
// Pure: no I/O; the same input gives the same resources, identifiers and fullUrls (see finding-identifiers.ts).
import type { Coding, Condition, Identifier, Observation, QuestionnaireResponse, Reference } from 'fhir/r4';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import { reviewAnswers, type ReviewedAnswer } from './answer-review.ts';
import { canonicalJson, digest, findingIdentifier, placeholderFor, sourceKeyOf } from './finding-identifiers.ts';
import { detectInstrument } from './instrument-detection.ts';
import { effectiveOf, loincCode, observationAnswers, type ScreeningObservation } from './observation-answers.ts';
import { questionnaireResponseAnswers } from './questionnaire-response-answers.ts';
import { FINDING_IDENTIFIER_SYSTEM, UNSPECIFIED_CATEGORY } from './sdoh-codes.ts';
import { serviceDate, type ScreeningAnswer } from './screening-answer.ts';
import { screeningCondition } from './screening-condition.ts';
import { information, ScreeningInputError, warning, type ScreeningIssue } from './screening-issue.ts';
import { instrumentQuestion, type ScreeningInstrument } from './screening-instruments.ts';
import { reference, screeningResponse } from './screening-response.ts';
import { ScreeningTerminology } from './screening-terminology.ts';

export interface FindingEntry {
  /** urn:uuid placeholder, derived from the identifier. */
  fullUrl: string;
  resource: Observation | Condition | QuestionnaireResponse;
  /** The identifier a conditional create finds this resource by. */
  identifier: Identifier;
}

export interface ScreeningFindings {
  instrument: ScreeningInstrument;
  subject: Reference;
  /** In creation order: the QuestionnaireResponse when it is not stored yet, responses, the panel, Conditions. */
  entries: FindingEntry[];
  issues: ScreeningIssue[];
}

export interface FindingOptions {
  /** The caller's choice of instrument (id, LOINC panel code or Questionnaire URL). */
  instrument?: string;
  /** Where the choice was given, for errors. */
  instrumentExpression?: string;
}

interface Screening {
  instrument: ScreeningInstrument;
  subject: Reference;
  /** Key of the whole screening: Conditions and the panel derive their identifiers from it. */
  screeningKey: string;
  answers: ScreeningAnswer[];
  derivedFrom?: Reference;
  /** The grouping Observation to make, if any. */
  panel?: { identifiers: Identifier[]; effective: string; performer?: Reference[] };
  entries: FindingEntry[];
  issues: ScreeningIssue[];
}

const ACCEPTED_QR_STATUS = new Set(['completed', 'amended']);

const isPatientReference = (subject: Reference | undefined): boolean => /(^|\/)Patient\/[A-Za-z0-9\-.]{1,64}$/.test(subject?.reference ?? '');

const entryFor = (resource: FindingEntry['resource'], identifier: Identifier): FindingEntry => ({ fullUrl: placeholderFor(identifier), resource, identifier });

/** Our identifier last; identifiers the source already gave are kept (minus stale ones of ours). */
const identifiersWith = (own: Identifier, given: Identifier[] | undefined): Identifier[] => [
  ...(given ?? []).filter((identifier) => identifier.system !== FINDING_IDENTIFIER_SYSTEM),
  own,
];

function categoriesOf(instrument: ScreeningInstrument, answer: ReviewedAnswer, terminology: ScreeningTerminology): string[] {
  if (answer.positiveCategories.length) return answer.positiveCategories;
  const fixed = instrumentQuestion(instrument, answer.question)?.category;
  if (fixed) return [fixed];
  const listed = terminology.questionCategories(answer.question);
  return listed.length ? listed : [UNSPECIFIED_CATEGORY];
}

function derive(screening: Screening, terminology: ScreeningTerminology): ScreeningFindings {
  const { instrument, subject } = screening;
  const entries = [...screening.entries];
  const review = reviewAnswers(instrument, screening.answers, terminology);
  const issues = [...screening.issues, ...review.issues];
  const refs = new Map<ReviewedAnswer, Reference>();
  const panelCategories: string[] = [];

  for (const answer of review.answers) {
    const categories = categoriesOf(instrument, answer, terminology);
    for (const category of categories) if (!panelCategories.includes(category)) panelCategories.push(category);
    if (answer.storedReference) {
      refs.set(answer, { reference: answer.storedReference });
      continue;
    }
    const identifier = findingIdentifier(answer.sourceKey, answer.question, answer.key);
    const resource = screeningResponse(
      {
        identifiers: identifiersWith(identifier, answer.observation?.identifier),
        code: answer.question,
        display: instrumentQuestion(instrument, answer.question)?.display,
        value: answer.value,
        categories,
        positive: answer.positiveCategories.length > 0,
        subject,
        effective: answer.effective,
        performer: answer.performer,
        derivedFrom: screening.derivedFrom ? [screening.derivedFrom] : undefined,
      },
      terminology,
    );
    const entry = entryFor(resource, identifier);
    entries.push(entry);
    refs.set(answer, { reference: entry.fullUrl });
  }

  if (screening.panel && refs.size > 0) {
    const own = screening.panel.identifiers.find((i) => i.system === FINDING_IDENTIFIER_SYSTEM)!;
    const panel = screeningResponse(
      {
        identifiers: screening.panel.identifiers,
        code: instrument.panel.code,
        display: instrument.panel.display,
        categories: panelCategories,
        positive: false,
        subject,
        effective: screening.panel.effective,
        performer: screening.panel.performer,
        hasMember: [...refs.values()],
        derivedFrom: screening.derivedFrom ? [screening.derivedFrom] : undefined,
      },
      terminology,
    );
    entries.push(entryFor(panel, own));
  }

  // One Condition per domain and code: several positive answers that mean the same need are its evidence together.
  const groups = new Map<string, { category: string; codings: Coding[]; evidence: Reference[]; onset: string }>();
  const reported = new Set<string>();
  const report = (issue: ScreeningIssue) => {
    const key = `${issue.code}|${issue.diagnostics}`;
    if (!reported.has(key)) issues.push(issue);
    reported.add(key);
  };
  for (const answer of review.answers) {
    if (answer.positiveCategories.length === 0) continue;
    if (review.disputed.has(answer.question)) continue;
    for (const category of answer.positiveCategories) {
      const coded = terminology.conditionCodes(answer.question, answer.key, category, serviceDate(answer.effective));
      if ('reason' in coded) {
        report(warning('business-rule', `Positive for ${category} (${answer.question}): no Condition derived, ${coded.reason}`, answer.expression));
        continue;
      }
      for (const note of coded.notes) report(information('informational', note, answer.expression));
      const key = `${category}|${coded.codings.map((c) => c.code).join('_')}`;
      const group = groups.get(key) ?? { category, codings: coded.codings, evidence: [], onset: answer.effective };
      const ref = refs.get(answer)!;
      if (!group.evidence.some((e) => e.reference === ref.reference)) group.evidence.push(ref);
      if (answer.effective < group.onset) group.onset = answer.effective;
      groups.set(key, group);
    }
  }
  for (const group of groups.values()) {
    const identifier = findingIdentifier(screening.screeningKey, group.category, group.codings.map((c) => c.code!).join('_'));
    const { category, codings, onset, evidence } = group;
    const condition = screeningCondition({ identifier, category, codings, subject, onset, evidence }, terminology);
    entries.push(entryFor(condition, identifier));
  }
  return { instrument, subject: reference(subject), entries, issues };
}

/** Findings of a QuestionnaireResponse (SDC $extract). */
export function findingsFromQuestionnaireResponse(
  response: QuestionnaireResponse,
  service: TerminologyService,
  options: FindingOptions = {},
): ScreeningFindings {
  if (response?.resourceType !== 'QuestionnaireResponse') throw new ScreeningInputError('Expected a QuestionnaireResponse', 'QuestionnaireResponse');
  if (!ACCEPTED_QR_STATUS.has(response.status)) {
    throw new ScreeningInputError(`Only a completed screening has findings; status is '${response.status}'`, 'QuestionnaireResponse.status');
  }
  if (!isPatientReference(response.subject)) {
    throw new ScreeningInputError('The QuestionnaireResponse must have a subject that references a Patient', 'QuestionnaireResponse.subject');
  }
  if (!response.authored) throw new ScreeningInputError('The QuestionnaireResponse must say when it was authored', 'QuestionnaireResponse.authored');
  const terminology = ScreeningTerminology.of(service);
  const read = questionnaireResponseAnswers(response);
  const instrument = detectInstrument({
    named: options.instrument ? { value: options.instrument, expression: options.instrumentExpression ?? 'instrument' } : undefined,
    questionnaire: response.questionnaire,
    panelCodes: read.groupCodes,
    questionCodes: read.answers.map((answer) => answer.question),
    expression: 'QuestionnaireResponse.questionnaire',
  });

  const entries: FindingEntry[] = [];
  let identifier = response.identifier;
  let derivedFrom: Reference;
  if (response.id) {
    derivedFrom = { reference: `QuestionnaireResponse/${response.id}` };
  } else {
    // Not stored yet: it is stored with its findings, found again by its identifier (one derived from its content
    // when it has none), so its findings can point to it.
    const { id: _id, meta: _meta, ...content } = response;
    identifier ??= { system: FINDING_IDENTIFIER_SYSTEM, value: `qr-${digest(canonicalJson(content), 32)}` };
    const entry = entryFor({ ...response, identifier }, identifier);
    entries.push(entry);
    derivedFrom = { reference: entry.fullUrl };
  }
  const sourceKey = sourceKeyOf(identifier, response.id ? `QuestionnaireResponse/${response.id}` : undefined)!;
  const performer = [response.source ?? response.author].filter(
    (who): who is Reference => who !== undefined && !/(^|\/)Device\//.test(who.reference ?? ''),
  );
  return derive(
    {
      instrument,
      subject: response.subject!,
      screeningKey: sourceKey,
      answers: read.answers.map((answer) => ({
        ...answer,
        effective: response.authored!,
        ...(performer.length ? { performer } : {}),
        sourceKey,
      })),
      derivedFrom,
      panel: {
        identifiers: [findingIdentifier(sourceKey, instrument.panel.code)],
        effective: response.authored,
        ...(performer.length ? { performer } : {}),
      },
      entries,
      issues: read.issues,
    },
    terminology,
  );
}

/** Findings of screening Observations: a panel with its members, or answer Observations alone. */
export function findingsFromObservations(
  observations: ScreeningObservation[],
  service: TerminologyService,
  options: FindingOptions = {},
): ScreeningFindings {
  if (observations.length === 0) throw new ScreeningInputError('No screening Observations were given', 'Observation');
  const subjects = new Set(observations.map((o) => o.resource.subject?.reference));
  const first = observations[0];
  if (!observations.every((o) => isPatientReference(o.resource.subject))) {
    const missing = observations.find((o) => !isPatientReference(o.resource.subject))!;
    throw new ScreeningInputError('Every screening Observation must have a subject that references a Patient', `${missing.expression}.subject`);
  }
  if (subjects.size > 1) {
    throw new ScreeningInputError(`The Observations are about different patients (${[...subjects].join(', ')}): one screening at a time`, 'Observation.subject');
  }
  const terminology = ScreeningTerminology.of(service);
  const read = observationAnswers(observations);
  if (read.panels.length > 1) {
    throw new ScreeningInputError('Several panel Observations were given: one screening at a time', `${read.panels[1].expression}.code`);
  }
  const panel = read.panels[0];
  const issues = [...read.issues];
  const instrument = detectInstrument({
    named: options.instrument ? { value: options.instrument, expression: options.instrumentExpression ?? 'instrument' } : undefined,
    panelCodes: panel ? [loincCode(panel.resource.code?.coding) ?? ''] : [],
    questionCodes: read.answers.map((answer) => answer.question),
    expression: `${(panel ?? first).expression}.code`,
  });

  if (panel) {
    const given = new Set(
      observations.flatMap((o) => [o.fullUrl, o.resource.id ? `Observation/${o.resource.id}` : undefined]).filter((x): x is string => x !== undefined),
    );
    (panel.resource.hasMember ?? []).forEach((member, index) => {
      const target = member.reference ?? '';
      const relative = /(?:^|\/)(Observation\/[^/]+)$/.exec(target)?.[1];
      if (!given.has(target) && !(relative && given.has(relative))) {
        const diagnostics = `Panel member '${target}' was not provided or is not visible: its answer is not included`;
        issues.push(warning('not-found', diagnostics, `${panel.expression}.hasMember[${index}]`));
      }
    });
  }

  const panelKey = panel
    ? (sourceKeyOf(panel.resource.identifier?.[0], panel.resource.id ? `Observation/${panel.resource.id}` : undefined) ??
      `content:${digest({ subject: panel.resource.subject?.reference, effective: effectiveOf(panel.resource), code: panel.resource.code })}`)
    : undefined;
  const screeningKey = panelKey ?? `set:${digest([...new Set(read.answers.map((a) => a.sourceKey))].sort())}`;
  const earliest = read.answers.map((a) => a.effective).sort()[0];
  const panelEffective = panel ? (effectiveOf(panel.resource) ?? earliest) : undefined;
  const newPanel =
    panel && !panel.resource.id && panelEffective
      ? {
          identifiers: identifiersWith(findingIdentifier(screeningKey, instrument.panel.code), panel.resource.identifier),
          effective: panelEffective,
          ...(panel.resource.performer?.length ? { performer: panel.resource.performer } : {}),
        }
      : undefined;
  return derive(
    {
      instrument,
      subject: first.resource.subject!,
      screeningKey,
      answers: read.answers,
      panel: newPanel,
      entries: [],
      issues,
    },
    terminology,
  );
}
