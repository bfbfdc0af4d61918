// A CBO's payable Account as FHIR shows it: GET /fhir/Account/cbo-payable-[org] answers the balance
// the hub owes the CBO. R4's Account has no balance element, so it carries R5's Account.balance as
// the cross-version extension (http://hl7.org/fhir/5.0/StructureDefinition/extension-Account.balance,
// complex: aggregate = total, estimate = false, amount), rewritten in the same transaction as every
// ledger posting so the two cannot disagree.
import type { Account, Extension } from 'fhir/r4';
import { lockCurrent, persistVersion } from '../../fhir/persist.ts';
import type { Scope } from '../../fhir/scope.ts';
import { ledgerBalance, payableAccountId } from './cbo-ledger.ts';

export const ACCOUNT_BALANCE_EXTENSION = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Account.balance';

export function balanceExtension(amount: number): Extension {
  return {
    url: ACCOUNT_BALANCE_EXTENSION,
    extension: [
      { url: 'aggregate', valueCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/account-aggregate', code: 'total' }] } },
      { url: 'estimate', valueBoolean: false },
      { url: 'amount', valueMoney: { value: amount, currency: 'USD' } },
    ],
  };
}

/** The balance an Account resource shows (undefined without the extension). */
export function balanceOf(account: Account): number | undefined {
  const balance = account.extension?.find((extension) => extension.url === ACCOUNT_BALANCE_EXTENSION);
  return balance?.extension?.find((part) => part.url === 'amount')?.valueMoney?.value;
}

/** Creates or updates the CBO's payable Account with the ledger's current balance. */
export async function refreshPayableAccount(scope: Scope, cbo: string): Promise<string> {
  const id = payableAccountId(cbo);
  const amount = await ledgerBalance(scope.q, id);
  const current = await lockCurrent(scope, 'Account', id);
  const existing = current && !current.deleted ? (current.resource as Account) : undefined;
  const account: Account = {
    resourceType: 'Account',
    id,
    status: 'active',
    type: { text: 'CBO payable (what the hub owes the CBO for paid claim lines, after the hub admin fee)' },
    name: `Payable to ${cbo}`,
    subject: [{ reference: cbo }],
    owner: { reference: scope.services.hubOrganization },
    ...existing,
    extension: [...(existing?.extension ?? []).filter((extension) => extension.url !== ACCOUNT_BALANCE_EXTENSION), balanceExtension(amount)],
  };
  await persistVersion(scope, 'Account', id, account, current);
  return `Account/${id}`;
}
