import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { billingConfig, isValidNpi } from './billing-config.ts';

describe('billing identity config', () => {
  it('accepts the demo identity for test interchanges', () => {
    const config = billingConfig({});
    expect(config.npi).toBe('1234567893');
    expect(isValidNpi(config.npi)).toBe(true);
  });

  it("refuses production interchanges (X12_USAGE=P) without the hub's own identifiers", () => {
    expect(() => billingConfig({ X12_USAGE: 'P', HUB_NPI: '1234567893' })).toThrow(ConfigError);
    expect(() => billingConfig({ X12_USAGE: 'P' })).toThrow(/HUB_NPI, HUB_TIN, HUB_TAXONOMY, HUB_ADDRESS_ZIP, X12_SUBMITTER_ID/);
    const own = { X12_USAGE: 'P', HUB_NPI: '1245319599', HUB_TIN: '987654321', HUB_TAXONOMY: '251B00000X', HUB_ADDRESS_ZIP: '921010002', X12_SUBMITTER_ID: 'HUB01' };
    expect(billingConfig(own).usage).toBe('P');
  });

  it('refuses an NPI whose check digit is wrong', () => {
    expect(() => billingConfig({ HUB_NPI: '1234567890' })).toThrow(/check digit/);
  });
});
