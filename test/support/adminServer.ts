/**
 * A local stand-in for the vendors' organization admin APIs (usage and cost reports), in their wire formats as the
 * API references give them:
 *   GET /v1/organization/usage/completions      OpenAI: Bearer admin key, start_time/end_time (Unix s), bucket_width,
 *   GET /v1/organization/costs                  group_by[] (model | line_item), limit, page; buckets { object: 'bucket',
 *                                               start_time, end_time, results }, pages { object: 'page', data, has_more,
 *                                               next_page }; cost amount.value in USD, line_item "<model>, input" …
 *   GET /v1/organizations/usage_report/messages Anthropic: x-api-key, anthropic-version, starting_at/ending_at (RFC 3339),
 *   GET /v1/organizations/cost_report           group_by[] (model | description), limit, page; buckets { starting_at,
 *                                               ending_at, results }; cost `amount` a decimal string in cents.
 * It does what real ones do: pages of two buckets, a first bucket that starts at the requested time (not a midnight),
 * `results: []` for a day without usage, grouping keys null unless grouped, dated snapshot model names (whatever the
 * test's data says), a 401 for any key but the admin key (a chat key), and 429 with `retry-after` when told to
 * throttle. Its data is mutable, so a test can re-report a day larger before the next fetch.
 * Usable alone (`startAdminServer`) or mounted in the chat stand-in (`vendorServer.ts`), so one base URL serves both
 * as the vendors' does.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One day's usage of one vendor model name, as the org did it (micro-agent's calls and everyone else's). */
export interface OrgDay {
  day: string;
  model: string;
  /** Every prompt token, cached and cache writes included. */
  input: number;
  output: number;
  cachedInput?: number;
  /** Anthropic's cache writes (5-minute and 1-hour). */
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  /** OpenAI's request count (default 1 per 1,000 input tokens, at least 1). */
  requests?: number;
}

/** USD per million tokens the stand-in bills a vendor model name at. A model without a price has no cost lines. */
export interface BillingRate {
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
}

export type AdminVendor = 'openai' | 'anthropic';

export interface AdminRequest {
  vendor: AdminVendor;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  at: number;
}

export interface AdminStandIn {
  /** The keys that are admin keys; any other gets a 401. */
  keys: Record<AdminVendor, string>;
  usage: Record<AdminVendor, OrgDay[]>;
  rates: Record<string, BillingRate>;
  requests: AdminRequest[];
  /** The next `count` requests answer 429 with `retry-after: <seconds>`. */
  throttle(count: number, retryAfterSec: number): void;
  /** The next `count` requests answer `status` (a 5xx) with `retry-after: <seconds>`. */
  fail(count: number, status: number, retryAfterSec: number): void;
  /** Answers an admin request; false when the path is not one (the caller serves it). */
  handle(method: string, url: string, headers: http.IncomingHttpHeaders, res: http.ServerResponse): boolean;
}

const DAY_MS = 86_400_000;
const PAGE_SIZE = 2;

