// The resource type a Reference points to, for profile rules such as "for only Reference(Patient)".
// Only literal references say it (`Patient/1`, `https://host/fhir/Patient/1`, or `Reference.type`);
// `urn:uuid:` placeholders, contained `#id` and identifier-only references do not, and are not judged.

const RELATIVE = /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE_TAIL = /\/([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export function referenceTargetType(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { reference, type } = value as { reference?: unknown; type?: unknown };
  if (typeof reference === 'string') {
    const relative = RELATIVE.exec(reference);
    if (relative) return relative[1];
    if (/^https?:\/\//.test(reference)) return ABSOLUTE_TAIL.exec(reference)?.[1];
  }
  return typeof type === 'string' ? type : undefined;
}
