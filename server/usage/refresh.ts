/**
 * Bringing the local copy of the vendors' reports up to date: per vendor with an admin key, fetch what the cache
 * lacks of the days asked for, and always the last two days it has (data lands hours late, so yesterday's numbers
 * grow after the fact), then store it. A vendor without a key, with a key that is not an admin key, or out of
 * reach is reported as such in its source status, never as an exception that loses the other vendor.
 */
import { PROVIDER_INFO } from '../protocol/providers';
import type { UsageProvider, UsageSourceStatus } from '../protocol/providerUsage';
import { AdminApiError, DEFAULT_ADMIN_POLICY, type AdminPolicy } from './adminHttp';
import { readUsageCache, writeUsageCache, type ProviderCache } from './usageStore';
import { byDayAndModel, DAY_MS, DEFAULT_BASE_URLS, fetchReports, utcDay, type DayRecord } from './vendorReports';

type Env = Readonly<Record<string, string | undefined>>;

export interface RefreshOptions {
  root: string;
  env: Env;
  providers: readonly UsageProvider[];
  /** First day wanted, `YYYY-MM-DD`. */
  since: string;
  now: number;
  /** A vendor fetched less than this long ago is served from the cache (0: always fetch). */
  maxAgeMs: number;
  policy?: AdminPolicy;
  signal?: AbortSignal;
  /** Where a cache file that failed its check is reported. */
  warn?: (message: string) => void;
}

export interface Refreshed {
  /** Per vendor at hand (fetched now, or cached after a failure), its records. */
  vendors: { provider: UsageProvider; records: DayRecord[] }[];
  sources: UsageSourceStatus[];
  /** Bytes of the cache file written; 0 when nothing was fetched. */
  bytesStored: number;
}

/** The admin key variables, as the messages name them. */
export const ADMIN_KEY_VARIABLES = `${PROVIDER_INFO.openai.adminKeyVariable} or ${PROVIDER_INFO.anthropic.adminKeyVariable}`;

export function adminKeyOf(env: Env, provider: UsageProvider): string | undefined {
  return env[PROVIDER_INFO[provider].adminKeyVariable]?.trim() || undefined;
}

export async function refreshUsage(options: RefreshOptions): Promise<Refreshed> {
  const { cache, rejected } = readUsageCache(options.root);
  if (rejected) options.warn?.(rejected);
  const today = utcDay(options.now);
  const vendors: Refreshed['vendors'] = [];
  const sources: UsageSourceStatus[] = [];
  let changed = false;
  for (const provider of options.providers) {
    const key = adminKeyOf(options.env, provider);
    const cached = cache[provider];
    if (!key) {
      sources.push({
        provider,
        state: 'no_admin_key',
        message: `no admin key: set ${PROVIDER_INFO[provider].adminKeyVariable} (or run dev-ai: Set Admin Key in VS Code)`,
        fetchedAt: cached?.fetchedAt ?? null,
      });
      continue;
    }
    const usable = cached && cached.from <= options.since && cached.to === today && options.now - cached.fetchedAt < options.maxAgeMs;
    if (usable) {
      vendors.push({ provider, records: cached.records });
      sources.push({ provider, state: 'cached', message: null, fetchedAt: cached.fetchedAt });
      continue;
    }
    const baseUrl = options.env[provider === 'openai' ? 'OPENAI_BASE_URL' : 'ANTHROPIC_BASE_URL']?.trim() || DEFAULT_BASE_URLS[provider];
    try {
      const next = await fetchMissing({ provider, baseUrl, key }, cached, options, today);
      cache[provider] = next;
      changed = true;
      vendors.push({ provider, records: next.records });
      sources.push({ provider, state: 'ok', message: null, fetchedAt: next.fetchedAt });
    } catch (err) {
      if (!(err instanceof AdminApiError) || err.kind === 'cancelled') throw err;
      // The stale copy is still the vendor's word for the days it has; the result says it is partial.
      if (cached) vendors.push({ provider, records: cached.records });
      sources.push({ provider, state: err.kind === 'not_admin_key' ? 'not_admin_key' : 'error', message: err.message, fetchedAt: cached?.fetchedAt ?? null });
    }
  }
  const bytesStored = changed ? writeUsageCache(options.root, cache) : 0;
  return { vendors, sources, bytesStored };
}

/**
 * The cache for one vendor after fetching the days it lacks: before its first day when more is asked, and from its
 * last day but one to today. A cache that ends before the day before `since` leaves a gap; it is fetched afresh.
 */
async function fetchMissing(
  access: { provider: UsageProvider; baseUrl: string; key: string },
  cached: ProviderCache | undefined,
  options: RefreshOptions,
  today: string,
): Promise<ProviderCache> {
  const sinceMs = dayMs(options.since);
  const todayMs = dayMs(today);
  const reusable = cached && dayMs(cached.to) >= sinceMs - DAY_MS ? cached : undefined;
  const ranges: [number, number][] = [];
  if (!reusable) ranges.push([sinceMs, todayMs + DAY_MS]);
  else {
    if (sinceMs < dayMs(reusable.from)) ranges.push([sinceMs, dayMs(reusable.from)]);
    ranges.push([Math.max(sinceMs, dayMs(reusable.to) - DAY_MS), todayMs + DAY_MS]);
  }
  const fetched: DayRecord[] = [];
  for (const [start, end] of ranges) fetched.push(...(await fetchReports(access, start, end, options.policy ?? DEFAULT_ADMIN_POLICY, options.signal)));
  const refetched = (day: string) => ranges.some(([start, end]) => dayMs(day) >= start && dayMs(day) < end);
  const kept = (reusable?.records ?? []).filter((r) => !refetched(r.day));
  const records = [...kept, ...fetched].sort(byDayAndModel);
  const from = reusable && reusable.from < options.since ? reusable.from : options.since;
  return { fetchedAt: options.now, from, to: today, records };
}

function dayMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}
