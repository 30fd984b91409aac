/**
 * The host's requests: method names, params and results, and the error codes they answer with. Plain values
 * and types only, so the webview and the live API share them without the jsonrpc runtime; `lsp.ts` wraps
 * them as typed vscode-jsonrpc messages for the LSP connection and client.
 */
import type { EditQuality } from './editQuality';
import type { CancelEvalParams, CancelEvalResult, EvalParams, EvalReport, EvalsResult, StartEvalParams, StartEvalResult } from './eval';
import type { AgentEvent, KeyHeadroom, RunSummary, Stats } from './events';
import type { ProviderName } from './providers';
import type { ProviderUsageParams, ProviderUsageResult } from './providerUsage';

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
  runChanges: 'microAgent/runChanges',
  undoRun: 'microAgent/undoRun',
  restoreAttempt: 'microAgent/restoreAttempt',
  resumeRun: 'microAgent/resumeRun',
  writeTests: 'microAgent/writeTests',
  /** Read-only: the org's usage and cost from the vendors' admin APIs, reconciled with the log (`providerUsage.ts`). */
  providerUsage: 'microAgent/providerUsage',
  /** `micro-agent eval`: the evals in the log, newest first. */
  evals: 'microAgent/evals',
  /** One eval's report (leaderboard and cells), as far as it got. */
  eval: 'microAgent/eval',
  /** Starts an eval in the host (or resumes one: `resume`); progress is its `eval.*` events. */
  startEval: 'microAgent/startEval',
  /** Stops a running eval: running cells are cancelled, their copies removed; `startEval { resume }` finishes it. */
  cancelEval: 'microAgent/cancelEval',
  /** Notification: every event, live, as it is appended to the log. */
  event: 'microAgent/event',
  /** Notification, once after start-up: runs an earlier process left open (killed, crashed), now closed as `interrupted`. */
  interruptedRuns: 'microAgent/interruptedRuns',
} as const;

/** A run id's shape (letters, digits, `_` and `-`, at most 64): checked wherever one arrives, from a client or the log. */
export const RUN_ID_PATTERN = /^[\w-]{1,64}$/;

export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID_PATTERN.test(value);
}

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
  /** In a git repository, commit the files a passing run changed (only those). */
  commit?: boolean;
  /**
   * Tests first: the test file the user accepted (a `writeTests` draft, perhaps edited). The engine writes it
   * (it must not exist yet), records `tests.generated`, and runs with it as a read-only test file.
   */
  generatedTests?: GeneratedTests;
}
export interface GeneratedTests {
  /** Workspace path of the new test file. */
  testFile: string;
  contents: string;
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
  /** Set when `devAi.dailyBudgetUsd` caps the day: today's spend as every process writing the log recorded it, and the cap. */
  daily: { spentUsd: number; capUsd: number } | null;
}

export interface RollupsParams {
  /** Only calls made, and runs started, at or after this time in ms (default 0: all of them). */
  sinceTs?: number;
  /** Only calls made, and runs started, before this time in ms (default: no end). */
  untilTs?: number;
  /** Bucket width in ms (at least 60,000); bucket `b` covers `[b * bucketMs, (b + 1) * bucketMs)`. Omitted: one bucket, 0. */
  bucketMs?: number;
  /** Include the latency and TTFT sketches of each bucket (default true). */
  sketches?: boolean;
}

/** The model calls of one provider/model in one time bucket, summed; sketches as in `protocol/sketch.ts`. */
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
  /**
   * Of the calls whose server reported its generation time (Ollama's `eval_duration`), the output tokens and the
   * time spent generating them: their ratio is the window's tokens per second, weighted by what each call generated.
   */
  timedOutputTokens: number;
  generationMs: number;
  /** Calls whose server reported a model load time (Ollama's `load_duration`), and those times summed. */
  loadedCalls: number;
  loadMsSum: number;
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
  /** The runs' edit replies (`editQuality.ts`), summed; absent when none of them had its edits judged. */
  edits?: EditQuality;
}