export function createAdminStandIn(): AdminStandIn {
  const pending: { status: number; retryAfterSec: number }[] = [];
  const standIn: AdminStandIn = {
    keys: { openai: 'sk-admin-openai-stand-in-0001', anthropic: 'sk-ant-admin01-stand-in-0001' },
    usage: { openai: [], anthropic: [] },
    rates: {},
    requests: [],
    throttle: (count, retryAfterSec) => pending.push(...Array.from({ length: count }, () => ({ status: 429, retryAfterSec }))),
    fail: (count, status, retryAfterSec) => pending.push(...Array.from({ length: count }, () => ({ status, retryAfterSec }))),
    handle(method, rawUrl, headers, res) {
      const url = new URL(rawUrl, 'http://stand-in');
      const route = ROUTES[url.pathname];
      if (!route) return false;
      standIn.requests.push({ vendor: route.vendor, path: url.pathname, query: url.searchParams, headers, at: Date.now() });
      const send = (status: number, body: unknown, extra: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...extra }).end(JSON.stringify(body));
      if (method !== 'GET') return (send(405, errorBody(route.vendor, 'invalid_request_error', `${method} is not allowed`)), true);
      const key = route.vendor === 'openai' ? /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1] : headers['x-api-key'];
      if (key !== standIn.keys[route.vendor]) {
        const message =
          route.vendor === 'openai' ? 'You have insufficient permissions for this operation. This endpoint requires an admin key.' : 'invalid x-api-key';
        return (send(401, errorBody(route.vendor, 'authentication_error', message)), true);
      }
      const failure = pending.shift();
      if (failure) {
        const type = failure.status === 429 ? 'rate_limit_error' : 'api_error';
        return (send(failure.status, errorBody(route.vendor, type, 'slow down'), { 'retry-after': String(failure.retryAfterSec) }), true);
      }
      if (route.vendor === 'anthropic' && !headers['anthropic-version'])
        return (send(400, errorBody('anthropic', 'invalid_request_error', 'anthropic-version: header is required')), true);
      const range = route.vendor === 'openai' ? openAiRange(url.searchParams) : anthropicRange(url.searchParams);
      if (typeof range === 'string') return (send(400, errorBody(route.vendor, 'invalid_request_error', range)), true);
      const groupBy = url.searchParams.getAll('group_by[]');
      const buckets = bucketsOf(range.start, range.end);
      const first = pageIndex(url.searchParams.get('page'));
      if (first === undefined) return (send(400, errorBody(route.vendor, 'invalid_request_error', 'page: not a page token of this report')), true);
      const limit = Math.min(PAGE_SIZE, Number(url.searchParams.get('limit') ?? PAGE_SIZE) || PAGE_SIZE);
      const page = buckets.slice(first, first + limit);
      const hasMore = first + limit < buckets.length;
      const data = page.map(([start, end]) => route.bucket(standIn, start, end, groupBy));
      const body =
        route.vendor === 'openai'
          ? { object: 'page', data, has_more: hasMore, next_page: hasMore ? pageToken(first + limit) : null }
          : { data, has_more: hasMore, next_page: hasMore ? pageToken(first + limit) : null };
      send(200, body);
      return true;
    },
  };
  return standIn;
}

type BucketOf = (standIn: AdminStandIn, start: number, end: number, groupBy: string[]) => unknown;

const ROUTES: Record<string, { vendor: AdminVendor; bucket: BucketOf }> = {
  '/v1/organization/usage/completions': { vendor: 'openai', bucket: openAiUsageBucket },
  '/v1/organization/costs': { vendor: 'openai', bucket: openAiCostBucket },
  '/v1/organizations/usage_report/messages': { vendor: 'anthropic', bucket: anthropicUsageBucket },
  '/v1/organizations/cost_report': { vendor: 'anthropic', bucket: anthropicCostBucket },
};

function errorBody(vendor: AdminVendor, type: string, message: string): unknown {
  return vendor === 'openai' ? { error: { message, type, param: null, code: null } } : { type: 'error', error: { type, message } };
}

function openAiRange(query: URLSearchParams): { start: number; end: number } | string {
  const start = Number(query.get('start_time'));
  if (!query.get('start_time') || !Number.isInteger(start)) return 'start_time is required (Unix seconds)';
  if ((query.get('bucket_width') ?? '1d') !== '1d') return 'this stand-in serves bucket_width=1d only';
  const end = query.get('end_time') ? Number(query.get('end_time')) : Math.ceil(Date.now() / 1000);
  return { start: start * 1000, end: end * 1000 };
}

function anthropicRange(query: URLSearchParams): { start: number; end: number } | string {
  const start = Date.parse(query.get('starting_at') ?? '');
  if (Number.isNaN(start)) return 'starting_at is required (RFC 3339)';
  const end = query.get('ending_at') ? Date.parse(query.get('ending_at')!) : Date.now();
  if (Number.isNaN(end)) return 'ending_at must be RFC 3339';
  return { start, end };
}

