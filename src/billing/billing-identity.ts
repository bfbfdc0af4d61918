// The hub's billing identity as the running server configured it (src/server.ts calls useBillingConfig
// at start). Renderers called from other modules with only a Scope (e.g. delivery's SFTP adapter calling
// renderClaim837p) read it here; without a server (a script), it comes from the environment.
import { billingConfig, type BillingConfig } from './billing-config.ts';

let configured: BillingConfig | undefined;

export function useBillingConfig(config: BillingConfig): void {
  configured = config;
}

export function currentBillingConfig(): BillingConfig {
  configured ??= billingConfig(process.env);
  return configured;
}
