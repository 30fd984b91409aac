/**
 * The host's requests: method names, params and results, and the error codes they answer with. Plain values
 * and types only, so the webview and the live API share them without the jsonrpc runtime; `lsp.ts` wraps
 * them as typed vscode-jsonrpc messages for the LSP connection and client.
 */
import type { AgentEvent, RunSummary, Stats } from './events';
import type { ProviderName } from './providers';

export const Methods = {
  startRun: 'microAgent/startRun',
  cancelRun: 'microAgent/cancelRun',
  runs: 'microAgent/runs',
  stats: 'microAgent/stats',
  events: 'microAgent/events',
  spend: 'microAgent/spend',
  rollups: 'microAgent/rollups',
  apiStatus: 'microAgent/apiStatus',
  review: 'microAgent/review',
  /** Notification: every event, live, as it is appended to the log. */
  event: 'microAgent/event',
} as const;

export interface StartRunParams {
  /** A `file:` URI inside the workspace. */
  uri: string;
  testCommand?: string;
  prompt?: string;
  maxRuns?: number;
  provider?: ProviderName;
  model?: string;
  /** Keep the last attempt in place when the run does not pass. */
  keep?: boolean;
  /** Test files to show the model (workspace paths), read-only. */
  testFiles?: string[];
  /** Files to show besides the target's local imports (workspace paths). */
  contextFiles?: string[];
  /** Characters of context files a prompt may hold (default `devAi.contextBudget`). */
  contextBudget?: number;
}
export interface StartRunResult {
  runId: string;
}

export interface CancelRunParams {
  runId: string;
}
export interface CancelRunResult {
  /** False when the run is unknown or already finished. */
  cancelled: boolean;
}

/** Default and maximum page of `microAgent/runs`; a call without params gets the newest `DEFAULT` runs. */
export const RUNS_PAGE = { DEFAULT: 100, MAX: 1000 } as const;

export interface RunsParams {
  /** At most this many runs (default 100, at most 1000). */
  limit?: number;
  /** Runs older than this: a run id (the `nextBefore` of the previous page), or a time in ms (runs started before it). */
  before?: string | number;
}
export interface RunsResult {
  /** Newest first. */
  runs: RunSummary[];
  /** The `before` of the next (older) page; null on the last page. */
  nextBefore: string | null;
  /** True while the host is still folding the log (a rebuilt index): more runs are coming. */
  partial?: boolean;
}

export interface EventsParams {
  /** Return events with seq greater than this (default 0: from the start). */
  afterSeq?: number;
  /** At most this many (default and maximum 5000). */
  limit?: number;
  /**
   * Only this run's events, all of them, oldest first (`afterSeq` and `limit` do not apply): read from where
   * the run started, up to its `run.finished` or the log's end. Unknown run ids are refused.
   */
  runId?: string;
}
export interface EventsResult {
  events: AgentEvent[];
  /** The newest seq in the log, so a client knows whether to ask again. */
  lastSeq: number;
}

export interface SpendParams {
  /** Sum the calls made at or after this time (ms since the epoch), e.g. the user's local midnight. */
  sinceTs: number;
}
export interface SpendResult {
  costUsd: number;
  calls: number;
}

export interface RollupsParams {
  /** Only calls made, and runs started, at or after this time in ms (default 0: all of them). */
  sinceTs?: number;
  /** Bucket width in ms (at least 60,000); bucket `b` covers `[b * bucketMs, (b + 1) * bucketMs)`. Omitted: one bucket, 0. */
  bucketMs?: number;
  /** Include the latency and TTFT sketches of each bucket (default true). */
  sketches?: boolean;
}

/** The model calls of one provider/model in one time bucket, summed; sketches as in `events/sketch.ts`. */
export interface CallRollup {
  bucket: number;
  provider: ProviderName;
  model: string;
  calls: number;
  errors: number;
  latencySumMs: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  /** Sum over the priced calls (`pricedCalls` of them). */
  costUsd: number;
  pricedCalls: number;
  /** Flat `[sketch bucket, count, …]`, ascending (see `sketchValue`); absent when `sketches: false`. */
  latency?: number[];
  ttft?: number[];
}

/** The runs of one provider/model that started in one time bucket, as they stand now. */
export interface RunRollup {
  bucket: number;
  provider: ProviderName;
  model: string;
  runs: number;
  /** Runs no longer running. */
  finished: number;
  passed: number;
  /** Iterations of the passed runs, summed. */
  passIterations: number;
  costUsd: number;
}

export interface RollupsResult {
  sinceTs: number;
  bucketMs: number | null;
  /** The last seq these sums cover: a client folds the events after it to stay current. */
  lastSeq: number;
  calls: CallRollup[];
  runs: RunRollup[];
  /** True while the host is still folding the log (a rebuilt index). */
  partial?: boolean;
}

/** The live API the host serves while `devAi.api.enabled` is on. */
export interface ApiStatus {
  url: string;
  /** `<workspace>/.micro-agent/api.json`, where scripts find the tokens. */
  infoFile: string;
  /** Signs a browser in to the dashboard page; minted per request, works once, for 10 minutes. */
  dashboardUrl: string;
}

export type FindingSeverity = 'error' | 'warning' | 'info' | 'hint';

/** One review finding, as the model must answer it (lines 1-based, as in the numbered listing it is shown). */
export interface Finding {
  line: number;
  endLine: number;
  severity: FindingSeverity;
  message: string;
  /** Replaces lines line..endLine whole. */
  fix?: { replacement: string };
}

export interface ReviewParams {
  uri: string;
}
export interface ReviewResult {
  findings: Finding[];
  cached: boolean;
}

/** What each method takes and answers: the handler table and the clients are typed from it. */
export interface MethodTypes {
  [Methods.startRun]: { params: StartRunParams; result: StartRunResult };
  [Methods.cancelRun]: { params: CancelRunParams; result: CancelRunResult };
  [Methods.runs]: { params: RunsParams | void; result: RunsResult };
  [Methods.stats]: { params: void; result: Stats };
  [Methods.events]: { params: EventsParams; result: EventsResult };
  [Methods.spend]: { params: SpendParams; result: SpendResult };
  [Methods.rollups]: { params: RollupsParams | void; result: RollupsResult };
  [Methods.apiStatus]: { params: void; result: ApiStatus | null };
  [Methods.review]: { params: ReviewParams; result: ReviewResult };
}
export type MethodName = keyof MethodTypes;

/** Host command (workspace/executeCommand): forget a finding for good. Arguments: [uri, fingerprint]. */
export const IGNORE_FINDING_COMMAND = 'microAgent.ignoreFinding';

/** Error codes the host returns in JSON-RPC errors, so clients can tell refusals apart. */
export const ErrorCodes = {
  /** Bad parameters: unknown file, path outside the workspace, bad numbers. */
  InvalidParams: -32602,
  /** A run is already going on this file. */
  RunInProgress: -32001,
  /** Missing API key or other configuration needed before any call. */
  Configuration: -32002,
  /** The workspace is not trusted, so tests and writes are off. */
  Untrusted: -32003,
  /** Live API: the token's scope does not allow this request (a read-only token starting a run). */
  Forbidden: -32004,
} as const;
