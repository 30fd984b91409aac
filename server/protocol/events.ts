/**
 * Events: every action the engine takes, appended to the JSONL log and pushed live; and the stats folded
 * from them, the same shape for LSP, the CLI and the live API. Types only.
 */
import type { EvalCell } from './eval';
import type { ProviderName } from './providers';
import type { TestReport, TestRunner } from './testReport';

/** Why a model call failed. `retryable` kinds are retried with backoff before they surface. */
export type ProviderErrorKind = 'auth' | 'rate_limit' | 'timeout' | 'server' | 'network' | 'bad_response' | 'invalid_request' | 'cancelled';

export type RunOutcome = 'passed' | 'failed' | 'cancelled' | 'error';

/** Why a run stopped; `outcome` says whether that counts as passed, failed, cancelled or error. */
export type StopReason =
  | 'tests_passed'
  | 'max_runs'
  | 'budget_usd'
  | 'budget_time'
  /** Today's spend across every process writing the log reached `devAi.dailyBudgetUsd` before the next call. */
  | 'budget_daily'
  | 'cancelled'
  | 'provider_error'
  | 'internal_error'
  | 'interrupted'
  /** Three iterations in a row brought nothing new (a repeated reply, or the same failures again). */
  | 'stuck'
  /** The target is a test file: micro-agent never edits tests. */
  | 'test_file';

/**
 * Why a model reply was not kept. `tests_missing`: the tests exited 0 but tests that ran before did not run
 * again or pass, were newly skipped, or the total dropped (a faked pass); the file went back to before it.
 * For search/replace edit blocks: `edit_mismatch`, a block's SEARCH section matched nowhere or more than once;
 * `edit_conflict`, two edits in one reply touch the same lines or the same file both ways (whole file and blocks);
 * `malformed`, a block is broken (no path, an unsafe path, a missing marker) or a whole file still holds edit markers;
 * `elided`, a REPLACE section (or a whole file) puts `...` or `// ... existing code ...` where code was.
 */
export type RejectReason =
  | 'no_code_block'
  | 'empty'
  | 'truncated'
  | 'unchanged'
  | 'too_large'
  | 'tests_missing'
  | 'edit_mismatch'
  | 'edit_conflict'
  | 'malformed'
  | 'forbidden_path'
  | 'elided'
  /** The edit adds a line that exits the process, reads the test environment or patches the test machinery. */
  | 'gaming';

/**
 * The step of the matching ladder that placed an edit's SEARCH lines (the loosest a file's edits needed): the exact
 * lines; trailing whitespace and line endings; a uniform indentation offset; tabs against spaces; SEARCH's blank
 * lines ignored; `...` elisions. In order: the first step that finds exactly one place wins.
 */
export const MATCH_STEPS = ['exact', 'whitespace', 'indent', 'tabs', 'blank_lines', 'elision'] as const;
export type MatchStep = (typeof MATCH_STEPS)[number];

interface EventBase {
  /** Strictly increasing across the whole log, also across host restarts. */
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
  runId?: string;
  /**
   * Set on every event of an eval's runs (and on the eval's own events), so that analytics can tell evals apart
   * from everyday runs and never mix them by accident.
   */
  evalId?: string;
}

