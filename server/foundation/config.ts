import * as path from 'node:path';
import { ALERT_WEBHOOK_VARIABLE, type DevAiSettings } from '../protocol/settings';
import { defaultProvider, isProviderName, PROVIDER_INFO, ProviderName, unknownProviderMessage } from '../protocol/providers';
import { statePaths } from './workspace';

/** How many characters of context files a prompt carries by default (~15k tokens): files that do not fit are left out whole. */
export const DEFAULT_CONTEXT_BUDGET_CHARS = 60_000;

/** Configuration that must be fixed before any call (missing key, unknown provider, a bad number). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** The settings a run needs, every gap filled. */
export interface ResolvedSettings {
  provider: ProviderName;
  model: string;
  maxRuns: number;
  testCommand: string | undefined;
  testTimeoutMs: number;
  /** `devAi.git.timeoutSec`: what `--commit`'s git (its hooks included) may take. */
  gitTimeoutMs: number;
  budgetUsd: number | null;
  /** The cap on today's spend across every process writing the log; null = none. */
  dailyBudgetUsd: number | null;
  logPath: string;
  ollamaUrl: string | undefined;
  /** Characters of context files (the target's imports, `--context`) a prompt may hold. */
  contextBudgetChars: number;
}

export const DEFAULTS = { maxRuns: 10, testTimeoutSec: 120, gitTimeoutSec: 60 } as const;

/**
 * Settings win over the environment, which wins over defaults. The environment fallbacks let the CLI and CI
 * configure the engine without an editor: MICRO_AGENT_PROVIDER, MICRO_AGENT_MODEL, MICRO_AGENT_MAX_RUNS,
 * MICRO_AGENT_TEST_COMMAND, MICRO_AGENT_TEST_TIMEOUT_SEC, MICRO_AGENT_GIT_TIMEOUT_SEC, MICRO_AGENT_BUDGET_USD, MICRO_AGENT_DAILY_BUDGET_USD, MICRO_AGENT_LOG,
 * OLLAMA_HOST.
 */
export function resolveSettings(root: string, settings: DevAiSettings, env: Env): ResolvedSettings {
  const provider = settings.provider ?? env.MICRO_AGENT_PROVIDER ?? defaultProvider(env);
  if (!isProviderName(provider)) throw new ConfigError(unknownProviderMessage(provider));
  const logPath = settings.logPath || env.MICRO_AGENT_LOG || statePaths(root).events;
  return {
    provider,
    model: settings.model || env.MICRO_AGENT_MODEL || PROVIDER_INFO[provider].defaultModel,
    maxRuns: positiveInt('maxRuns', settings.maxRuns ?? env.MICRO_AGENT_MAX_RUNS ?? DEFAULTS.maxRuns),
    testCommand: settings.testCommand || env.MICRO_AGENT_TEST_COMMAND || undefined,
    testTimeoutMs: positiveNumber('testTimeoutSec', settings.testTimeoutSec ?? env.MICRO_AGENT_TEST_TIMEOUT_SEC ?? DEFAULTS.testTimeoutSec) * 1000,
    gitTimeoutMs: positiveNumber('git.timeoutSec', settings.git?.timeoutSec ?? env.MICRO_AGENT_GIT_TIMEOUT_SEC ?? DEFAULTS.gitTimeoutSec) * 1000,
    budgetUsd: optionalBudget('budgetUsd', settings.budgetUsd ?? env.MICRO_AGENT_BUDGET_USD),
    dailyBudgetUsd: resolveDailyBudget(settings, env),
    logPath: path.resolve(root, logPath),
    ollamaUrl: settings.ollamaUrl || env.OLLAMA_HOST || undefined,
    contextBudgetChars: nonNegativeInt('contextBudget', settings.contextBudget ?? env.MICRO_AGENT_CONTEXT_BUDGET ?? DEFAULT_CONTEXT_BUDGET_CHARS),
  };
}

export function positiveInt(name: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name} must be a whole number of at least 1 (got ${JSON.stringify(value)})`);
  return n;
}

export function nonNegativeInt(name: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a whole number of at least 0 (got ${JSON.stringify(value)})`);
  return n;
}

export function positiveNumber(name: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a positive number (got ${JSON.stringify(value)})`);
  return n;
}

/** `devAi.dailyBudgetUsd`, else MICRO_AGENT_DAILY_BUDGET_USD (what `--daily-budget` sets); null = no cap. */
export function resolveDailyBudget(settings: DevAiSettings, env: Env): number | null {
  return optionalBudget('dailyBudgetUsd', settings.dailyBudgetUsd || env.MICRO_AGENT_DAILY_BUDGET_USD);
}

/** `devAi.alerts.webhookUrl`, else MICRO_AGENT_ALERT_WEBHOOK; undefined when neither is set. A secret. */
export function alertWebhookUrl(settings: DevAiSettings, env: Env): string | undefined {
  return settings.alerts?.webhookUrl?.trim() || env[ALERT_WEBHOOK_VARIABLE]?.trim() || undefined;
}

/** A budget of 0 or unset means "no budget", as the settings UI shows it. */
function optionalBudget(name: string, value: unknown): number | null {
  if (value === undefined || value === null || value === '' || Number(value) === 0) return null;
  return positiveNumber(name, value);
}

/** A TCP port to listen on: 0 (any free one) to 65535. */
export function parsePort(name: string, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`${name} must be a whole number 0-65535 (got ${JSON.stringify(value)})`);
  return n;
}
