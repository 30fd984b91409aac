/**
 * GET against a vendor's admin API, page after page: a timeout per request, cancellation, retries of 429/5xx and
 * network failures with the backoff `providers/call.ts` uses (the vendor's `retry-after` first), and a plain
 * sentence for a key that is not an admin key. The official SDKs do not cover these endpoints.
 */
import { retryDelay, sleep, type BackoffPolicy } from '../providers/backoff';
import { parseRetryAfter } from '../providers/rateLimit';
import type { UsageProvider } from '../protocol/providerUsage';

export interface AdminPolicy extends BackoffPolicy {
  /** Retries after the first attempt of one page. */
  maxRetries: number;
  /** One request (headers and body) may take this long. */
  timeoutMs: number;
}

export const DEFAULT_ADMIN_POLICY: AdminPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 60_000, timeoutMs: 30_000 };

/** A report cannot be longer than this many pages (a year of days at the smallest page is under 400). */
const MAX_PAGES = 2000;

export type AdminErrorKind = 'not_admin_key' | 'rate_limit' | 'server' | 'network' | 'timeout' | 'bad_response' | 'invalid_request' | 'cancelled';

export class AdminApiError extends Error {
  constructor(
    readonly kind: AdminErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export interface AdminEndpoint {
  provider: UsageProvider;
  /** The full URL of the report, without query. */
  url: string;
  headers: Record<string, string>;
  /** The key, so that it is cut out of any vendor message that echoes it. */
  key: string;
}

/** One page of a report as both vendors send it. */
interface Page {
  data: unknown[];
  has_more: boolean;
  next_page: string | null;
}

const LABEL: Record<UsageProvider, string> = { openai: 'OpenAI', anthropic: 'Anthropic' };

/** Every bucket of a report, following `next_page` while `has_more`. `query` is repeated for each page. */
export async function fetchAllPages(endpoint: AdminEndpoint, query: [string, string][], policy: AdminPolicy, signal?: AbortSignal): Promise<unknown[]> {
  const buckets: unknown[] = [];
  let page: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const url = new URL(endpoint.url);
    for (const [name, value] of query) url.searchParams.append(name, value);
    if (page !== undefined) url.searchParams.set('page', page);
    const body = readPage(await getJson(endpoint, url, policy, signal), endpoint);
    buckets.push(...body.data);
    if (!body.has_more) return buckets;
    if (!body.next_page || body.next_page === page)
      throw new AdminApiError('bad_response', `${LABEL[endpoint.provider]} said there was more but gave no new next_page`);
    page = body.next_page;
  }
  throw new AdminApiError('bad_response', `${LABEL[endpoint.provider]}'s report ran past ${MAX_PAGES} pages`);
}

function readPage(body: unknown, endpoint: AdminEndpoint): Page {
  const page = body as Partial<Page> | null;
  if (!page || typeof page !== 'object' || !Array.isArray(page.data) || typeof page.has_more !== 'boolean')
    throw new AdminApiError('bad_response', `${LABEL[endpoint.provider]} sent a report page without data and has_more`);
  return { data: page.data, has_more: page.has_more, next_page: typeof page.next_page === 'string' ? page.next_page : null };
}

async function getJson(endpoint: AdminEndpoint, url: URL, policy: AdminPolicy, signal?: AbortSignal): Promise<unknown> {
  for (let retries = 0; ; retries++) {
    let error: AdminApiError;
    let retryAfterMs: number | undefined;
    try {
      return await attempt(endpoint, url, policy.timeoutMs, signal);
    } catch (err) {
      if (!(err instanceof AttemptFailure)) throw err;
      error = err.error;
      retryAfterMs = err.retryAfterMs;
    }
    const retryable = error.kind === 'rate_limit' || error.kind === 'server' || error.kind === 'network' || error.kind === 'timeout';
    const delay = retryable && retries < policy.maxRetries ? retryDelay(retryAfterMs, retries, policy) : undefined;
    if (delay === undefined) throw error;
    await sleep(delay, signal).catch(() => {
      throw new AdminApiError('cancelled', 'cancelled');
    });
  }
}

/** A failed attempt, with what decides whether to retry it. */
class AttemptFailure extends Error {
  constructor(
    readonly error: AdminApiError,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

async function attempt(endpoint: AdminEndpoint, url: URL, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  if (signal?.aborted) throw new AdminApiError('cancelled', 'cancelled');
  const label = LABEL[endpoint.provider];
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...endpoint.headers }, signal: combined });
    text = await response.text();
  } catch (err) {
    if (signal?.aborted) throw new AdminApiError('cancelled', 'cancelled');
    if (timeout.aborted) throw new AttemptFailure(new AdminApiError('timeout', `${label} did not answer ${url.pathname} within ${timeoutMs} ms`));
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new AttemptFailure(new AdminApiError('network', `${label} unreachable at ${url.origin}: ${cause}`));
  }
  const status = response.status;
  if (status >= 200 && status < 300) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AdminApiError('bad_response', `${label} sent ${url.pathname} a reply that is not JSON`);
    }
  }
  const said = vendorMessage(text, endpoint.key);
  const detail = `${label} answered ${status}${said ? ` (${said})` : ''}`;
  if (status === 401 || status === 403)
    throw new AdminApiError(
      'not_admin_key',
      `${label} answered ${status}: this key is not an admin key; usage and cost reports need an organization admin key${said ? ` (${said})` : ''}`,
      status,
    );
  const retryAfterMs = parseRetryAfter(response.headers);
  if (status === 429) throw new AttemptFailure(new AdminApiError('rate_limit', detail, status), retryAfterMs);
  if (status >= 500 || status === 408) throw new AttemptFailure(new AdminApiError('server', detail, status), retryAfterMs);
  throw new AdminApiError('invalid_request', detail, status);
}

/** The vendor's error message (both put it at `error.message`), short, with the key cut out should it echo it. */
function vendorMessage(text: string, key: string): string {
  let message = '';
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string };
    const raw = typeof body.error === 'string' ? body.error : body.error?.message;
    if (typeof raw === 'string') message = raw;
  } catch {
    message = '';
  }
  if (key.length >= 4) message = message.split(key).join('***');
  return message.replace(/\s+/g, ' ').slice(0, 200);
}
