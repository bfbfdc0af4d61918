// The terminology operations over HTTP (GET with query parameters or POST with Parameters):
// CodeSystem/$lookup, ValueSet/$expand, ValueSet/$validate-code, ConceptMap/$translate.
// The answers come from the pure TerminologyService over the files in terminology/.
import type { Coding, ValueSet } from 'fhir/r4';
import { TerminologyError } from '../../terminology/terminology-errors.ts';
import type { TerminologyService, TranslateDependency } from '../../terminology/terminology-service.ts';
import { badRequest, FhirError } from '../errors.ts';
import type { FhirResponse } from '../types.ts';
import type { Operation, OperationInput } from './operation.ts';

const STATUS: Record<TerminologyError['issue'], number> = { 'not-found': 404, 'not-supported': 422, invalid: 400 };

/** Runs `answer`, turning terminology errors into OperationOutcomes with the matching status. */
function respond(answer: () => FhirResponse['resource']): FhirResponse {
  try {
    return { status: 200, resource: answer() };
  } catch (error) {
    if (error instanceof TerminologyError) throw new FhirError(STATUS[error.issue], { code: error.issue, diagnostics: error.message });
    throw error;
  }
}

/** system + code from `system`/`code` parameters or a `coding` parameter. */
function coded(input: OperationInput, codeName = 'code'): { system?: string; code: string; display?: string } {
  const coding = input.value<Coding>('coding', 'Coding');
  const code = input.string(codeName) ?? coding?.code;
  if (!code) throw badRequest(`Parameter '${codeName}' (or 'coding') is required`, `Parameters.parameter[${codeName}]`);
  return { system: input.string('system') ?? coding?.system, code, display: input.string('display') ?? coding?.display };
}

/** The value set to work on: `url` (a shipped one) or a `valueSet` given inline. */
function valueSetInput(input: OperationInput): { url?: string; valueSet?: ValueSet } {
  const valueSet = input.resource('valueSet') as ValueSet | undefined;
  const url = input.string('url');
  if (!url && !valueSet) throw badRequest("Parameter 'url' (or a 'valueSet') is required", 'Parameters.parameter[url]');
  return { url, valueSet };
}

export function terminologyOperations(terminology: TerminologyService): Operation[] {
  return [
    {
      name: 'lookup',
      levels: ['type'],
      types: ['CodeSystem'],
      affectsState: false,
      async run({ input }) {
        const { system, code } = coded(input);
        if (!system) throw badRequest("Parameter 'system' is required", 'Parameters.parameter[system]');
        const property = input.all('property').map((parameter) => parameter.valueCode ?? parameter.valueString).filter((value): value is string => !!value);
        return respond(() => terminology.lookup({ system, code, version: input.string('version'), property: property.length ? property : undefined }));
      },
    },
    {
      name: 'expand',
      levels: ['type'],
      types: ['ValueSet'],
      affectsState: false,
      async run({ input }) {
        const valueSet = valueSetInput(input);
        return respond(() => terminology.expand({ ...valueSet, filter: input.string('filter'), count: input.integer('count'), offset: input.integer('offset') }));
      },
    },
    {
      name: 'validate-code',
      levels: ['type'],
      types: ['ValueSet'],
      affectsState: false,
      async run({ input }) {
        const valueSet = valueSetInput(input);
        const { system, code, display } = coded(input);
        return respond(() => terminology.validateCode({ ...valueSet, system, code, display }));
      },
    },
    {
      name: 'translate',
      levels: ['type'],
      types: ['ConceptMap'],
      affectsState: false,
      async run({ input }) {
        const { system, code } = coded(input);
        if (!system) throw badRequest("Parameter 'system' is required", 'Parameters.parameter[system]');
        const dependency: TranslateDependency[] = input.all('dependency').flatMap((parameter) => {
          const parts = parameter.part ?? [];
          const element = parts.find((part) => part.name === 'element')?.valueUri;
          const concept = parts.find((part) => part.name === 'concept')?.valueCodeableConcept?.coding?.[0];
          return element && concept?.code ? [{ element, system: concept.system, code: concept.code }] : [];
        });
        return respond(() =>
          terminology.translate({
            url: input.string('url'),
            source: input.string('source'),
            target: input.string('target'),
            targetSystem: input.string('targetsystem'),
            system,
            code,
            date: input.string('date'),
            reverse: input.string('reverse') === 'true',
            dependency: dependency.length ? dependency : undefined,
          }),
        );
      },
    },
  ];
}
