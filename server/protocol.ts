/**
 * The contract between the micro-agent host, the CLI, the extension and the webview.
 *
 * Every custom LSP method is a namespace with its `method` name and a typed `RequestType` or
 * `NotificationType` (the vscode-eslint `customMessages.ts` style). The event union and the stats shape
 * live here too, so no part re-declares them. Keep this file free of runtime dependencies other than the
 * jsonrpc message-type constructors: the webview imports its types.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

// ---------------------------------------------------------------------------------------------------------
// Providers and settings

export const PROVIDERS = ['openai', 'anthropic', 'ollama'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value);
}

/** The `devAi` configuration section, as the host reads it. Every field is optional: the environment fills gaps. */
export interface DevAiSettings {
  provider?: ProviderName;
  review?: ReviewSettings;
  /** Run the tests after each save and start micro-agent on the saved file when they fail. Off by default. */
  autoFix?: boolean;
  model?: string;
  maxRuns?: number;
  testCommand?: string;
  testTimeoutSec?: number;
  budgetUsd?: number;
  logPath?: string;
  ollamaUrl?: string;
  api?: ApiSettings;
}

/** `devAi.api.*`: the live API served by the host, as `micro-agent serve` does without an editor. */
export interface ApiSettings {
  /** Off by default; never in an untrusted workspace. */
  enabled?: boolean;
  /** Loopback port; 0 (the default) picks a free one. */
  port?: number;
}

