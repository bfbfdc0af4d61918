// Syntax checks of Reference.reference values, which the JSON schema types only as strings.
// Accepted: `Type/id` and `Type/id/_history/vid` (Type a known R4 resource type), absolute
// http(s) URLs, `urn:uuid:` / `urn:oid:` (placeholders in bundles), and `#id` for contained resources.
import { FhirError, type IssueInput } from '../fhir/errors.ts';
import { fhirResourceTypes } from './fhir-schema.ts';

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^([A-Z][A-Za-z]+)/${ID}(/_history/${ID})?$`);
const URN = /^urn:(uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|oid:[0-2](\.(0|[1-9][0-9]*))+)$/;

export function referenceProblem(reference: string): string | undefined {
  if (reference.startsWith('#')) return reference.length > 1 ? undefined : 'empty contained reference';
  if (reference.startsWith('urn:')) return URN.test(reference) ? undefined : 'malformed urn reference';
  if (/^https?:\/\//.test(reference)) {
    try {
      new URL(reference);
      return undefined;
    } catch {
      return 'malformed absolute URL';
    }
  }
  const match = RELATIVE.exec(reference);
  if (!match) return "expected 'Type/id', an absolute URL, a urn, or '#id'";
  if (!fhirResourceTypes().has(match[1])) return `unknown resource type '${match[1]}'`;
  return undefined;
}

/** Every `reference` string in the resource with its FHIRPath, e.g. `Task.for.reference`. */
export function* references(node: unknown, path: string): Generator<{ path: string; value: string; holder: Record<string, unknown> }> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* references(node[i], `${path}[${i}]`);
  } else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'reference' && typeof value === 'string') yield { path: `${path}.reference`, value, holder: record };
      else if (typeof value === 'object') yield* references(value, `${path}.${key}`);
    }
  }
}

export function checkReferenceSyntax(resource: { resourceType: string }): void {
  const issues: IssueInput[] = [];
  for (const { path, value } of references(resource, resource.resourceType)) {
    const problem = referenceProblem(value);
    if (problem) issues.push({ code: 'value', diagnostics: `Invalid reference '${value}': ${problem}`, expression: path });
  }
  if (issues.length) throw new FhirError(400, issues);
}
