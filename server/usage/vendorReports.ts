/**
 * The two vendors' usage and cost reports, fetched for a time range and read into one record per UTC day and
 * vendor model name. Wire formats (the vendors' admin API references):
 * - OpenAI `GET <OPENAI_BASE_URL>/organization/usage/completions` and `/organization/costs`: Bearer admin key,
 *   `start_time`/`end_time` in Unix seconds, buckets `{ start_time, end_time, results }`; usage results carry
 *   `input_tokens` (cached included), `input_cached_tokens`, `output_tokens`, `num_model_requests`, `model`; cost
 *   results `amount.value` (USD) and the free-text `line_item` (`<model>, input|cached input|output`).
 * - Anthropic `GET <ANTHROPIC_BASE_URL>/v1/organizations/usage_report/messages` and `/cost_report`: `x-api-key` and
 *   `anthropic-version`, `starting_at`/`ending_at` in RFC 3339, buckets `{ starting_at, ending_at, results }`; usage
 *   results carry `uncached_input_tokens`, `cache_read_input_tokens`, `cache_creation.ephemeral_{5m,1h}_input_tokens`,
 *   `output_tokens`, `model`; cost results `amount`, a decimal string in cents, with `model` and `token_type`.
 * A bucket's day is the UTC day its start falls in: the first bucket starts at the requested time, not a midnight.
 */
import type { UsageProvider } from '../protocol/providerUsage';
import { AdminApiError, AdminPolicy, fetchAllPages, type AdminEndpoint } from './adminHttp';

/** What one day's cost was for, in USD. `other`: what the vendor did not tie to a token kind. */
export interface CostParts {
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
  other: number;
}
export type CostPart = keyof CostParts;

/** What a vendor reported for one UTC day and one of its model names. */
export interface DayRecord {
  day: string;
  model: string;
  /** Every prompt token: uncached, cache reads and cache writes. */
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  /** Null where the vendor does not count requests (Anthropic). */
  requests: number | null;
  /** Null when the cost report had nothing for this day and model. */
  cost: CostParts | null;
}

/** Where a vendor's admin API is and the key to call it with. */
export interface AdminAccess {
  provider: UsageProvider;
  /** The chat base URL: OpenAI's includes `/v1`, Anthropic's does not. */
  baseUrl: string;
  key: string;
}

export const DEFAULT_BASE_URLS: Record<UsageProvider, string> = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com' };
const ANTHROPIC_VERSION = '2023-06-01';
/** Buckets per page: the largest both vendors take for daily buckets. */
const PAGE_LIMIT = '31';

export const DAY_MS = 86_400_000;

/** Records in day order, then by model name (code points: the same order on every machine, and cheap). */
export function byDayAndModel(a: { day: string; model: string }, b: { day: string; model: string }): number {
  return order(a.day, b.day) || order(a.model, b.model);
}

