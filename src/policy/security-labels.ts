// meta.security labels (HL7 DS4P): confidentiality is a total order U < L < M < N < R < V; sensitivity
// codes (v3 ActCode InformationSensitivityPolicy: ETH, SUD, PSY, HIV...) name kinds of protected data.
import type { Coding, Resource } from 'fhir/r4';

export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const ORDER = ['U', 'L', 'M', 'N', 'R', 'V'];

export const confidentialityRank = (code: string): number => ORDER.indexOf(code);

export function labelsOf(resource: Resource): Coding[] {
  return resource.meta?.security ?? [];
}

/**
 * The labels of `resource` that a profile with this ceiling and exclusion list may not release by
 * itself: a confidentiality code above the ceiling, or an excluded sensitivity code.
 */
export function labelsBeyond(resource: Resource, ceiling: string, excludedSensitivity: readonly string[]): Coding[] {
  const limit = confidentialityRank(ceiling);
  return labelsOf(resource).filter((label) => {
    if (!label.code) return false;
    if (label.system === CONFIDENTIALITY_SYSTEM) return confidentialityRank(label.code) > limit;
    return excludedSensitivity.includes(label.code);
  });
}

/**
 * Whether a consent's securityLabel `granted` covers `label`. Confidentiality is a high-water mark
 * (R4 Consent.provision.securityLabel: a consent naming R covers R and below); other codes match exactly.
 */
export function labelCovers(granted: Coding, label: Coding): boolean {
  if (granted.code === undefined || label.code === undefined) return false;
  if (label.system === CONFIDENTIALITY_SYSTEM && granted.system === CONFIDENTIALITY_SYSTEM) {
    return confidentialityRank(granted.code) >= confidentialityRank(label.code);
  }
  return granted.code === label.code && (granted.system === undefined || granted.system === label.system);
}
