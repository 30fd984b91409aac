/**
 * The REST side of the live API under /v1: each route maps onto the handler table (`server/engine/handlers.ts`), so
 * validation, scopes and error codes are the ones every transport shares; the streams (SSE, export) are
 * HTTP's own.
 */
import type * as http from 'node:http';
import { dispatch, EngineMethod } from '../engine/handlers';
import type { Engine } from '../engine/engine';
import { API_PREFIX, Scope } from '../protocol/api';
import { Methods } from '../protocol/methods';
import { parseExportQuery, streamExport, usageExport } from './export';
import { ApiError, readJson, sendJson } from './http';
import { serialized, Sink, Watchers } from './stream';

export interface RouteContext {
  engine: Engine;
  watchers: Watchers;
  log?: (message: string) => void;
}

interface Call {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  scope: Scope;
  token: string;
  /** The `:runId` of `/runs/:runId`. */
  runId?: string;
  /** The `:evalId` of `/evals/:evalId`. */
  evalId?: string;
}

/** A route: a table method and how its answer goes out, or an HTTP stream. */
type Route =
  | {
      method: EngineMethod;
      status?: number;
      /** The method's params, or a promise of them (a body still to read). */
      params?: (call: Call) => unknown;
      answer?: (result: never, call: Call, ctx: RouteContext) => unknown;
    }
  | { stream: (call: Call, ctx: RouteContext) => Promise<void> | void };

const ROUTES: Record<string, Partial<Record<string, Route>>> = {
  '/events': { GET: { stream: sse } },
  '/export': { GET: { stream: exportStream } },
  '/stats': { GET: { method: Methods.stats } },
  '/rollups': { GET: { method: Methods.rollups, params: ({ url }) => rollupsQuery(url.searchParams) } },
  '/runs': {
    GET: { method: Methods.runs, params: ({ url }) => runsQuery(url.searchParams) },
    POST: { method: Methods.startRun, status: 201, params: async ({ req }) => bodyObject(await readJson(req)) },
  },
  '/runs/:runId': { DELETE: { method: Methods.cancelRun, params: ({ runId }) => ({ runId }), answer: cancelled } },
  '/runs/:runId/changes': { GET: { method: Methods.runChanges, params: ({ runId }) => ({ runId }) } },
  '/runs/:runId/undo': { POST: { method: Methods.undoRun, params: async (call) => ({ ...(await optionalBody(call)), runId: call.runId }) } },
  '/runs/:runId/restore': { POST: { method: Methods.restoreAttempt, params: async (call) => ({ ...(await optionalBody(call)), runId: call.runId }) } },
  '/runs/:runId/resume': { POST: { method: Methods.resumeRun, status: 201, params: async (call) => ({ ...(await optionalBody(call)), runId: call.runId }) } },
  '/provider-usage': { GET: { method: Methods.providerUsage, params: ({ url }) => usageQuery(url.searchParams) } },
  '/evals': {
    GET: { method: Methods.evals },
    POST: { method: Methods.startEval, status: 201, params: async ({ req }) => bodyObject(await readJson(req)) },
  },
  '/evals/:evalId': {
    GET: { method: Methods.eval, params: ({ evalId }) => ({ evalId }) },
    DELETE: { method: Methods.cancelEval, params: ({ evalId }) => ({ evalId }) },
  },
  '/tests': { POST: { method: Methods.writeTests, params: async ({ req }) => bodyObject(await readJson(req)) } },
};

/** Routes an admitted request; throws ApiError or the handlers' errors for the caller to answer. */
export async function route(ctx: RouteContext, call: Omit<Call, 'runId' | 'evalId'>): Promise<void> {
  const pathname = call.url.pathname.slice(API_PREFIX.length);
  const runMatch = /^\/runs\/([\w-]{1,64})(\/[a-z]+)?$/.exec(pathname);
  const evalMatch = /^\/evals\/([\w-]{1,64})$/.exec(pathname);
  const key = runMatch ? `/runs/:runId${runMatch[2] ?? ''}` : evalMatch ? '/evals/:evalId' : pathname;
  const routes = ROUTES[key] ?? (pathname === '/ws' ? {} : undefined);
  if (!routes) throw new ApiError(404, `no such endpoint: ${call.url.pathname}`);
  const found = routes[call.req.method ?? ''];
  if (!found) throw new ApiError(405, `${call.req.method} is not allowed on ${call.url.pathname}`);
  const full: Call = { ...call, runId: runMatch?.[1], evalId: evalMatch?.[1] };
  if ('stream' in found) return found.stream(full, ctx);
  const params = found.params ? await found.params(full) : undefined;
  const result = await dispatch(ctx.engine, found.method, params, call.scope);
  sendJson(call.res, found.status ?? 200, found.answer ? found.answer(result as never, full, ctx) : result);
}

