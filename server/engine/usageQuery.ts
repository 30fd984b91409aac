/**
 * `microAgent/providerUsage`: the vendors' org usage and cost (refreshed from their admin APIs into the local cache)
 * reconciled with what the log holds, per UTC day × provider × model. Read-only as far as the workspace goes: it
 * writes nothing but the cache under `.micro-agent/`.
 */
import { reconcile, type LoggedDay } from '../usage/reconcile';
import { refreshUsage } from '../usage/refresh';
import { DAY_MS, utcDay } from '../usage/vendorReports';
import type { Env } from '../foundation/config';
import { applyCustomPrices } from '../providers/customPrices';
import { priceOf } from '../providers/prices';
import type { CallRollup } from '../protocol/methods';
import { isUsageProvider, USAGE_PROVIDERS, USAGE_SINCE_DAYS, type ProviderUsageResult, type UsageProvider } from '../protocol/providerUsage';
import type { DevAiSettings } from '../protocol/settings';
import { checked, EngineError } from './request';

export interface UsageQueryDeps {
  root: string;
  env: () => Env;
  settings: () => DevAiSettings;
  /** The log's calls by UTC day, an eval's included (`Queries.paidCallsByDay`). */
  callsByDay: (sinceTs: number) => CallRollup[];
  warn: (message: string) => void;
}

export interface UsageRequest {
  sinceDays: number;
  provider?: UsageProvider;
}

/** How long a fetch stays fresh for the host (the dashboard asks on every open); the CLI always fetches. */
export const HOST_MAX_AGE_MS = 60_000;

/** The params of `microAgent/providerUsage`, checked. */
export function usageRequest(params: unknown): UsageRequest {
  const p = (params ?? {}) as Record<string, unknown>;
  if (typeof p !== 'object' || Array.isArray(p)) throw new EngineError('invalid_params', 'params must be { sinceDays?, provider? }');
  const unknown = Object.keys(p).filter((key) => key !== 'sinceDays' && key !== 'provider');
  if (unknown.length) throw new EngineError('invalid_params', `unknown field ${unknown.join(', ')} (allowed: sinceDays, provider)`);
  // undefined is "not given" (the CLI and the export pass it so); null is no number.
  const sinceDays = p.sinceDays === undefined ? USAGE_SINCE_DAYS.DEFAULT : p.sinceDays;
  if (typeof sinceDays !== 'number' || !Number.isInteger(sinceDays) || sinceDays < USAGE_SINCE_DAYS.MIN || sinceDays > USAGE_SINCE_DAYS.MAX)
    throw new EngineError('invalid_params', `sinceDays must be a whole number of days from ${USAGE_SINCE_DAYS.MIN} to ${USAGE_SINCE_DAYS.MAX}`);
  if (p.provider !== undefined && !isUsageProvider(p.provider)) throw new EngineError('invalid_params', `provider must be ${USAGE_PROVIDERS.join(' or ')}`);
  return { sinceDays, ...(p.provider === undefined ? {} : { provider: p.provider }) };
}

export async function providerUsage(
  deps: UsageQueryDeps,
  request: UsageRequest,
  options: { maxAgeMs: number; now?: number; signal?: AbortSignal },
): Promise<ProviderUsageResult> {
  const now = options.now ?? Date.now();
  const todayMs = Math.floor(now / DAY_MS) * DAY_MS;
  const sinceMs = todayMs - request.sinceDays * DAY_MS;
  const since = utcDay(sinceMs);
  const today = utcDay(todayMs);
  checked(() => applyCustomPrices(deps.root, deps.settings().prices));
  const refreshed = await refreshUsage({
    root: deps.root,
    env: deps.env(),
    providers: request.provider ? [request.provider] : USAGE_PROVIDERS,
    since,
    now,
    maxAgeMs: options.maxAgeMs,
    signal: options.signal,
    warn: deps.warn,
  });
  const logged: LoggedDay[] = deps.callsByDay(sinceMs).flatMap((c) =>
    isUsageProvider(c.provider)
      ? [
          {
            day: utcDay(c.bucket * DAY_MS),
            provider: c.provider,
            model: c.model,
            calls: c.calls,
            inputTokens: c.inputTokens,
            outputTokens: c.outputTokens,
            cachedInputTokens: c.cachedInputTokens,
            costUsd: c.costUsd,
            pricedCalls: c.pricedCalls,
          },
        ]
      : [],
  );
  const rows = reconcile({ since, today, vendors: refreshed.vendors, logged, priceOf });
  const partial = refreshed.sources.some((s) => s.state === 'error' || s.state === 'not_admin_key');
  return { since, until: today, partial, rows, sources: refreshed.sources };
}
