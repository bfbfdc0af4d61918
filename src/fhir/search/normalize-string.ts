// String search is case- and accent-insensitive: values are indexed and searched in this form.
export function normalizeString(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}