/** `DELETE /runs/:runId` says why nothing was cancelled: no such run (404) or already over (409). */
function cancelled(result: { cancelled: boolean }, { runId }: Call, { engine }: RouteContext): unknown {
  if (result.cancelled) return result;
  if (runId && engine.run(runId)) throw new ApiError(409, `run ${runId} is already over`);
  throw new ApiError(404, `no run ${runId}`);
}

/** A POST body that may be empty (`undo` with no options). */
async function optionalBody({ req }: Call): Promise<object> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length === 0 && req.headers['transfer-encoding'] === undefined) return {};
  return bodyObject(await readJson(req)) as object;
}

/** `?limit=&before=`: `before` is a run id, or a time in ms when it is all digits (run ids never are). */
function runsQuery(query: URLSearchParams): unknown {
  const limit = query.get('limit');
  const before = query.get('before');
  if (limit !== null && !/^\d{1,9}$/.test(limit)) throw new ApiError(400, `limit must be a whole number, not "${limit}"`);
  return {
    ...(limit === null ? {} : { limit: Number(limit) }),
    ...(before === null || before === '' ? {} : { before: /^\d{1,16}$/.test(before) ? Number(before) : before }),
  };
}

/** `?sinceTs=&untilTs=&bucketMs=&sketches=`: whole numbers and true/false; the handler checks the ranges. */
function rollupsQuery(query: URLSearchParams): unknown {
  const params: Record<string, unknown> = {};
  for (const [key, value] of query) {
    if (key === 'sinceTs' || key === 'untilTs' || key === 'bucketMs') {
      if (!/^\d{1,16}$/.test(value)) throw new ApiError(400, `${key} must be a whole number of ms, not "${value}"`);
      params[key] = Number(value);
    } else if (key === 'sketches') {
      if (value !== 'true' && value !== 'false') throw new ApiError(400, `sketches must be true or false, not "${value}"`);
      params.sketches = value === 'true';
    } else throw new ApiError(400, `unknown query parameter ${key} (allowed: sinceTs, untilTs, bucketMs, sketches)`);
  }
  return params;
}

/** `?since=<days>&provider=`: the handler checks the range and the name. */
function usageQuery(query: URLSearchParams): unknown {
  const params: Record<string, unknown> = {};
  for (const [key, value] of query) {
    if (key === 'since') {
      if (!/^\d{1,9}$/.test(value)) throw new ApiError(400, `since must be a whole number of days, not "${value}"`);
      params.sinceDays = Number(value);
    } else if (key === 'provider') params.provider = value;
    else throw new ApiError(400, `unknown query parameter ${key} (allowed: since, provider)`);
  }
  return params;
}

function bodyObject(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, 'the body must be a JSON object');
  return value;
}

/** `GET /v1/events`: SSE from `afterSeq` or `Last-Event-ID`, each event with `id:` = seq. */
function sse({ req, res, url, token }: Call, { watchers, log }: RouteContext): void {
  const afterSeq = seqParam(req.headers['last-event-id'] ?? url.searchParams.get('afterSeq'));
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write(': micro-agent events\n\n');
  const sink: Sink = {
    write: (event, done) => void res.write(`id: ${event.seq}\ndata: ${serialized(event)}\n\n`, done),
    buffered: () => res.writableLength + (res.socket?.writableLength ?? 0),
    close: (reason) => {
      log?.(`api: dropped an SSE client: ${reason}`);
      res.destroy();
    },
  };
  watchers.watch(sink, afterSeq, token, () => res.destroy(), res);
}

/** `GET /v1/export`: streamed page by page, each written only once the previous one left. */
async function exportStream({ res, url, scope }: Call, { engine }: RouteContext): Promise<void> {
  const query = parseExportQuery(url.searchParams);
  // Not from the log: the vendors' reports reconciled with it, fetched before the answer starts so a refusal is a status.
  const usage = query.dataset === 'provider_usage' ? await dispatch(engine, Methods.providerUsage, { sinceDays: query.sinceDays }, scope) : undefined;
  const name = `micro-agent-${query.dataset}.${query.format}`;
  res.writeHead(200, {
    'content-type': query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
  });
  if (usage) res.write(usageExport(usage, query));
  else await streamExport(engine.log, query, (chunk) => new Promise((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : resolve()))));
  res.end();
}

export function seqParam(value: string | string[] | null | undefined): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new ApiError(400, `afterSeq / Last-Event-ID must be a whole number ≥ 0, not "${String(value)}"`);
  return n;
}
