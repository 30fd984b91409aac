import * as vscode from 'vscode';
import { KeyedProvider, PROVIDER_INFO, PROVIDERS } from '../server/protocol/providers';
import { USAGE_PROVIDERS, type UsageProvider } from '../server/protocol/providerUsage';
import { ALERT_WEBHOOK_VARIABLE } from '../server/protocol/settings';

/** The providers that take a key, with the variable the host reads it from. */
export const KEYED_PROVIDERS = PROVIDERS.flatMap((provider) => {
  const { label, keyVariable } = PROVIDER_INFO[provider];
  return keyVariable === null ? [] : [{ provider: provider as KeyedProvider, label, variable: keyVariable }];
});

/** The vendors with an org admin key (usage and cost reports), with the variable the host reads it from. */
export const ADMIN_KEYED_PROVIDERS = USAGE_PROVIDERS.map((provider) => ({
  provider,
  label: PROVIDER_INFO[provider].label,
  variable: PROVIDER_INFO[provider].adminKeyVariable,
}));

/** The alert webhook's URL in SecretStorage: Slack's and most chat hooks carry their token in the URL. */
const WEBHOOK_ID = 'devAi.alerts.webhookUrl';

/**
 * API keys, org admin keys (and the alert webhook's URL) in SecretStorage (the OS keychain in desktop VS Code). They reach the host only as environment
 * variables of its process, never through settings, the log, a JSON-RPC message or the webview.
 */
export class ApiKeys {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  private static id(provider: KeyedProvider): string {
    return `devAi.apiKey.${provider}`;
  }

  get(provider: KeyedProvider): Thenable<string | undefined> {
    return this.secrets.get(ApiKeys.id(provider));
  }

  store(provider: KeyedProvider, key: string): Thenable<void> {
    return this.secrets.store(ApiKeys.id(provider), key);
  }

  delete(provider: KeyedProvider): Thenable<void> {
    return this.secrets.delete(ApiKeys.id(provider));
  }

  private static adminId(provider: UsageProvider): string {
    return `devAi.adminKey.${provider}`;
  }

  /** Stores a vendor's organization admin key, or removes it when `key` is empty. */
  storeAdmin(provider: UsageProvider, key: string): Thenable<void> {
    return key ? this.secrets.store(ApiKeys.adminId(provider), key) : this.secrets.delete(ApiKeys.adminId(provider));
  }

  /** Stores the alert webhook's URL, or removes it when `url` is empty. */
  storeWebhook(url: string): Thenable<void> {
    return url ? this.secrets.store(WEBHOOK_ID, url) : this.secrets.delete(WEBHOOK_ID);
  }

  /** Fires when any stored key (or the webhook URL) changes, from this window or another. */
  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((e) => {
      if (e.key.startsWith('devAi.apiKey.') || e.key.startsWith('devAi.adminKey.') || e.key === WEBHOOK_ID) listener();
    });
  }

  /** The variables to add to the host's environment: stored keys win over ones inherited from the shell. */
  async environment(): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const { provider, variable } of KEYED_PROVIDERS) {
      const key = await this.get(provider);
      if (key) env[variable] = key;
    }
    for (const { provider, variable } of ADMIN_KEYED_PROVIDERS) {
      const key = await this.secrets.get(ApiKeys.adminId(provider));
      if (key) env[variable] = key;
    }
    const webhook = await this.secrets.get(WEBHOOK_ID);
    if (webhook) env[ALERT_WEBHOOK_VARIABLE] = webhook;
    return env;
  }
}
