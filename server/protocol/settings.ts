/** The `devAi.*` settings as the host reads them, and what the extension passes when it starts the host. */
import type { ProviderName } from './providers';
import type { ModelPrice } from './providerUsage';

/**
 * The variable the extension passes the alert webhook's URL in (from its secret storage), and the CLI reads; a
 * secret like the API keys (`server/foundation/secrets.ts`).
 */
export const ALERT_WEBHOOK_VARIABLE = 'MICRO_AGENT_ALERT_WEBHOOK';

/** The `devAi` configuration section, as the host reads it. Every field is optional: the environment fills gaps. */
export interface DevAiSettings {
  provider?: ProviderName;
  review?: ReviewSettings;
  /** Run the tests after each save and start micro-agent on the saved file when they fail. Off by default. */
  autoFix?: boolean;
  model?: string;
  maxRuns?: number;
  testCommand?: string;
  testTimeoutSec?: number;
  budgetUsd?: number;
  /** A cap on today's model calls (since local midnight) across runs, reviews and every process writing the log. 0 = none. */
  dailyBudgetUsd?: number;
  logPath?: string;
  ollamaUrl?: string;
  /** Characters of context files (the target's local imports, added files) a prompt may hold. */
  contextBudget?: number;
  api?: ApiSettings;
  alerts?: AlertSettings;
  git?: GitSettings;
  /**
   * Model → USD per million tokens (`input`, `output`, `cached`, `cacheWrite`), for models the built-in table lacks
   * or prices differently; `.micro-agent/prices.json` wins model by model. An unpriced call stays unpriced.
   */
  prices?: Record<string, ModelPrice>;
}

/** `devAi.git.*` */
export interface GitSettings {
  /** `--commit`: stop git (and its hooks) after this many seconds and give the commit up (default 60). */
  timeoutSec?: number;
}

/** `devAi.alerts.*` */
export interface AlertSettings {
  /** Where each `alert` event is POSTed as `{ text, alert }` (Slack-compatible). A secret: never logged or echoed. */
  webhookUrl?: string;
}

/** `devAi.api.*`: the live API served by the host, as `micro-agent serve` does without an editor. */
export interface ApiSettings {
  /** Off by default; never in an untrusted workspace. */
  enabled?: boolean;
  /** Loopback port; 0 (the default) picks a free one. */
  port?: number;
}

/** `devAi.review.*` */
export interface ReviewSettings {
  /** Review a file each time it is saved. Off by default. */
  onSave?: boolean;
  /** Files larger than this are refused, never truncated (default 64). */
  maxFileKb?: number;
  /** Stop reviewing for the rest of the hour once review calls have cost this much (default 0.5; 0 = no limit). */
  hourlyBudgetUsd?: number;
  /** Reviews running at once (default 2). */
  concurrency?: number;
}

/** What the extension passes in `initializationOptions` when it starts the host. */
export interface HostInitializationOptions {
  /** False in an untrusted workspace: no test commands, no file writes. Default true. */
  trusted?: boolean;
}