export interface RollupsResult {
  sinceTs: number;
  /** As asked; absent when the window has no end. */
  untilTs?: number;
  bucketMs: number | null;
  /** The last seq these sums cover: a client folds the events after it to stay current. */
  lastSeq: number;
  calls: CallRollup[];
  runs: RunRollup[];
  /**
   * Each provider's keys' latest rate-limit headroom, whatever the window (a limit is about now, not a span);
   * absent when no call has reported one.
   */
  headroom?: KeyHeadroom[];
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

export interface RunChangesParams {
  /** Default: the latest run. */
  runId?: string;
}
/** One file a run changed, as the run left it. Paths are workspace-relative; kept copies live under the run's folder. */
export interface FileChange {
  file: string;
  /** `created`: the file did not exist before the run. */
  status: 'modified' | 'created';
  /** The kept copy of the file before the run; null for a file the run created. */
  original: string | null;
  /** The kept copy of what the run last wrote to the file; null when the run last left no file (a creation undone). */
  result: string | null;
  /** The file on disk is no longer what the run last left (the user or another tool changed it): undo and restore refuse without `force`. */
  changedSince: boolean;
  /** Unified diff from the original to what the run left. */
  diff: string;
}
/** An iteration whose edits were written: a checkpoint the files can be restored to. */
export interface Checkpoint {
  iteration: number;
  files: string[];
  /** False when the attempt was taken back (a faked pass): restoring it puts back a rejected attempt. */
  kept: boolean;
}
export interface RunChanges {
  runId: string;
  /** The run's target file. */
  file: string;
  files: FileChange[];
  checkpoints: Checkpoint[];
  /** Where the files are now as far as micro-agent knows: 0 = the originals, N = as attempt N left them. */
  restoredTo: number | null;
}

export interface UndoRunParams {
  runId: string;
  /** Overwrite files changed since the run (otherwise refused with `ChangedSince`, listing them). */
  force?: boolean;
}
export interface RestoreAttemptParams {
  runId: string;
  /** The checkpoint to put back; 0 is the originals (the same as undo). */
  iteration: number;
  force?: boolean;
}
export interface RestoreResult {
  runId: string;
  iteration: number;
  /** The files written (or removed) to get there. */
  files: string[];
}

export interface ResumeRunParams {
  /** A run that ended failed, cancelled or interrupted. */
  runId: string;
  /** Iterations the resumed run may add (default: what the run had left, or its own maxRuns when none was left). */
  maxRuns?: number;
  provider?: ProviderName;
  model?: string;
  budgetUsd?: number;
  /** Put the last attempt back even over files changed since the run. */
  force?: boolean;
}

export interface WriteTestsParams {
  /** The file the tests are for (it may not exist yet), as a `file:` URI or a workspace path (`file`). */
  uri?: string;
  file?: string;
  /** Where the tests go (workspace path); it must not exist yet. */
  testFile: string;
  /** What the code should do. */
  prompt: string;
  testCommand?: string;
  /** To revise: the previous draft and what the user wants changed. */
  draft?: string;
  feedback?: string;
  provider?: ProviderName;
  model?: string;
}
export interface WriteTestsResult {
  testFile: string;
  contents: string;
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
  [Methods.runChanges]: { params: RunChangesParams; result: RunChanges };
  [Methods.undoRun]: { params: UndoRunParams; result: RestoreResult };
  [Methods.restoreAttempt]: { params: RestoreAttemptParams; result: RestoreResult };
  [Methods.resumeRun]: { params: ResumeRunParams; result: StartRunResult };
  [Methods.writeTests]: { params: WriteTestsParams; result: WriteTestsResult };
  [Methods.providerUsage]: { params: ProviderUsageParams | void; result: ProviderUsageResult };
  [Methods.evals]: { params: void; result: EvalsResult };
  [Methods.eval]: { params: EvalParams; result: EvalReport };
  [Methods.startEval]: { params: StartEvalParams; result: StartEvalResult };
  [Methods.cancelEval]: { params: CancelEvalParams; result: CancelEvalResult };
}

/** `interruptedRuns` notification: each run closed as interrupted at start-up, with the files it left changed. */
export interface InterruptedRunsParams {
  runs: { runId: string; file: string; files: string[] }[];
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
  /** Undo/restore/resume: files changed since the run last wrote them; `data.files` lists them. Pass `force` to overwrite. */
  ChangedSince: -32005,
  /** The run named is unknown, has no kept files, or cannot be resumed/restored in its state. */
  NotFound: -32006,
  /** Today's spend reached `devAi.dailyBudgetUsd`: no model call until local midnight. */
  DailyBudget: -32007,
  /**
   * Undo/restore/diff/resume: the run's record (or the log's account of it) read back from `.micro-agent/` failed
   * validation (a path outside the workspace or its run folder, a link, a bad number); nothing of it was applied.
   */
  InvalidRecord: -32008,
} as const;