/** Daily buckets over [start, end): the first starts at `start` itself, the rest at midnights (UTC). */
function bucketsOf(start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  for (let at = start; at < end;) {
    const next = (Math.floor(at / DAY_MS) + 1) * DAY_MS;
    out.push([at, next]);
    at = next;
  }
  return out;
}

function pageToken(index: number): string {
  return `page_${Buffer.from(`bucket:${index}`).toString('base64')}`;
}

function pageIndex(token: string | null): number | undefined {
  if (token === null) return 0;
  const match = /^page_(.+)$/.exec(token);
  const decoded = match ? /^bucket:(\d+)$/.exec(Buffer.from(match[1], 'base64').toString()) : null;
  return decoded ? Number(decoded[1]) : undefined;
}

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The day's entries, one per model when grouped by model, else one sum with `model` null. */
function entries(standIn: AdminStandIn, vendor: AdminVendor, start: number, byModel: boolean): OrgDay[] {
  const day = dayOf(start);
  const days = standIn.usage[vendor].filter((d) => d.day === day);
  if (byModel || days.length === 0) return days;
  return [
    days.reduce<OrgDay>(
      (sum, d) => ({
        day: sum.day,
        model: '',
        input: sum.input + d.input,
        output: sum.output + d.output,
        cachedInput: (sum.cachedInput ?? 0) + (d.cachedInput ?? 0),
        cacheWrite5m: (sum.cacheWrite5m ?? 0) + (d.cacheWrite5m ?? 0),
        cacheWrite1h: (sum.cacheWrite1h ?? 0) + (d.cacheWrite1h ?? 0),
        requests: (sum.requests ?? 0) + requestsOf(d),
      }),
      { day, model: '', input: 0, output: 0 },
    ),
  ];
}

function requestsOf(d: OrgDay): number {
  return d.requests ?? Math.max(1, Math.round(d.input / 1000));
}

/** What a day of a model costs at its rate, per kind of token (USD); null for a model without a rate. */
function costOf(standIn: AdminStandIn, d: OrgDay): { input: number; cached: number; cacheWrite: number; output: number } | null {
  const rate = standIn.rates[d.model];
  if (!rate) return null;
  const cached = d.cachedInput ?? 0;
  const written = (d.cacheWrite5m ?? 0) + (d.cacheWrite1h ?? 0);
  return {
    input: ((d.input - cached - written) * rate.input) / 1e6,
    cached: (cached * rate.cached) / 1e6,
    cacheWrite: (written * rate.cacheWrite) / 1e6,
    output: (d.output * rate.output) / 1e6,
  };
}

function openAiUsageBucket(standIn: AdminStandIn, start: number, end: number, groupBy: string[]): unknown {
  const byModel = groupBy.includes('model');
  return {
    object: 'bucket',
    start_time: Math.floor(start / 1000),
    end_time: Math.floor(end / 1000),
    results: entries(standIn, 'openai', start, byModel).map((d) => ({
      object: 'organization.usage.completions.result',
      input_tokens: d.input,
      output_tokens: d.output,
      input_cached_tokens: d.cachedInput ?? 0,
      input_audio_tokens: 0,
      output_audio_tokens: 0,
      num_model_requests: requestsOf(d),
      project_id: null,
      user_id: null,
      api_key_id: null,
      model: byModel ? d.model : null,
      batch: null,
    })),
  };
}

function openAiCostBucket(standIn: AdminStandIn, start: number, end: number, groupBy: string[]): unknown {
  const byLine = groupBy.includes('line_item');
  const lines: { line: string; usd: number }[] = [];
  const day = dayOf(start);
  for (const d of standIn.usage.openai.filter((x) => x.day === day)) {
    const cost = costOf(standIn, d);
    if (!cost) continue;
    lines.push(
      { line: `${d.model}, input`, usd: cost.input },
      { line: `${d.model}, cached input`, usd: cost.cached },
      { line: `${d.model}, output`, usd: cost.output },
    );
  }
  // A line that names no model, as tool calls' are: not any model's cost.
  if (lines.length) lines.push({ line: 'web search tool calls', usd: 0.025 });
  const results = byLine
    ? lines.map(({ line, usd }) => ({ object: 'organization.costs.result', amount: { value: usd, currency: 'usd' }, line_item: line, project_id: null }))
    : lines.length
      ? [{ object: 'organization.costs.result', amount: { value: lines.reduce((a, l) => a + l.usd, 0), currency: 'usd' }, line_item: null, project_id: null }]
      : [];
  return { object: 'bucket', start_time: Math.floor(start / 1000), end_time: Math.floor(end / 1000), results };
}

