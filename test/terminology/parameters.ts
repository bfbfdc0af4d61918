// Readers for the FHIR Parameters the terminology service answers with.
import type { Coding, Parameters, ParametersParameter } from 'fhir/r4';

export function first(parameters: Parameters, name: string): ParametersParameter | undefined {
  return parameters.parameter?.find((p) => p.name === name);
}

/** Values of every `property` with this code ($lookup). */
export function propertyValues(parameters: Parameters, code: string): unknown[] {
  return (parameters.parameter ?? [])
    .filter((p) => p.name === 'property' && p.part?.find((part) => part.name === 'code')?.valueCode === code)
    .map((p) => {
      const value: ParametersParameter = p.part?.find((part) => part.name === 'value') ?? { name: 'value' };
      return value.valueCode ?? value.valueBoolean ?? value.valueString ?? value.valueDateTime ?? value.valueCoding?.code;
    });
}

export interface Match {
  equivalence: string | undefined;
  system: string | undefined;
  code: string | undefined;
  source: string | undefined;
}

/** The `match` parameters of a $translate answer. */
export function matches(parameters: Parameters): Match[] {
  return (parameters.parameter ?? [])
    .filter((p) => p.name === 'match')
    .map((p) => {
      const concept: Coding | undefined = p.part?.find((part) => part.name === 'concept')?.valueCoding;
      return {
        equivalence: p.part?.find((part) => part.name === 'equivalence')?.valueCode,
        system: concept?.system,
        code: concept?.code,
        source: p.part?.find((part) => part.name === 'source')?.valueUri,
      };
    });
}
