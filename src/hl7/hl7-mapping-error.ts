// A message that cannot be mapped however often it is tried (a required field missing, a reference
// that does not resolve): its job is dead-lettered at once with this reason, which names fields, never values.
export class Hl7MappingError extends Error {}