function anthropicUsageBucket(standIn: AdminStandIn, start: number, end: number, groupBy: string[]): unknown {
  const byModel = groupBy.includes('model');
  return {
    starting_at: new Date(start).toISOString().replace('.000Z', 'Z'),
    ending_at: new Date(end).toISOString().replace('.000Z', 'Z'),
    results: entries(standIn, 'anthropic', start, byModel).map((d) => ({
      uncached_input_tokens: d.input - (d.cachedInput ?? 0) - (d.cacheWrite5m ?? 0) - (d.cacheWrite1h ?? 0),
      cache_creation: { ephemeral_1h_input_tokens: d.cacheWrite1h ?? 0, ephemeral_5m_input_tokens: d.cacheWrite5m ?? 0 },
      cache_read_input_tokens: d.cachedInput ?? 0,
      output_tokens: d.output,
      server_tool_use: { web_search_requests: 0 },
      api_key_id: null,
      workspace_id: null,
      model: byModel ? d.model : null,
      service_tier: null,
      context_window: null,
    })),
  };
}

function anthropicCostBucket(standIn: AdminStandIn, start: number, end: number, groupBy: string[]): unknown {
  const byDescription = groupBy.includes('description');
  const results: unknown[] = [];
  /** Cents as a decimal string, as the cost report sends them: "123.45" is $1.2345. */
  const cents = (usd: number) => String(Number((usd * 100).toFixed(6)));
  let total = 0;
  const day = dayOf(start);
  for (const d of standIn.usage.anthropic.filter((x) => x.day === day)) {
    const cost = costOf(standIn, d);
    if (!cost) continue;
    const parts: [string, string, number][] = [
      ['uncached_input_tokens', 'Input Tokens', cost.input],
      ['cache_read_input_tokens', 'Cache Read Tokens', cost.cached],
      ['cache_creation.ephemeral_5m_input_tokens', 'Cache Write Tokens', cost.cacheWrite],
      ['output_tokens', 'Output Tokens', cost.output],
    ];
    for (const [tokenType, what, usd] of parts) {
      total += usd;
      if (byDescription)
        results.push({
          amount: cents(usd),
          currency: 'USD',
          context_window: '0-200k',
          cost_type: 'tokens',
          description: `${d.model} Usage - ${what}`,
          model: d.model,
          service_tier: 'standard',
          token_type: tokenType,
          workspace_id: null,
        });
    }
  }
  if (!byDescription && total > 0)
    results.push({
      amount: cents(total),
      currency: 'USD',
      context_window: null,
      cost_type: null,
      description: null,
      model: null,
      service_tier: null,
      token_type: null,
      workspace_id: null,
    });
  return { starting_at: new Date(start).toISOString().replace('.000Z', 'Z'), ending_at: new Date(end).toISOString().replace('.000Z', 'Z'), results };
}

export interface AdminServer extends AdminStandIn {
  /** OPENAI_BASE_URL (ends in /v1). */
  openaiUrl: string;
  /** ANTHROPIC_BASE_URL. */
  anthropicUrl: string;
  close(): Promise<void>;
}

/** The admin stand-in alone on a loopback port. */
export async function startAdminServer(): Promise<AdminServer> {
  const standIn = createAdminStandIn();
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    req.resume();
    req.on('end', () => {
      if (!standIn.handle(req.method ?? 'GET', req.url ?? '/', req.headers, res)) res.writeHead(404).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(standIn, {
    openaiUrl: `http://127.0.0.1:${port}/v1`,
    anthropicUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
