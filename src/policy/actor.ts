// Who is asking, and why. Every request carries one actor through the engine so the policy layer
// can decide on it; internal jobs will act as role 'system'.

export const ROLES = ['hub-admin', 'hub-staff', 'referral-source', 'cbo', 'plan', 'plan-analytics', 'hie'] as const;
export type Role = (typeof ROLES)[number];

export interface Actor {
  clientId: string;
  role: Role | 'system' | 'anonymous';
  /** The actor's Organization reference, e.g. `Organization/food-bank`. */
  organization: string;
  /** One v3-ActReason purpose of use, e.g. TREAT or HOPERAT. */
  purposeOfUse: string | undefined;
  scopes: string[];
}

/** The server itself, for queue jobs and other internal work: unrestricted, and audited as such. */
export const systemActor = (hubOrganization: string): Actor => ({
  clientId: 'system',
  role: 'system',
  organization: hubOrganization,
  purposeOfUse: 'HOPERAT',
  scopes: [],
});

/** An unauthenticated caller, for the few public endpoints (the capability statement). */
export const anonymousActor = (hubOrganization: string): Actor => ({
  clientId: 'anonymous',
  role: 'anonymous',
  organization: hubOrganization,
  purposeOfUse: undefined,
  scopes: [],
});

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** A client outside the hub (CBO, EHR, plan, HIE): its writes are held to the IG's profiles. */
export function isPartner(actor: Actor): boolean {
  return actor.role !== 'hub-admin' && actor.role !== 'hub-staff' && actor.role !== 'system' && actor.role !== 'anonymous';
}
