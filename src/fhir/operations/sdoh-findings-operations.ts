// Screening → findings over HTTP (HL7 SDOH Clinical Care IG STU 3.0.0, SDC-style extraction):
//   POST [base]/QuestionnaireResponse/$extract        (body: the QuestionnaireResponse, or Parameters with
//   POST [base]/QuestionnaireResponse/[id]/$extract    `questionnaire-response`; the instance form uses the stored one)
//   POST [base]/Observation/$sdoh-findings            (Parameters with `observation` resources, or a Bundle of
//   POST [base]/Observation/[id]/$sdoh-findings        screening Observations; the instance form: a stored panel)
// Optional inputs: `persist` (boolean, default true) and `instrument` (hunger-vital-sign | ahc-hrsn | prapare,
// a LOINC panel code or a Questionnaire URL) when the screening does not say which it is.
//
// The mapping itself is the pure src/sdoh/screening-findings.ts. With persist=true every derived resource is
// created through the engine's create interaction, inside this request's database transaction (so policy and
// validation apply and it is all or nothing), as a conditional create on its urn:cch:sdoh-finding identifier:
// a second run finds what the first one made. The answer is the transaction-response Bundle. With persist=false
// the answer is a collection Bundle of what would be created, to review. Both end with an OperationOutcome entry
// listing conflicts, ignored and declined items and positive answers that got no Condition.
import type { Bundle, BundleEntry, Observation, OperationOutcome, QuestionnaireResponse, Resource } from 'fhir/r4';
import { findingsFromObservations, findingsFromQuestionnaireResponse, type ScreeningFindings } from '../../sdoh/screening-findings.ts';
import { identifierCriteria } from '../../sdoh/finding-identifiers.ts';
import { isPanel, type ScreeningObservation } from '../../sdoh/observation-answers.ts';
import { ScreeningInputError, warning } from '../../sdoh/screening-issue.ts';
import type { TerminologyService } from '../../terminology/terminology-service.ts';
import { processTransaction } from '../bundle/transaction.ts';
import { badRequest, FhirError, operationOutcome } from '../errors.ts';
import { dispatch } from '../router.ts';
import type { Scope } from '../scope.ts';
import type { FhirResponse } from '../types.ts';
import type { Operation, OperationCall, OperationInput } from './operation.ts';

function persistInput(input: OperationInput): boolean {
  const value = input.string('persist');
  if (value === undefined) return true;
  if (value === 'true' || value === 'false') return value === 'true';
  throw badRequest(`Parameter 'persist' must be true or false, got '${value}'`, 'Parameters.parameter[persist]');
}

/** Runs the pure mapping; input it cannot work with is a 422 pointing at the element. */
function mapped(work: () => ScreeningFindings): ScreeningFindings {
  try {
    return work();
  } catch (error) {
    if (error instanceof ScreeningInputError) {
      throw new FhirError(422, { code: 'processing', diagnostics: error.message, expression: error.expression });
    }
    throw error;
  }
}

/** A stored resource, read as this caller (policy applies); undefined when it is not there or not visible. */
async function readStored<T extends Resource>(scope: Scope, type: string, id: string): Promise<T | undefined> {
  try {
    const response = await dispatch(scope, { method: 'GET', path: `${type}/${id}`, query: new URLSearchParams() }, { kind: 'instance', type, id });
    return response.resource as T | undefined;
  } catch (error) {
    if (error instanceof FhirError && (error.status === 404 || error.status === 410)) return undefined;
    throw error;
  }
}

/** Findings point to a resource with an id as one stored here: it must be. */
async function requireStored(scope: Scope, type: string, id: string, expression: string): Promise<void> {
  if (await readStored(scope, type, id)) return;
  throw new FhirError(422, {
    code: 'processing',
    diagnostics: `${type}/${id} is not stored on this server: store it first, or send it without an id to have it stored with its findings`,
    expression,
  });
}

function summary(findings: ScreeningFindings, persisted: boolean): OperationOutcome {
  const count = (type: string) => findings.entries.filter((entry) => entry.resource.resourceType === type).length;
  const what = `${count('Observation')} screening response(s) and ${count('Condition')} Condition(s)`;
  return operationOutcome([
    {
      severity: 'information',
      code: 'informational',
      diagnostics: `${findings.instrument.title} for ${findings.subject.reference}: ${what} ${persisted ? 'found or created' : 'to create'}`,
    },
    ...findings.issues,
  ]);
}

async function respond(scope: Scope, findings: ScreeningFindings, persist: boolean): Promise<FhirResponse> {
  const outcome = summary(findings, persist);
  if (!persist) {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [...findings.entries.map(({ fullUrl, resource }): BundleEntry => ({ fullUrl, resource })), { resource: outcome }],
    };
    return { status: 200, resource: bundle };
  }
  const entries: BundleEntry[] = findings.entries.map(({ fullUrl, resource, identifier }) => ({
    fullUrl,
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: identifierCriteria(identifier) },
  }));
  const bundle = await processTransaction(scope, entries, true);
  bundle.entry = [...(bundle.entry ?? []), { resource: outcome, response: { status: '200 OK' } }];
  return { status: 200, resource: bundle };
}

