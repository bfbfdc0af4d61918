// The policy decision point every data path calls. Deny by default.
//
// The core server knows one rule: hub-admin (and the internal system actor) may do everything.
// Other roles are denied until their disclosure profiles, relationship checks and consent rules
// are written (see ARCHITECTURE.md §4.7); they plug in here without touching the callers.
import type { Actor } from './actor.ts';

export type Interaction =
  | 'read' | 'vread' | 'update' | 'patch' | 'delete' | 'history-instance' | 'history-type' | 'history-system'
  | 'create' | 'search-type' | 'transaction' | 'batch' | 'capabilities';

export interface AccessRequest {
  interaction: Interaction;
  resourceType?: string;
}

export interface Decision {
  permit: boolean;
  reason: string;
}

export function decide(actor: Actor, request: AccessRequest): Decision {
  if (actor.role === 'hub-admin' || actor.role === 'system') return { permit: true, reason: `${actor.role} may do everything` };
  return { permit: false, reason: `role ${actor.role} has no disclosure profile for ${request.interaction} ${request.resourceType ?? ''}`.trim() };
}
