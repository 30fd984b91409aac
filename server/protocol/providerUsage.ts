/**
 * The org's usage and cost as the vendors' admin APIs report it, reconciled with the calls micro-agent logged:
 * the result of `microAgent/providerUsage`, of `GET /v1/provider-usage`, of MCP `get_provider_usage` and of
 * `micro-agent usage --json` (one object, the same shape everywhere). Plain types and values only.
 */

/** The vendors with an org usage and cost API (Ollama runs locally: nothing is billed). */
export const USAGE_PROVIDERS = ['openai', 'anthropic'] as const;
export type UsageProvider = (typeof USAGE_PROVIDERS)[number];

export function isUsageProvider(value: unknown): value is UsageProvider {
  return typeof value === 'string' && (USAGE_PROVIDERS as readonly string[]).includes(value);
}

/**
 * - `logged_exceeds_billed`: micro-agent logged more input+output tokens (or calls) than the vendor saw for the
 *   day: the calls went to another org's key, or through a proxy that bills elsewhere.
 * - `price_mismatch`: the vendor's cost for the day differs by more than 5% from what `providers/prices.ts` (or a
 *   custom price) makes of the vendor's own tokens; `impliedPrice` says what rate the vendor's cost implies.
 * - `not_billed_yet`: today (UTC): the vendor's numbers land hours late, so they are still growing.
 */
export const USAGE_FLAGS = ['logged_exceeds_billed', 'price_mismatch', 'not_billed_yet'] as const;
export type UsageFlag = (typeof USAGE_FLAGS)[number];

/** The relative difference between the vendor's cost and the table's estimate above which `price_mismatch` fires. */
export const PRICE_MISMATCH_TOLERANCE = 0.05;

/** Default, smallest (0: today alone, when the vendor reports it) and largest `sinceDays`. */
export const USAGE_SINCE_DAYS = { DEFAULT: 30, MIN: 0, MAX: 366 } as const;

export interface ProviderUsageParams {
  /** The whole UTC days before today to cover (default 30, 0 to 366); today is added when the vendor reports it. */
  sinceDays?: number;
  /** Only this vendor (default: both). */
  provider?: UsageProvider;
}

/** What the vendor reported for one UTC day and model (its snapshots summed). */
export interface BilledUsage {
  /** Every prompt token, as `llm.response.inputTokens` counts them: Anthropic's uncached + cache reads + cache writes. */
  inputTokens: number;
  outputTokens: number;
  /** The part of `inputTokens` read from the prompt cache. */
  cachedInputTokens: number;
  /** Null where the vendor does not count requests (Anthropic). */
  requests: number | null;
  /** USD; null where the vendor reported no cost for this day and model. */
  costUsd: number | null;
}

/** What micro-agent's event log holds for the same day, provider and model (`llm.response` events). */
export interface LoggedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  calls: number;
  /** Sum over the priced calls; null when there were calls and none was priced (never a made-up 0). */
  costUsd: number | null;
  /** Calls whose cost is unknown (unpriced model or missing usage): left out of `costUsd`. */
  unpricedCalls: number;
}

/** USD per million tokens, as `devAi.prices` and `.micro-agent/prices.json` take them. */
export interface ModelPrice {
  input: number;
  output: number;
  /** A prompt-cache read; default: the input rate. */
  cached?: number;
  /** A prompt-cache write; default: the input rate. */
  cacheWrite?: number;
}

/** Why a flag fired, in words a user can act on. */
export interface UsageFlagNote {
  flag: UsageFlag;
  message: string;
}

export interface ProviderUsageRow {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  provider: UsageProvider;
  /** The alias the log uses when one matches the vendor's dated snapshot, else the vendor's name. */
  model: string;
  billed: BilledUsage;
  logged: LoggedUsage;
  /** Logged input+output tokens over billed ones (a ratio, not a percent); null when the vendor billed none. */
  share: number | null;
  flags: UsageFlag[];
  /** The vendor's own model names summed into this row (dated snapshots). */
  vendorModels: string[];
  /** What the price table (or a custom price) makes of the billed tokens; null for an unpriced model. */
  expectedCostUsd: number | null;
  /**
   * The rates (per million tokens) the vendor's cost implies: each kind's cost over its tokens where the vendor split
   * them so, else the table's rate scaled to the vendor's cost. Set with `price_mismatch`, and for a model the price
   * table lacks that the vendor priced; what `micro-agent usage --write-prices` writes to `.micro-agent/prices.json`.
   * Otherwise null.
   */
  impliedPrice: ModelPrice | null;
  /** One note per flag, in the same order. */
  notes: UsageFlagNote[];
}

/**
 * Why a vendor is (or is not) in the rows:
 * - `ok`: fetched now;
 * - `cached`: not re-fetched (fetched a moment ago), rows from the local cache;
 * - `no_admin_key`: neither the environment nor dev-ai: Set Admin Key gave one;
 * - `not_admin_key`: the vendor answered 401/403: the key is not an admin key (a chat key, say);
 * - `error`: the fetch failed (network, 5xx after retries, timeout): rows from the cache, possibly stale.
 */
export type UsageSourceState = 'ok' | 'cached' | 'no_admin_key' | 'not_admin_key' | 'error';

export interface UsageSourceStatus {
  provider: UsageProvider;
  state: UsageSourceState;
  /** A plain sentence for every state but `ok`/`cached`, e.g. "401: this key is not an admin key". */
  message: string | null;
  /** When this vendor's data was last fetched (ms since the epoch); null when never. */
  fetchedAt: number | null;
}

export interface ProviderUsageResult {
  /** First day covered, `YYYY-MM-DD` (UTC). */
  since: string;
  /** Last day covered, `YYYY-MM-DD` (UTC): today. */
  until: string;
  /** True when a vendor with an admin key could not be fetched now: its rows are stale or missing. */
  partial: boolean;
  /** Sorted by day, then provider, then model. */
  rows: ProviderUsageRow[];
  /** One per vendor asked about. */
  sources: UsageSourceStatus[];
}
