/**
 * The live API (`micro-agent serve`): the host's requests over HTTP under /v1 and over a WebSocket as JSON-RPC
 * 2.0. Routes, bodies and names; the handlers are the host's (`server/engine/handlers.ts`).
 */
import type { CancelRunResult, RunsResult, StartRunResult } from './methods';
import type { Stats } from './events';
import type { ProviderName } from './providers';
import type { ProviderUsageResult } from './providerUsage';

export const API_PREFIX = '/v1';

/** What a token allows: `full` watches, exports, starts and cancels runs; `read` only watches and exports. */
export type Scope = 'full' | 'read';

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
/** `GET /v1/runs?limit=&before=`: a page of `microAgent/runs`. */
export type ApiRunsResponse = RunsResult;
/** `GET /v1/stats`: the same shape as `microAgent/stats`. */
export type ApiStatsResponse = Stats;
/** `DELETE /v1/runs/<runId>`. */
export type ApiCancelRunResponse = CancelRunResult;

/** Every non-2xx answer. */
export interface ApiErrorBody {
  /**
   * `code`: an engine refusal's JSON-RPC error code (`ErrorCodes`), the same on every transport; `files`: with 409
   * from undo/restore/resume, the files changed since the run (pass `force` to overwrite them).
   */
  error: { status: number; message: string; code?: number; files?: string[] };
}

/** `GET /v1/export?format=&from=&to=&type=` */
export type ExportFormat = 'jsonl' | 'csv';
/**
 * What to export: every event (optionally one event type), one row per LLM call, one row per finished run, or one
 * row per UTC day × provider × model of the vendors' usage reconciled with the log (`provider_usage`, `since=<days>`).
 */
export type ExportDataset = 'events' | 'llm_calls' | 'runs' | 'provider_usage';
/** `GET /v1/provider-usage?since=<days>&provider=`: the same object as `microAgent/providerUsage` and `usage --json`. */
export type ApiProviderUsageResponse = ProviderUsageResult;

/** WebSocket subprotocol a browser offers beside its token (`new WebSocket(url, [API_WS_PROTOCOL, token])`). */
export const API_WS_PROTOCOL = 'micro-agent.v1';
