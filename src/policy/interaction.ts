// The FHIR interactions the policy decides on (RESTful interaction names, R4 §3.1.0).
export type Interaction =
  | 'read' | 'vread' | 'update' | 'patch' | 'delete' | 'history-instance' | 'history-type' | 'history-system'
  | 'create' | 'search-type' | 'transaction' | 'batch' | 'capabilities' | 'operation';

/** The SMART v2 permission letter each interaction needs (`r` covers instance history; `s` type/system history). */
export const SMART_PERMISSION: Record<Interaction, 'c' | 'r' | 'u' | 'd' | 's' | undefined> = {
  read: 'r', vread: 'r', 'history-instance': 'r',
  'search-type': 's', 'history-type': 's', 'history-system': 's',
  create: 'c', update: 'u', patch: 'u', delete: 'd',
  transaction: undefined, batch: undefined, capabilities: undefined,
  // Operations are allowed by name in the profile; what they read or write is decided as reads and writes.
  operation: undefined,
};
