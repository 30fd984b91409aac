/**
 * The vendors' rate-limit headers, read into one `RateLimit` (protocol/events.ts). Read when the response arrives,
 * not when its stream ends: OpenAI's resets are relative ("6m0s" from now), and a reply can stream for a minute.
 */
import { createHash } from 'node:crypto';
import type { KeyIdentity, RateLimit } from '../protocol/events';

/** The headers a response carries; `Headers` from fetch and the SDKs' responses and errors alike. */
type HeaderSource = Pick<Headers, 'get'>;

/** One limit (requests or tokens) as one vendor reported it. */
interface Allowance {
  limit: number | null;
  remaining: number | null;
  resetAt: number | null;
}

/** What the headers say: a `RateLimit` but for whose key it is, which they do not say (`callModel` adds it). */
export type Headroom = Omit<RateLimit, 'key'>;

/** The rate-limit headers of a response, or null when it had none (Ollama, a proxy that strips them). */
export function readRateLimit(headers: HeaderSource | undefined | null, now = Date.now()): Headroom | null {
  if (!headers || typeof headers.get !== 'function') return null;
  const requests = openAi(headers, 'requests', now) ?? anthropic(headers, 'requests');
  const tokens =
    openAi(headers, 'tokens', now) ?? anthropic(headers, 'tokens') ?? tighter(anthropic(headers, 'input-tokens'), anthropic(headers, 'output-tokens'));
  const retryAfterMs = parseRetryAfter(headers, now);
  if (!requests && !tokens && retryAfterMs === undefined) return null;
  return {
    requestsLimit: requests?.limit ?? null,
    requestsRemaining: requests?.remaining ?? null,
    tokensLimit: tokens?.limit ?? null,
    tokensRemaining: tokens?.remaining ?? null,
    // A retry-after is the vendor saying exactly when to come back; it outranks the windows' resets.
    resetAt: retryAfterMs !== undefined ? now + retryAfterMs : (tighter(requests, tokens)?.resetAt ?? null),
  };
}

/** OpenAI: `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` (a duration). */
function openAi(headers: HeaderSource, what: 'requests' | 'tokens', now: number): Allowance | undefined {
  const reset = goDurationMs(headers.get(`x-ratelimit-reset-${what}`));
  return allowance(headers.get(`x-ratelimit-limit-${what}`), headers.get(`x-ratelimit-remaining-${what}`), reset === null ? null : now + reset);
}

/** Anthropic: `anthropic-ratelimit-<what>-limit`, `-remaining`, `-reset` (RFC 3339). */
function anthropic(headers: HeaderSource, what: 'requests' | 'tokens' | 'input-tokens' | 'output-tokens'): Allowance | undefined {
  const prefix = `anthropic-ratelimit-${what}`;
  const reset = headers.get(`${prefix}-reset`);
  const resetAt = reset ? Date.parse(reset) : NaN;
  return allowance(headers.get(`${prefix}-limit`), headers.get(`${prefix}-remaining`), Number.isNaN(resetAt) ? null : resetAt);
}

function allowance(limit: string | null, remaining: string | null, resetAt: number | null): Allowance | undefined {
  const found = { limit: count(limit), remaining: count(remaining), resetAt };
  return found.limit === null && found.remaining === null && found.resetAt === null ? undefined : found;
}

/** A whole number ≥ 0, as the headers carry them; anything else is not believed. */
function count(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

/** Of two limits, the one with the smaller share left (the one that will refuse first); either may be missing. */
function tighter(a: Allowance | undefined, b: Allowance | undefined): Allowance | undefined {
  if (!a || !b) return a ?? b;
  const share = (x: Allowance) => (x.limit && x.remaining !== null ? x.remaining / x.limit : 1);
  return share(b) < share(a) ? b : a;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, μs: 1e-3, ns: 1e-6 };

/**
 * A Go duration as OpenAI sends it (`6m0s`, `1s`, `20ms`, `1h2m3.5s`, `17.28s`) in milliseconds, or null when the
 * text is not one: every character must belong to a number-and-unit pair.
 */
export function goDurationMs(text: string | null): number | null {
  if (!text) return null;
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|μs|ns))+$/.test(trimmed)) return null;
  let ms = 0;
  for (const [, value, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|μs|ns)/g)) ms += Number(value) * UNIT_MS[unit];
  return ms;
}

/** `retry-after-ms` (OpenAI) or `retry-after` in seconds or as an HTTP date, in milliseconds from `now`. */
export function parseRetryAfter(headers: HeaderSource | undefined | null, now = Date.now()): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A key's identity for the log and the dashboard (`KeyIdentity`): its variable and a short SHA-256 fingerprint. */
export function keyIdentity(source: string, key: string): KeyIdentity {
  return { source, fingerprint: createHash('sha256').update(key).digest('hex').slice(0, 8) };
}
