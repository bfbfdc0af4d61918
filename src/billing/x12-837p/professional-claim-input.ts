// What an 837P interchange is built from: plain typed values, filled from FHIR by claim-to-837p-input.ts.
export interface X12Address {
  line: string;
  city: string;
  state: string;
  postalCode: string;
}

export interface ProfessionalClaimLine {
  /** HCPCS/CPT code and up to 4 modifiers (SV101). */
  qualifier: 'HC';
  code: string;
  modifiers: string[];
  charge: number;
  unit: 'UN' | 'MJ';
  quantity: number;
  /** 1-based pointers into the claim's diagnoses (SV107), at most 4. */
  pointers: number[];
  serviceStart: string;
  /** Set for a range (DTP*472*RD8). */
  serviceEnd?: string;
  lineControlNumber: string;
}

export interface ProfessionalClaimInput {
  interchange: {
    /** ISA13 (9 digits) and GS06. */
    controlNumber: number;
    /** ISA09/10, GS04/05, BHT04/05. */
    createdAt: Date;
    usage: 'T' | 'P';
    submitter: { id: string; name: string; contactName: string; contactPhone: string };
    receiver: { id: string; name: string };
  };
  billingProvider: { name: string; npi: string; tin: string; taxonomy: string; address: X12Address };
  subscriber: {
    lastName: string;
    firstName: string;
    memberId: string;
    address?: X12Address;
    birthDate?: string;
    gender: 'F' | 'M' | 'U';
    /** SBR09: MC Medicaid, CI commercial, 16 HMO Medicare... */
    claimFilingIndicator: string;
  };
  payer: { name: string; payerId: string };
  claim: {
    controlNumber: string;
    total: number;
    placeOfService: string;
    /** CLM05-3: 1 original, 7 replacement, 8 void. */
    frequency: string;
    priorAuthorization?: string;
    /** ICD-10-CM without the dot; the first is principal (ABK). */
    diagnoses: string[];
    rendering?: { name: string; npi?: string; planProviderId?: string; taxonomy?: string };
    /** BHT06: CH chargeable, RP reporting only (encounters). */
    transactionType: 'CH' | 'RP';
  };
  lines: ProfessionalClaimLine[];
}