export function order(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `YYYY-MM-DD` of a time, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every record of `[startMs, endMs)` from one vendor: usage and cost fetched, then joined per day and model. */
export async function fetchReports(access: AdminAccess, startMs: number, endMs: number, policy: AdminPolicy, signal?: AbortSignal): Promise<DayRecord[]> {
  const records = new Map<string, DayRecord>();
  const recordOf = (day: string, model: string): DayRecord => {
    const key = `${day}\n${model}`;
    let record = records.get(key);
    if (!record) {
      record = {
        day,
        model,
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        requests: access.provider === 'openai' ? 0 : null,
        cost: null,
      };
      records.set(key, record);
    }
    return record;
  };
  const addCost = (day: string, model: string, part: CostPart, usd: number) => {
    const record = recordOf(day, model);
    record.cost ??= { input: 0, cached: 0, cacheWrite: 0, output: 0, other: 0 };
    record.cost[part] += usd;
  };
  if (access.provider === 'openai') await readOpenAi(access, startMs, endMs, policy, signal, recordOf, addCost);
  else await readAnthropic(access, startMs, endMs, policy, signal, recordOf, addCost);
  return [...records.values()].sort(byDayAndModel);
}

type RecordOf = (day: string, model: string) => DayRecord;
type AddCost = (day: string, model: string, part: CostPart, usd: number) => void;

async function readOpenAi(
  access: AdminAccess,
  startMs: number,
  endMs: number,
  policy: AdminPolicy,
  signal: AbortSignal | undefined,
  recordOf: RecordOf,
  addCost: AddCost,
) {
  const base = access.baseUrl.replace(/\/+$/, '');
  const endpoint = (path: string): AdminEndpoint => ({
    provider: 'openai',
    url: `${base}${path}`,
    headers: { authorization: `Bearer ${access.key}` },
    key: access.key,
  });
  const range: [string, string][] = [
    ['start_time', String(Math.floor(startMs / 1000))],
    ['end_time', String(Math.ceil(endMs / 1000))],
    ['bucket_width', '1d'],
    ['limit', PAGE_LIMIT],
  ];
  for (const bucket of await fetchAllPages(endpoint('/organization/usage/completions'), [...range, ['group_by[]', 'model']], policy, signal)) {
    const { day, results } = bucketOf(bucket, 'start_time', (v) => (typeof v === 'number' ? v * 1000 : NaN), 'openai');
    for (const result of results) {
      const record = recordOf(day, modelName(result.model));
      record.inputTokens += count(result.input_tokens);
      record.cachedInputTokens += count(result.input_cached_tokens);
      record.outputTokens += count(result.output_tokens);
      record.requests = (record.requests ?? 0) + count(result.num_model_requests);
    }
  }
  for (const bucket of await fetchAllPages(endpoint('/organization/costs'), [...range, ['group_by[]', 'line_item']], policy, signal)) {
    const { day, results } = bucketOf(bucket, 'start_time', (v) => (typeof v === 'number' ? v * 1000 : NaN), 'openai');
    for (const result of results) {
      const amount = result.amount as { value?: unknown; currency?: unknown } | undefined;
      const usd =
        typeof amount?.value === 'number' && Number.isFinite(amount.value) ? amount.value : typeof amount?.value === 'string' ? Number(amount.value) : NaN;
      if (!Number.isFinite(usd)) continue;
      const item = lineItem(result.line_item);
      // A line item that names no model (a tool's calls, storage) is not any model's cost.
      if (item) addCost(day, item.model, item.part, usd);
    }
  }
}

async function readAnthropic(
  access: AdminAccess,
  startMs: number,
  endMs: number,
  policy: AdminPolicy,
  signal: AbortSignal | undefined,
  recordOf: RecordOf,
  addCost: AddCost,
) {
  const base = access.baseUrl.replace(/\/+$/, '');
  const endpoint = (path: string): AdminEndpoint => ({
    provider: 'anthropic',
    url: `${base}/v1/organizations${path}`,
    headers: { 'x-api-key': access.key, 'anthropic-version': ANTHROPIC_VERSION },
    key: access.key,
  });
  const range: [string, string][] = [
    ['starting_at', new Date(startMs).toISOString()],
    ['ending_at', new Date(endMs).toISOString()],
    ['bucket_width', '1d'],
    ['limit', PAGE_LIMIT],
  ];
  const parseTime = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : NaN);
  for (const bucket of await fetchAllPages(endpoint('/usage_report/messages'), [...range, ['group_by[]', 'model']], policy, signal)) {
    const { day, results } = bucketOf(bucket, 'starting_at', parseTime, 'anthropic');
    for (const result of results) {
      const record = recordOf(day, modelName(result.model));
      const creation = (result.cache_creation ?? {}) as Record<string, unknown>;
      const read = count(result.cache_read_input_tokens);
      const written = count(creation.ephemeral_5m_input_tokens) + count(creation.ephemeral_1h_input_tokens);
      record.inputTokens += count(result.uncached_input_tokens) + read + written;
      record.cachedInputTokens += read;
      record.cacheWriteInputTokens += written;
      record.outputTokens += count(result.output_tokens);
    }
  }
  // The cost report takes no `limit` above 31 and no bucket width but days; `model` and `token_type` come with description.
  for (const bucket of await fetchAllPages(
    endpoint('/cost_report'),
    [...range.filter(([name]) => name !== 'bucket_width'), ['group_by[]', 'description']],
    policy,
    signal,
  )) {
    const { day, results } = bucketOf(bucket, 'starting_at', parseTime, 'anthropic');
    for (const result of results) {
      if (typeof result.model !== 'string' || !result.model) continue;
      if (result.currency !== undefined && result.currency !== 'USD') continue;
      // Cents, as a decimal string: "123.45" is $1.2345.
      const cents = typeof result.amount === 'string' ? Number(result.amount) : NaN;
      if (!Number.isFinite(cents)) continue;
      addCost(day, modelName(result.model), anthropicPart(result.token_type), cents / 100);
    }
  }
}

function bucketOf(
  bucket: unknown,
  startField: string,
  parse: (value: unknown) => number,
  provider: UsageProvider,
): { day: string; results: Record<string, unknown>[] } {
  const b = bucket as Record<string, unknown> | null;
  const start = parse(b?.[startField]);
  if (!b || !Number.isFinite(start) || !Array.isArray(b.results))
    throw new AdminApiError('bad_response', `${provider === 'openai' ? 'OpenAI' : 'Anthropic'} sent a bucket without ${startField} and results`);
  return { day: utcDay(start), results: b.results.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null) };
}

/** A token count as the vendor sent it; anything but a finite number ≥ 0 (a missing field, null) counts none. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** Grouped by model, the name is always there; should it not be, the usage still counts, under a name that says so. */
function modelName(value: unknown): string {
  return typeof value === 'string' && value.trim() ? value.trim().slice(0, 200) : '(no model)';
}

/** `gpt-4.1-mini-2025-04-14, cached input` → the model and what the cost was for; null for a line naming no model. */
export function lineItem(value: unknown): { model: string; part: CostPart } | null {
  if (typeof value !== 'string') return null;
  const match = /^([A-Za-z0-9][\w.:/-]*),\s*(.+)$/.exec(value.trim());
  if (!match) return null;
  const kind = match[2].toLowerCase();
  const part: CostPart = /cache[ds]?\s*(write|creation)/.test(kind)
    ? 'cacheWrite'
    : kind.includes('cached') || kind.includes('cache read')
      ? 'cached'
      : kind.includes('input')
        ? 'input'
        : kind.includes('output')
          ? 'output'
          : 'other';
  return { model: match[1], part };
}

function anthropicPart(tokenType: unknown): CostPart {
  switch (tokenType) {
    case 'uncached_input_tokens':
      return 'input';
    case 'cache_read_input_tokens':
      return 'cached';
    case 'cache_creation.ephemeral_5m_input_tokens':
    case 'cache_creation.ephemeral_1h_input_tokens':
      return 'cacheWrite';
    case 'output_tokens':
      return 'output';
    default:
      return 'other';
  }
}
