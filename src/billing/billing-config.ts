// The hub's billing identity and claim settings, from the environment (validated once at start).
// The hub is the billing provider on every claim (2000A/2010AA of the 837P) and the submitter (1000A).
import { ConfigError } from '../config.ts';

export interface BillingAddress {
  line: string;
  city: string;
  state: string;
  /** ZIP+4 as 9 digits: 2010AA N4 requires it for the billing provider. */
  postalCode: string;
}

export interface BillingConfig {
  /** Billing provider name (NM1*85, NM1*41). */
  name: string;
  npi: string;
  /** Federal tax id, 9 digits (REF*EI). */
  tin: string;
  /** NUCC taxonomy of the hub (PRV*BI). */
  taxonomy: string;
  address: BillingAddress;
  contactName: string;
  contactPhone: string;
  /** ISA06 / GS02 / NM1*41 id of the hub as a trading partner. */
  submitterId: string;
  /** ISA15: T (test) or P (production). */
  usage: 'T' | 'P';
  /** CLM05-1 when a service names no place of service (CMS POS; 99 = other). */
  defaultPlaceOfService: string;
  /** Hours between runs of the batching job that builds every payer's claims (0: off). */
  batchIntervalHours: number;
}

/** NPI check digit: Luhn over the 80840 prefix and the first nine digits (CMS NPI standard). */
export function isValidNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits[i];
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

export function billingConfig(env: NodeJS.ProcessEnv): BillingConfig {
  const text = (name: string, fallback: string) => (env[name] === undefined || env[name] === '' ? fallback : env[name]!);
  const npi = text('HUB_NPI', '1234567893');
  if (!isValidNpi(npi)) throw new ConfigError(`HUB_NPI must be a 10-digit NPI with a valid check digit, got "${npi}"`);
  const tin = text('HUB_TIN', '123456789');
  if (!/^\d{9}$/.test(tin)) throw new ConfigError('HUB_TIN must be 9 digits');
  const taxonomy = text('HUB_TAXONOMY', '251B00000X');
  if (!/^[0-9A-Z]{9}X$/.test(taxonomy)) throw new ConfigError(`HUB_TAXONOMY must be a NUCC taxonomy code such as 251B00000X, got "${taxonomy}"`);
  const postalCode = text('HUB_ADDRESS_ZIP', '921010001');
  if (!/^\d{9}$/.test(postalCode)) throw new ConfigError('HUB_ADDRESS_ZIP must be ZIP+4 as 9 digits (the 837P billing provider needs it)');
  const usage = text('X12_USAGE', 'T');
  if (usage !== 'T' && usage !== 'P') throw new ConfigError('X12_USAGE must be T or P');
  // The defaults are a demo identity: production interchanges must carry the hub's own.
  const unset = ['HUB_NPI', 'HUB_TIN', 'HUB_TAXONOMY', 'HUB_ADDRESS_ZIP', 'X12_SUBMITTER_ID'].filter((name) => !env[name]);
  if (usage === 'P' && unset.length) throw new ConfigError(`X12_USAGE=P (production claims) needs the hub's own ${unset.join(', ')}`);
  const submitterId = text('X12_SUBMITTER_ID', 'CCHSUBMIT01');
  if (!/^[A-Z0-9]{1,15}$/.test(submitterId)) throw new ConfigError('X12_SUBMITTER_ID must be 1-15 upper-case letters or digits');
  const pos = text('BILLING_DEFAULT_PLACE_OF_SERVICE', '99');
  if (!/^\d{2}$/.test(pos)) throw new ConfigError('BILLING_DEFAULT_PLACE_OF_SERVICE must be a 2-digit CMS place-of-service code');
  const hours = Number(text('CLAIM_BATCH_INTERVAL_HOURS', '24'));
  if (!Number.isFinite(hours) || hours < 0) throw new ConfigError('CLAIM_BATCH_INTERVAL_HOURS must be a number >= 0');
  return {
    name: text('HUB_BILLING_NAME', 'COMMUNITY CARE HUB'),
    npi,
    tin,
    taxonomy,
    address: { line: text('HUB_ADDRESS_LINE', '100 MAIN ST'), city: text('HUB_ADDRESS_CITY', 'SAN DIEGO'), state: text('HUB_ADDRESS_STATE', 'CA'), postalCode },
    contactName: text('HUB_BILLING_CONTACT', 'BILLING OFFICE'),
    contactPhone: text('HUB_BILLING_PHONE', '5555550100'),
    submitterId,
    usage,
    defaultPlaceOfService: pos,
    batchIntervalHours: hours,
  };
}