async function extract(terminology: TerminologyService, { scope, input, id }: OperationCall): Promise<FhirResponse> {
  const persist = persistInput(input);
  const instrument = input.string('instrument');
  let response: QuestionnaireResponse | undefined;
  if (id) {
    response = await readStored<QuestionnaireResponse>(scope, 'QuestionnaireResponse', id);
    if (!response) throw new FhirError(404, { code: 'not-found', diagnostics: `QuestionnaireResponse/${id} is not known` });
  } else {
    const given = input.resource('questionnaire-response');
    if (!given) {
      throw badRequest(
        "Give the QuestionnaireResponse as the body or as parameter 'questionnaire-response'",
        'Parameters.parameter[questionnaire-response]',
        'required',
      );
    }
    if (given.resourceType !== 'QuestionnaireResponse') {
      throw badRequest(`Expected a QuestionnaireResponse, got ${given.resourceType}`, 'Parameters.parameter[questionnaire-response]');
    }
    response = given as QuestionnaireResponse;
    if (persist && response.id) await requireStored(scope, 'QuestionnaireResponse', response.id, 'QuestionnaireResponse.id');
  }
  const findings = mapped(() =>
    findingsFromQuestionnaireResponse(response, terminology, { instrument, instrumentExpression: 'Parameters.parameter[instrument]' }),
  );
  return respond(scope, findings, persist);
}

/** The Observations given: `observation` parameters (an Observation or a Bundle each), or the body. */
function givenObservations(input: OperationInput): { observations: ScreeningObservation[]; ignored: string[] } {
  const observations: ScreeningObservation[] = [];
  const ignored: string[] = [];
  const take = (resource: Resource | undefined, expression: string, fullUrl?: string) => {
    if (resource?.resourceType === 'Observation') observations.push({ resource: resource as Observation, fullUrl, expression });
    else if (resource?.resourceType === 'Bundle') {
      ((resource as Bundle).entry ?? []).forEach((entry, index) => {
        if (entry.resource?.resourceType === 'Observation') take(entry.resource, `${expression}.entry[${index}].resource`, entry.fullUrl);
        else ignored.push(`${expression}.entry[${index}]`);
      });
    } else ignored.push(expression);
  };
  const parameters = input.all('observation');
  if (parameters.length) parameters.forEach((parameter, index) => take(parameter.resource, `Parameters.parameter[observation][${index}].resource`));
  else if (input.body) take(input.body, input.body.resourceType === 'Bundle' ? 'Bundle' : 'Observation');
  return { observations, ignored };
}

/** Panel members named by reference but not given are read from this server (as this caller). */
async function addStoredMembers(scope: Scope, observations: ScreeningObservation[]): Promise<void> {
  const known = new Set(observations.flatMap((o) => [o.fullUrl, o.resource.id ? `Observation/${o.resource.id}` : undefined]));
  const base = `${scope.ctx.fhirBase}/`;
  for (const panel of observations.filter((o) => isPanel(o.resource))) {
    for (const member of panel.resource.hasMember ?? []) {
      const target = member.reference ?? '';
      if (known.has(target)) continue;
      const relative = target.startsWith(base) ? target.slice(base.length) : target;
      const match = /^Observation\/([A-Za-z0-9\-.]{1,64})$/.exec(relative);
      if (!match || known.has(relative)) continue;
      const stored = await readStored<Observation>(scope, 'Observation', match[1]);
      if (stored) observations.push({ resource: stored, expression: relative });
      known.add(relative);
    }
  }
}

async function sdohFindings(terminology: TerminologyService, { scope, input, id }: OperationCall): Promise<FhirResponse> {
  const persist = persistInput(input);
  const instrument = input.string('instrument');
  let observations: ScreeningObservation[];
  let ignored: string[] = [];
  if (id) {
    const panel = await readStored<Observation>(scope, 'Observation', id);
    if (!panel) throw new FhirError(404, { code: 'not-found', diagnostics: `Observation/${id} is not known` });
    observations = [{ resource: panel, expression: `Observation/${id}` }];
  } else {
    ({ observations, ignored } = givenObservations(input));
    if (observations.length === 0) {
      throw badRequest("Give screening Observations as 'observation' parameters or as a Bundle", 'Parameters.parameter[observation]', 'required');
    }
    if (persist) {
      for (const observation of observations) {
        if (observation.resource.id) await requireStored(scope, 'Observation', observation.resource.id, `${observation.expression}.id`);
      }
    }
  }
  await addStoredMembers(scope, observations);
  const findings = mapped(() =>
    findingsFromObservations(observations, terminology, { instrument, instrumentExpression: 'Parameters.parameter[instrument]' }),
  );
  findings.issues.unshift(...ignored.map((expression) => warning('not-supported', 'Not an Observation: ignored', expression)));
  return respond(scope, findings, persist);
}

/** `QuestionnaireResponse/$extract` and `Observation/$sdoh-findings`, answering from `terminology`. */
export function sdohFindingsOperations(terminology: TerminologyService): Operation[] {
  return [
    {
      name: 'extract',
      levels: ['type', 'instance'],
      types: ['QuestionnaireResponse'],
      affectsState: true,
      run: (call) => extract(terminology, call),
    },
    {
      name: 'sdoh-findings',
      levels: ['type', 'instance'],
      types: ['Observation'],
      affectsState: true,
      run: (call) => sdohFindings(terminology, call),
    },
  ];
}
