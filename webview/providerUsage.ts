/**
 * The Providers tab's numbers, shaped from `microAgent/providerUsage` and the store's headroom: pure functions,
 * so what the tab draws is what these return.
 */
import type { KeyHeadroom } from '../server/protocol/events';
import type { ModelPrice, ProviderUsageResult, ProviderUsageRow, UsageFlag } from '../server/protocol/providerUsage';

/** Models drawn in a colour of their own; the rest share one ("other"), as a chart of 20 colours reads as none. */
export const CHART_MODELS = 5;
export const OTHER = 'other';

export interface SpendSegment {
  /** `provider model`, or OTHER. */
  series: string;
  /** What the org spent on it that day (USD), or its tokens when the vendors gave no cost in the window. */
  value: number;
  /** The part of `value` that micro-agent's logged calls account for: the row's share of tokens, at most all. */
  mine: number;
}

export interface SpendDay {
  day: string;
  total: number;
  segments: SpendSegment[];
}

export interface SpendChart {
  /** 'usd' when any row has a cost; else the chart is of billed input+output tokens. */
  measure: 'usd' | 'tokens';
  /** The coloured series, biggest first, then OTHER when more models spent. */
  series: string[];
  days: SpendDay[];
  totals: { org: number; mine: number };
}

const billedTokens = (row: ProviderUsageRow) => row.billed.inputTokens + row.billed.outputTokens;

/**
 * The org's spend per day and model, with micro-agent's part of each: the share (logged over billed tokens) of
 * the row's spend. Every day of the window is there, an empty one with no segments, so gaps read as gaps.
 */
export function spendChart(result: Pick<ProviderUsageResult, 'since' | 'until' | 'rows'>): SpendChart {
  const measure = result.rows.some((row) => row.billed.costUsd !== null) ? 'usd' : 'tokens';
  const valueOf = (row: ProviderUsageRow) => (measure === 'usd' ? (row.billed.costUsd ?? 0) : billedTokens(row));
  const byModel = new Map<string, number>();
  for (const row of result.rows) byModel.set(`${row.provider} ${row.model}`, (byModel.get(`${row.provider} ${row.model}`) ?? 0) + valueOf(row));
  const ranked = [...byModel].filter(([, total]) => total > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const coloured = new Set(ranked.slice(0, ranked.length > CHART_MODELS + 1 ? CHART_MODELS : CHART_MODELS + 1).map(([series]) => series));
  const series = [...coloured, ...(ranked.length > coloured.size ? [OTHER] : [])];
  const days = new Map<string, Map<string, SpendSegment>>();
  for (const day of daysFrom(result.since, result.until)) days.set(day, new Map());
  const totals = { org: 0, mine: 0 };
  for (const row of result.rows) {
    const value = valueOf(row);
    if (value <= 0) continue;
    const name = coloured.has(`${row.provider} ${row.model}`) ? `${row.provider} ${row.model}` : OTHER;
    const segments = days.get(row.day) ?? days.set(row.day, new Map()).get(row.day)!;
    const segment = segments.get(name) ?? segments.set(name, { series: name, value: 0, mine: 0 }).get(name)!;
    const mine = value * Math.min(1, row.share ?? 0);
    segment.value += value;
    segment.mine += mine;
    totals.org += value;
    totals.mine += mine;
  }
  return {
    measure,
    series,
    totals,
    days: [...days]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([day, segments]) => {
        const ordered = series.flatMap((name) => segments.get(name) ?? []);
        return { day, total: ordered.reduce((sum, s) => sum + s.value, 0), segments: ordered };
      }),
  };
}

/** `YYYY-MM-DD` from `since` to `until`, both included (UTC). */
function daysFrom(since: string, until: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${until}T00:00:00Z`);
  for (let t = Date.parse(`${since}T00:00:00Z`); t <= end && out.length <= 400; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export interface Discrepancy {
  day: string;
  provider: string;
  model: string;
  flag: UsageFlag;
  message: string;
  /** With `price_mismatch`: the rate the vendor's bill implies, USD per million tokens. */
  impliedPrice: ModelPrice | null;
}

/** Every flag of every row, newest day first, each with the reconciliation's own explanation. */
export function discrepancies(rows: readonly ProviderUsageRow[]): Discrepancy[] {
  const out = rows.flatMap((row) =>
    row.flags.map((flag, i) => ({
      day: row.day,
      provider: row.provider,
      model: row.model,
      flag,
      message: row.notes.find((note) => note.flag === flag)?.message ?? row.notes[i]?.message ?? flag,
      impliedPrice: flag === 'price_mismatch' ? row.impliedPrice : null,
    })),
  );
  return out.sort((a, b) => b.day.localeCompare(a.day) || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
}

export interface HeadroomRow {
  provider: string;
  /** `OPENAI_API_KEY · 3f9a2c1e`, or a dash for calls logged before keys were named. */
  key: string;
  requests: { remaining: number | null; limit: number | null; share: number | null };
  tokens: { remaining: number | null; limit: number | null; share: number | null };
  /** The smaller share left: what decides whether the key is about to be refused. */
  least: number | null;
  resetAt: number | null;
  /** When the reset is past, the numbers are too: the window has refilled since. */
  stale: boolean;
  model: string;
  ts: number;
}

/** Each provider's keys' latest headroom, tightest first. */
export function headroomRows(held: Iterable<KeyHeadroom>, now: number): HeadroomRow[] {
  const share = (remaining: number | null, limit: number | null) => (remaining !== null && limit ? remaining / limit : null);
  return [...held]
    .map(({ provider, key, model, ts, rateLimit: r }) => {
      const requests = { remaining: r.requestsRemaining, limit: r.requestsLimit, share: share(r.requestsRemaining, r.requestsLimit) };
      const tokens = { remaining: r.tokensRemaining, limit: r.tokensLimit, share: share(r.tokensRemaining, r.tokensLimit) };
      const shares = [requests.share, tokens.share].filter((s): s is number => s !== null);
      return {
        provider,
        key: key ? `${key.source} · ${key.fingerprint}` : '–',
        requests,
        tokens,
        least: shares.length ? Math.min(...shares) : null,
        resetAt: r.resetAt,
        stale: r.resetAt !== null && r.resetAt < now,
        model,
        ts,
      };
    })
    .sort((a, b) => (a.least ?? 1) - (b.least ?? 1) || a.provider.localeCompare(b.provider) || a.key.localeCompare(b.key));
}