/** `devAi.review.*` */
export interface ReviewSettings {
  /** Review a file each time it is saved. Off by default. */
  onSave?: boolean;
  /** Files larger than this are refused, never truncated (default 64). */
  maxFileKb?: number;
  /** Stop reviewing for the rest of the hour once review calls have cost this much (default 0.5; 0 = no limit). */
  hourlyBudgetUsd?: number;
  /** Reviews running at once (default 2). */
  concurrency?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Events: every action the engine takes, appended to the JSONL log and pushed live.

/** Why a model call failed. `retryable` kinds are retried with backoff before they surface. */
export type ProviderErrorKind =
  | 'auth'
  | 'rate_limit'
  | 'timeout'
  | 'server'
  | 'network'
  | 'bad_response'
  | 'invalid_request'
  | 'cancelled';

export type RunOutcome = 'passed' | 'failed' | 'cancelled' | 'error';

/** Why a run stopped; `outcome` says whether that counts as passed, failed, cancelled or error. */
export type StopReason =
  | 'tests_passed'
  | 'max_runs'
  | 'budget_usd'
  | 'budget_time'
  | 'cancelled'
  | 'provider_error'
  | 'internal_error'
  | 'interrupted';

/** Why a model reply was not written to the file. */
export type RejectReason = 'no_code_block' | 'empty' | 'truncated' | 'unchanged';

interface EventBase {
  /** Strictly increasing across the whole log, also across host restarts. */
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
  runId?: string;
}

export interface RunStartedEvent extends EventBase {
  type: 'run.started';
  runId: string;
  /** Workspace-relative path, `/`-separated. */
  file: string;
  testCommand: string;
  provider: ProviderName;
  model: string;
  maxRuns: number;
  budgetUsd: number | null;
  budgetMs: number | null;
  prompt: string | null;
  /** Where the untouched original is kept (workspace-relative). */
  originalPath: string;
  /** The process running the loop, so another process sharing the log can tell a live run from a dead one. */
  pid: number;
}

export interface RunIterationEvent extends EventBase {
  type: 'run.iteration';
  runId: string;
  iteration: number;
  maxRuns: number;
}

export interface LlmRequestEvent extends EventBase {
  type: 'llm.request';
  callId: string;
  provider: ProviderName;
  model: string;
  iteration: number | null;
  /** Size of what was sent, in characters (tokens are only known from the vendor's usage). */
  promptChars: number;
  /** The start of the user message, for the dashboard. */
  promptPreview: string;
}

export interface LlmResponseEvent extends EventBase {
  type: 'llm.response';
  callId: string;
  provider: ProviderName;
  model: string;
  iteration: number | null;
  latencyMs: number;
  /** Null when no token arrived. */
  ttftMs: number | null;
  /** From the vendor's own usage fields; null when the vendor did not report them. */
  inputTokens: number | null;
  outputTokens: number | null;
  /** Null when the model is not in the price table (never a made-up 0). */
  costUsd: number | null;
  retries: number;
  ok: boolean;
  finishReason: 'stop' | 'length' | 'other' | null;
  responsePreview: string;
  error?: { kind: ProviderErrorKind; message: string; status?: number };
}

export interface TestStartedEvent extends EventBase {
  type: 'test.started';
  runId: string;
  iteration: number;
  command: string;
}

export interface TestFinishedEvent extends EventBase {
  type: 'test.finished';
  runId: string;
  iteration: number;
  /** Null when the process was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  passed: boolean;
  timedOut: boolean;
  cancelled: boolean;
  /** The last part of stdout and stderr, interleaved as they arrived. */
  outputTail: string;
}

export interface EditAppliedEvent extends EventBase {
  type: 'edit.applied';
  runId: string;
  iteration: number;
  file: string;
  bytes: number;
  linesAdded: number;
  linesRemoved: number;
  /** Unified diff against the file as it was before this attempt, capped at 8,000 characters. */
  diff: string;
  /** The attempt as written, kept under the run's folder (workspace-relative). */
  attemptPath: string;
}

export interface EditRejectedEvent extends EventBase {
  type: 'edit.rejected';
  runId: string;
  iteration: number;
  reason: RejectReason;
  message: string;
}

export interface RunFinishedEvent extends EventBase {
  type: 'run.finished';
  runId: string;
  outcome: RunOutcome;
  reason: StopReason;
  iterations: number;
  /** Sum of the priced calls; `unpricedCalls` says how many calls had no known price. */
  costUsd: number;
  unpricedCalls: number;
  durationMs: number;
  /** True when the original file was put back. */
  restored: boolean;
  error?: string;
  /** Set when a model call failed for good (`reason` provider_error). */
  errorKind?: ProviderErrorKind;
}

export interface LogEvent extends EventBase {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Something the user should know now: raised by the host, shown as a notification by the extension. */
export interface AlertEvent extends EventBase {
  type: 'alert';
  kind: 'budget' | 'error_rate' | 'latency';
  message: string;
  provider?: ProviderName;
  model?: string;
}

export interface ReviewStartedEvent extends EventBase {
  type: 'review.started';
  reviewId: string;
  file: string;
  provider: ProviderName;
  model: string;
}

export interface ReviewFinishedEvent extends EventBase {
  type: 'review.finished';
  reviewId: string;
  file: string;
  /** Findings published (after dropping invalid ones and those the user ignored). */
  findings: number;
  /** Findings the model gave that did not fit the document, with why. */
  dropped: string[];
  /** Served from the cache: no model call. */
  cached: boolean;
  outcome: 'ok' | 'cancelled' | 'error';
  error?: string;
}

export type AgentEvent =
  | AlertEvent
  | ReviewStartedEvent
  | ReviewFinishedEvent
  | RunStartedEvent
  | RunIterationEvent
  | LlmRequestEvent
  | LlmResponseEvent
  | TestStartedEvent
  | TestFinishedEvent
  | EditAppliedEvent
  | EditRejectedEvent
  | RunFinishedEvent
  | LogEvent;

export type AgentEventType = AgentEvent['type'];

/** What a producer hands to the log: the log assigns `seq` and `ts`. */
export type EventInput = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'seq' | 'ts'> : never) : never;

// ---------------------------------------------------------------------------------------------------------
// Stats: aggregated from the log, the same shape for LSP, CLI and later the HTTP API.

export interface ProviderStats {
  provider: ProviderName;
  model: string;
  calls: number;
  errors: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  p50TtftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  /** Sum over priced calls; null when none of the calls had a known price. */
  costUsd: number | null;
  unpricedCalls: number;
}

export interface RunTotals {
  total: number;
  running: number;
  passed: number;
  failed: number;
  cancelled: number;
  error: number;
  /** passed / finished; null before any run finished. */
  passRate: number | null;
  meanIterationsToPass: number | null;
  costUsd: number;
}

export interface Stats {
  providers: ProviderStats[];
  runs: RunTotals;
}

export interface RunSummary {
  runId: string;
  file: string;
  provider: ProviderName;
  model: string;
  startedAt: number;
  /** `running` until the run finishes, then its outcome. */
  status: 'running' | RunOutcome;
  reason: StopReason | null;
  iterations: number;
  costUsd: number;
  finishedAt: number | null;
  /** The process running (or that ran) it. */
  pid: number;
}

// ---------------------------------------------------------------------------------------------------------
// LSP requests and notifications

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
}
export interface StartRunResult {
  runId: string;
}
export namespace StartRunRequest {
  export const method = 'microAgent/startRun';
  export const type = new RequestType<StartRunParams, StartRunResult, void>(method);
}