export interface RunStartedEvent extends EventBase {
  type: 'run.started';
  runId: string;
  /** Workspace-relative path, `/`-separated. */
  file: string;
  testCommand: string;
  /**
   * The runner the test command runs, as far as the command (or the package.json script it runs) names one;
   * `unknown`: micro-agent cannot read this runner's output, so a pass there is the exit code alone.
   */
  runner?: TestRunner | 'unknown';
  provider: ProviderName;
  model: string;
  maxRuns: number;
  budgetUsd: number | null;
  budgetMs: number | null;
  prompt: string | null;
  /** Where the untouched original is kept (workspace-relative). */
  originalPath: string;
  /** The files the run may change: the target first, then the non-test files shown to the model. */
  files?: string[];
  /** The process running the loop, so another process sharing the log can tell a live run from a dead one. */
  pid: number;
  /** The read-only test files shown to the model (`-f`, tests first), so a resumed run shows them again. */
  testFiles?: string[];
  /** Set when this run resumes an earlier one (`--resume`, `microAgent/resumeRun`): it goes on from that run's last attempt. */
  resumedFrom?: string;
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

/** What is measured of every model call: the `llm.response` event and the providers' results share it. */
export interface CallMetrics {
  provider: ProviderName;
  model: string;
  latencyMs: number;
  /** Null when no token arrived. */
  ttftMs: number | null;
  /**
   * From the vendor's own usage fields; null when the vendor did not report them. `inputTokens` counts every
   * prompt token, those read from or written to the vendor's prompt cache included, for every vendor alike:
   * OpenAI's `prompt_tokens` already does; Anthropic's `input_tokens` leaves them out, so its cache reads and
   * writes are added. (The OpenTelemetry GenAI convention counts `gen_ai.usage.input_tokens` the same way.)
   */
  inputTokens: number | null;
  outputTokens: number | null;
  /**
   * The part of `inputTokens` read from the vendor's prompt cache, billed at its cheaper cached rate: Anthropic's
   * `cache_read_input_tokens`, OpenAI's `prompt_tokens_details.cached_tokens`. Null when the vendor did not report
   * it (Ollama; also every call logged before this was recorded: the log reader fills in null).
   */
  cachedInputTokens: number | null;
  /**
   * The part of `inputTokens` written to the prompt cache, billed at the vendor's cache-write rate: Anthropic's
   * `cache_creation_input_tokens`. Null when not reported (OpenAI does not report cache writes, nor bill them).
   */
  cacheWriteInputTokens: number | null;
  /** Null when the model is not in the price table (never a made-up 0). */
  costUsd: number | null;
  retries: number;
  /**
   * Generation speed as the model server measured it, output tokens per second of generating (Ollama's
   * `eval_count / eval_duration`: prompt reading and model loading left out). Null where the vendor does not report
   * its generation time (OpenAI, Anthropic) and in calls logged before this was recorded.
   */
  outputTokensPerSec: number | null;
  /**
   * Time the model server spent loading the model before it could start (Ollama's `load_duration`: a cold model
   * costs seconds, a warm one about nothing). Part of `latencyMs`, reported apart so that a slow first call is
   * not read as a slow model. Null where the vendor does not report it.
   */
  loadMs: number | null;
  /** The key's rate-limit headroom after this call, as the vendor's response headers said it; null when they said nothing. */
  rateLimit: RateLimit | null;
}

/**
 * A key's rate-limit headroom as the vendor's response headers reported it (a success's or a refusal's):
 *   OpenAI     `x-ratelimit-{limit,remaining}-{requests,tokens}`; resets are durations (`6m0s`, `1s`, `20ms`)
 *   Anthropic  `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (the tokens family is the most
 *              restrictive limit in effect; without it the tighter of `input-tokens` and `output-tokens`); resets
 *              are RFC 3339 times
 * A field is null where the vendor is silent (a proxy that strips the headers, a vendor with no such limit). The
 * record as a whole is null, never all nulls, when no header was there at all.
 */
export interface RateLimit {
  requestsLimit: number | null;
  requestsRemaining: number | null;
  tokensLimit: number | null;
  tokensRemaining: number | null;
  /**
   * When the binding limit resets, in milliseconds since the epoch (UTC): the reset of whichever of requests and
   * tokens has the smaller share left, or, when the response carried `retry-after` (a 429), the moment it names.
   * Relative resets are counted from when the response arrived.
   */
  resetAt: number | null;
  /**
   * Which key the headroom belongs to, without any of its characters: limits are per key (per organisation and
   * project), and a user may switch keys. Null in calls logged before it was recorded.
   */
  key: KeyIdentity | null;
}

/** The latest headroom one provider's key reported: what the dashboard shows per provider and key. */
export interface KeyHeadroom {
  provider: ProviderName;
  /** Null for calls logged before keys were named: all of a provider's unnamed keys share one row. */
  key: KeyIdentity | null;
  /** The model of the call that reported it, and when (ms since the epoch). */
  model: string;
  ts: number;
  rateLimit: RateLimit;
}

/**
 * Keeps `headroom` in `held` (by provider and key; a provider's unnamed keys share one) when it is the newest seen
 * for its key: processes writing one log may append out of time order. The host's index and the dashboard's store
 * both fold calls through it.
 */
export function noteHeadroom(held: Map<string, KeyHeadroom>, headroom: KeyHeadroom): void {
  const key = `${headroom.provider}\u0000${headroom.key ? `${headroom.key.source}\u0000${headroom.key.fingerprint}` : ''}`;
  const before = held.get(key);
  if (!before || before.ts <= headroom.ts) held.set(key, headroom);
}

/**
 * A key named without being revealed: where it came from (the environment variable the host read it from; the
 * extension hands its SecretStorage keys over as the same variables) and the first 8 hex digits of its SHA-256,
 * enough to tell a user's keys apart and useless for finding the key.
 */
export interface KeyIdentity {
  source: string;
  fingerprint: string;
}

/** Below this share of a limit left, a call raises a `rate_limit` alert. */
export const HEADROOM_ALERT_SHARE = 0.1;

/**
 * What is nearly used up, said for a person (`openai has 3 of 100 requests left (3%) …`), or undefined when requests
 * and tokens each have at least `share` of their limit left, or are not reported.
 */
export function lowHeadroom(provider: ProviderName, rateLimit: RateLimit, share = HEADROOM_ALERT_SHARE): string | undefined {
  const limits = [
    { what: 'requests', limit: rateLimit.requestsLimit, remaining: rateLimit.requestsRemaining },
    { what: 'tokens', limit: rateLimit.tokensLimit, remaining: rateLimit.tokensRemaining },
  ].flatMap(({ what, limit, remaining }) => (limit && remaining !== null && remaining / limit < share ? [{ what, limit, remaining }] : []));
  if (limits.length === 0) return undefined;
  const left = limits.map(
    (l) => `${l.remaining.toLocaleString('en-US')} of ${l.limit.toLocaleString('en-US')} ${l.what} (${Math.floor((l.remaining / l.limit) * 100)}%)`,
  );
  const reset = rateLimit.resetAt === null ? '' : `; the limit resets at ${new Date(rateLimit.resetAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  return `${provider} has ${left.join(' and ')} left on this key's rate limit${reset}`;
}

export interface LlmResponseEvent extends EventBase, CallMetrics {
  type: 'llm.response';
  callId: string;
  iteration: number | null;
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

/** How a test run ended: the `test.finished` event and the test runner's result share it. */
export interface TestOutcome {
  /** Null when the process was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  passed: boolean;
  timedOut: boolean;
  cancelled: boolean;
}

export interface TestFinishedEvent extends EventBase, TestOutcome {
  type: 'test.finished';
  runId: string;
  iteration: number;
  /** The last part of stdout and stderr, interleaved as they arrived. */
  outputTail: string;
  /** What the runner said, read from its output (bounded); absent in logs written before reports existed. */
  report?: TestReport;
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
  /** How the file's edits were placed: the loosest ladder step its blocks or hunks needed; absent for a file sent whole. */
  match?: MatchStep;
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
  /** True when the original files were put back. */
  restored: boolean;
  /** The files the run changed (workspace-relative); each original is kept under the run's folder. */
  files?: string[];
  error?: string;
  /** Set when a model call failed for good (`reason` provider_error). */
  errorKind?: ProviderErrorKind;
}

/** Undo (iteration 0) or Restore this attempt: the run's files were put back as that checkpoint left them. */
export interface RunRestoredEvent extends EventBase {
  type: 'run.restored';
  runId: string;
  iteration: number;
  /** The files written or removed. */
  files: string[];
  /** Files changed since the run were overwritten because the user said so. */
  forced: boolean;
}

/** Tests first: the test file the model wrote and the user accepted, written before the run's first test. */
export interface TestsGeneratedEvent extends EventBase {
  type: 'tests.generated';
  runId: string;
  /** The file the tests are for. */
  file: string;
  testFile: string;
  bytes: number;
  /** Model drafts before the user accepted (1 + each round of feedback). */
  drafts: number;
  /** The user changed the model's last draft before accepting it. */
  edited: boolean;
}

/** `--commit`: a passing run's files were committed to git (only those). */
export interface RunCommittedEvent extends EventBase {
  type: 'run.committed';
  runId: string;
  commit: string;
  files: string[];
  message: string;
}

export interface LogEvent extends EventBase {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Something the user should know now: raised by the host, shown as a notification by the extension. */
export interface AlertEvent extends EventBase {
  type: 'alert';
  /** `rate_limit`: a call's response left under HEADROOM_ALERT_SHARE of the key's requests or tokens. */
  kind: 'budget' | 'error_rate' | 'latency' | 'rate_limit';
  message: string;
  provider?: ProviderName;
  model?: string;
  /** A daily-budget alert: today's spend and the cap, and the share of it that raised the alert (0.8, then 1). */
  daily?: DailyBudgetAlert;
}

export interface DailyBudgetAlert {
  spentUsd: number;
  capUsd: number;
  threshold: number;
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

/** `micro-agent eval` started (or resumed): the tasks and models, and how many cells are still to run. */
export interface EvalStartedEvent extends EventBase {
  type: 'eval.started';
  evalId: string;
  tasks: number;
  /** `provider:model` each. */
  models: string[];
  /** Cells this process will run (all of them, or the missing ones of a resumed eval). */
  cells: number;
  /** Set when this resumes an earlier start of the same eval. */
  resumed: boolean;
  maxRuns: number;
  budgetUsd: number | null;
  taskBudgetUsd: number | null;
  concurrency: number;
  /** The process running the eval, so that a reader can tell a live eval from one a dead process left open. */
  pid: number;
}

/** One task × model cell finished (or was refused, or cancelled): the leaderboard is a fold of these. */
export interface EvalCellEvent extends Omit<EventBase, 'runId'>, EvalCell {
  type: 'eval.cell';
  evalId: string;
  /** The loop's run; null for a cell refused before it started (the one event whose runId may be null). */
  runId: string | null;
}

export interface EvalFinishedEvent extends EventBase {
  type: 'eval.finished';
  evalId: string;
  /** `cancelled`: Ctrl-C or `cancelEval`; the cells not run are `--resume`'s. */
  outcome: 'finished' | 'cancelled';
  /** Cells with a result (not cancelled) in this process. */
  cells: number;
  durationMs: number;
  /** Why the eval stopped before its cells (a rev range git does not know, a tasks file that does not parse). */
  error?: string;
}

export type AgentEvent =
  | EvalStartedEvent
  | EvalCellEvent
  | EvalFinishedEvent
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
  | RunRestoredEvent
  | TestsGeneratedEvent
  | RunCommittedEvent
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
  /** Every prompt token, cached ones included (see CallMetrics). */
  inputTokens: number;
  /** Of `inputTokens`, those read from the vendor's prompt cache; 0 when no call reported any. */
  cachedInputTokens: number;
  /** Of `inputTokens`, those written to the prompt cache (Anthropic). */
  cacheWriteInputTokens: number;
  outputTokens: number;
  /** Sum over priced calls; null when none of the calls had a known price. */
  costUsd: number | null;
  unpricedCalls: number;
  /** Replies of this model whose edits were judged (applied or refused), see editQuality.ts. */
  editReplies: number;
  /** The share of those whose edits applied (Aider's well-formed rate); null before any. */
  wellFormedRate: number | null;
  /** Files written, by the matching-ladder step that placed their edits. */
  matchSteps: Record<MatchStep, number>;
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
  /** True while the host is still folding the log (its index was missing, stale or damaged): the numbers will grow. */
  partial?: boolean;
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
  /** The run this one resumed. */
  resumedFrom?: string;
  /** Set for a cell of `micro-agent eval`: the eval it belongs to (it ran in an isolated copy, not in the workspace). */
  evalId?: string;
}
