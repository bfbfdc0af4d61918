// Which diagnoses a claim may carry. Header (category) codes of ICD-10-CM such as Z59.0 or Z59.4 are not
// billable: a claim naming one is held with an issue per line and code until the referral is coded with
// a billable child (Z59.01, Z59.41...) and the claim is built again. Billability is the terminology's
// (terminology/CodeSystem-icd-10-cm-sdoh.json, property `billable`), on the date of service.
import type { ChargeItem } from 'fhir/r4';
import type { IssueInput } from '../fhir/errors.ts';
import { ICD_10_CM, type TerminologyService } from '../terminology/terminology-service.ts';

export interface LineDiagnoses {
  /** ICD-10-CM codes with the dot, in the order the charge gives them. */
  codes: string[];
}

export const icdCodesOf = (charge: ChargeItem): string[] =>
  (charge.reason ?? []).flatMap((concept) => (concept.coding ?? []).filter((coding) => coding.system === ICD_10_CM && coding.code).map((coding) => coding.code!));

export const serviceLabel = (charge: ChargeItem) => {
  const code = charge.code.coding?.[0]?.code ?? '?';
  const modifiers = (charge.extension ?? []).flatMap((extension) => (extension.valueCoding?.code && extension.url.endsWith('/service-modifier') ? [extension.valueCoding.code] : []));
  return [code, ...modifiers].join('-');
};

export const serviceDateOfCharge = (charge: ChargeItem) => (charge.occurrenceDateTime ?? charge.occurrencePeriod?.start ?? '').slice(0, 10);

/** The problems that keep a line off a claim: no diagnosis, or a code that is not billable on the date of service. */
export function diagnosisIssues(terminology: TerminologyService, charge: ChargeItem, line: number): IssueInput[] {
  const codes = icdCodesOf(charge);
  const date = serviceDateOfCharge(charge);
  const where = `Claim.item[${line - 1}]`;
  const label = `Line ${line} (${serviceLabel(charge)} on ${date}, ChargeItem/${charge.id})`;
  if (!codes.length) {
    return [{ severity: 'error', code: 'required', diagnostics: `${label}: the referral names no ICD-10-CM diagnosis; a professional claim needs one (837P HI)`, expression: `${where}.diagnosisSequence` }];
  }
  return codes
    .filter((code) => !terminology.isBillableZCode(code, date) && code.startsWith('Z'))
    .map((code) => ({
      severity: 'error' as const,
      code: 'code-invalid' as const,
      diagnostics: `${label}: ${code} is a header code, not billable on ${date}; code the referral with a billable ICD-10-CM child code and build again`,
      expression: `${where}.diagnosisSequence`,
    }));
}