export interface CancelRunParams {
  runId: string;
}
export interface CancelRunResult {
  /** False when the run is unknown or already finished. */
  cancelled: boolean;
}
export namespace CancelRunRequest {
  export const method = 'microAgent/cancelRun';
  export const type = new RequestType<CancelRunParams, CancelRunResult, void>(method);
}

export interface RunsResult {
  runs: RunSummary[];
}
export namespace RunsRequest {
  export const method = 'microAgent/runs';
  export const type = new RequestType0<RunsResult, void>(method);
}

export namespace StatsRequest {
  export const method = 'microAgent/stats';
  export const type = new RequestType0<Stats, void>(method);
}

export interface EventsParams {
  /** Return events with seq greater than this (default 0: from the start). */
  afterSeq?: number;
  /** At most this many (default and maximum 5000). */
  limit?: number;
}
export interface EventsResult {
  events: AgentEvent[];
  /** The newest seq in the log, so a client knows whether to ask again. */
  lastSeq: number;
}
export namespace EventsRequest {
  export const method = 'microAgent/events';
  export const type = new RequestType<EventsParams, EventsResult, void>(method);
}

export interface SpendParams {
  /** Sum the calls made at or after this time (ms since the epoch), e.g. the user's local midnight. */
  sinceTs: number;
}
export interface SpendResult {
  costUsd: number;
  calls: number;
}
/** What the model calls cost since a moment: the status bar's "today". */
export namespace SpendRequest {
  export const method = 'microAgent/spend';
  export const type = new RequestType<SpendParams, SpendResult, void>(method);
}

/** The live API the host serves while `devAi.api.enabled` is on. */
export interface ApiStatus {
  url: string;
  /** `<workspace>/.micro-agent/api.json`, where scripts find the tokens. */
  infoFile: string;
  /** Signs a browser in to the dashboard page; minted per request, works once, for 10 minutes. */
  dashboardUrl: string;
}
/** null while the API is off (or could not start: the host's log says why). */
export namespace ApiStatusRequest {
  export const method = 'microAgent/apiStatus';
  export const type = new RequestType0<ApiStatus | null, void>(method);
}

/** What the extension passes in `initializationOptions` when it starts the host. */
export interface HostInitializationOptions {
  /** False in an untrusted workspace: no test commands, no file writes. Default true. */
  trusted?: boolean;
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
/** Reviews an open (or on-disk) file and publishes the findings as diagnostics with source `dev-ai`. */
export namespace ReviewRequest {
  export const method = 'microAgent/review';
  export const type = new RequestType<ReviewParams, ReviewResult, void>(method);
}

/** Host command (workspace/executeCommand): forget a finding for good. Arguments: [uri, fingerprint]. */
export const IGNORE_FINDING_COMMAND = 'microAgent.ignoreFinding';

/** Every event, live, as it is appended to the log. */
export namespace EventNotification {
  export const method = 'microAgent/event';
  export const type = new NotificationType<AgentEvent>(method);
}

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

// ---------------------------------------------------------------------------------------------------------
// Dashboard webview <-> extension messages (postMessage). The extension validates everything it receives.

export type ToWebview =
  /** Events to ingest: history pages and live events alike. They may overlap; the store dedupes by seq. */
  | { type: 'events'; events: AgentEvent[] }
  /** The editor's context: the file a Start Run would fix, and whether runs are allowed at all. */
  | { type: 'context'; activeFile: string | null; trusted: boolean; budgetUsd: number | null };

export type FromWebview =
  /** The webview (re)loaded and holds events up to `afterSeq`: send the history after it, then live events. */
  | { type: 'ready'; afterSeq: number }
  | { type: 'startRun' }
  | { type: 'cancelRun'; runId: string }
  /** Workspace-relative path of a run's file. */
  | { type: 'openFile'; file: string };

/** The only messages the extension acts on; anything else from the webview is dropped. */
export function parseFromWebview(value: unknown): FromWebview | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  const keys = Object.keys(message).sort().join(',');
  switch (message.type) {
    case 'ready':
      return keys === 'afterSeq,type' && Number.isSafeInteger(message.afterSeq) && (message.afterSeq as number) >= 0 ? { type: 'ready', afterSeq: message.afterSeq as number } : undefined;
    case 'startRun':
      return keys === 'type' ? { type: 'startRun' } : undefined;
    case 'cancelRun':
      return keys === 'runId,type' && typeof message.runId === 'string' && /^[\w-]{1,64}$/.test(message.runId) ? { type: 'cancelRun', runId: message.runId } : undefined;
    case 'openFile':
      return keys === 'file,type' && typeof message.file === 'string' && message.file.length > 0 && message.file.length < 4096 && !message.file.includes('\0') ? { type: 'openFile', file: message.file } : undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Live API (`micro-agent serve`): the same requests over HTTP under /v1 and over a WebSocket as JSON-RPC 2.0.
// ---------------------------------------------------------------------------------------------------------

export const API_PREFIX = '/v1';

/** `<workspace>/.micro-agent/api.json` (mode 0600), written by a running API server. */
export interface ApiInfo {
  url: string;
  /** Full scope: watch, export, start and cancel runs. */
  token: string;
  /** Read-only scope: watch and export. */
  readToken: string;
  pid: number;
}

/** `POST /v1/runs`: the external trigger. `file` is workspace-relative (or absolute inside the workspace). */
export interface ApiStartRunBody {
  file: string;
  testCommand?: string;
  prompt?: string;
  maxRuns?: number;
  provider?: ProviderName;
  model?: string;
}
/** `201` answer to `POST /v1/runs`. */
export type ApiStartRunResponse = StartRunResult;
/** `GET /v1/runs`. */
export type ApiRunsResponse = RunsResult;
/** `GET /v1/stats`: the same shape as `microAgent/stats`. */
export type ApiStatsResponse = Stats;
/** `DELETE /v1/runs/<runId>`. */
export type ApiCancelRunResponse = CancelRunResult;

/** Every non-2xx answer. */
export interface ApiErrorBody {
  error: { status: number; message: string };
}

/** `GET /v1/export?format=&from=&to=&type=` */
export type ExportFormat = 'jsonl' | 'csv';
/** What to export: every event (optionally one event type), one row per LLM call, or one row per finished run. */
export type ExportDataset = 'events' | 'llm_calls' | 'runs';

/** WebSocket subprotocol a browser offers beside its token (`new WebSocket(url, [API_WS_PROTOCOL, token])`). */
export const API_WS_PROTOCOL = 'micro-agent.v1';
