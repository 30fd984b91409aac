import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { askModel } from '../agent/askModel';
import { gatherContext, nodeContextIO } from '../agent/context';
import { ContextFile, LoopInput, MAX_OUTPUT_TOKENS, runLoop, runTestsLogged, TestedRun } from '../agent/loop';
import { extractCode } from '../agent/prompt';
import { runHistory } from '../agent/runHistory';
import { ChangedSinceError, checkpointsOf, fileChanges, lastKept, readRecord, RecordError, restoreTo, RunRecord } from '../agent/runRecord';
import { buildTestsPrompt, TESTS_SYSTEM_PROMPT } from '../agent/testsPrompt';
import { toModelText } from '../agent/textFile';
import { ConfigError, Env, positiveInt, positiveNumber, resolveDailyBudget, resolveSettings } from '../foundation/config';
import { DailyCap } from '../alerts/dailyCap';
import { EventLog } from '../events/log';
import { LogIndex } from '../events/logIndex';
import type { RollupQuery } from '../events/stats';
import { commitFiles, GitError, gitWorkTree } from '../foundation/git';
import type { AgentEvent, RunFinishedEvent, RunOutcome, RunSummary, Stats } from '../protocol/events';
import type {
  GeneratedTests,
  InterruptedRunsParams,
  RestoreResult,
  ResumeRunParams,
  RollupsResult,
  RunChanges,
  RunsResult,
  WriteTestsParams,
  WriteTestsResult,
} from '../protocol/methods';
import { isProviderName, PROVIDER_INFO, ProviderName, unknownProviderMessage } from '../protocol/providers';
import { isRunId, type SpendResult } from '../protocol/methods';
import type { DevAiSettings } from '../protocol/settings';
import { createProvider, Provider } from '../providers';
import { secretsIn } from '../foundation/secrets';
import { contextWindowTokens, estimateTokens } from '../providers/contextWindows';
import { acquireRunLock, isAlive, LockHeldError, RunLock } from '../foundation/runLock';
import { MAX_FILE_BYTES, PathError, readSource, resolveInWorkspace, statePaths, toPosix } from '../foundation/workspace';
import { withReportFlags } from '../testResults';

/** What a caller (LSP request, CLI flags, later the HTTP API) asks for; the engine validates all of it. */
export interface RunRequest {
  /** Workspace-relative or absolute path. */
  file: string;
  testCommand?: string;
  prompt?: string;
  /** Workspace-relative or absolute path of a test file to show the model. */
  testFile?: string;
  /** More test files to show (`-f` given more than once); read-only like every test file. */
  testFiles?: string[];
  /** Files to show besides the target's local imports (`--context`). */
  contextFiles?: string[];
  /** Characters of context files (imports, `--context`) a prompt may hold; default from the settings. */
  contextBudget?: number;
  maxRuns?: number;
  provider?: ProviderName;
  model?: string;
  keep?: boolean;
  budgetUsd?: number;
  budgetSec?: number;
  /** In a git repository, commit the files a passing run changed (only those). */
  commit?: boolean;
  /** Tests first: a test file the user accepted, written by the run before its first test. */
  generatedTests?: GeneratedTests;
}

/** Why a request was refused; `handlers.ts` maps each to one JSON-RPC code and one HTTP status. */
export type EngineErrorCode =
  'invalid_params' | 'run_in_progress' | 'configuration' | 'untrusted' | 'forbidden' | 'changed_since' | 'not_found' | 'budget_daily' | 'invalid_record';

/** A refused request, with a message for the user; nothing was started. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** `changed_since`: the files changed after the run, which a `force` would overwrite. */
    readonly files?: string[],
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/**
 * Bounds on what a request may ask for, the same on every entry point: a request is refused, never cut.
 * Generous for people, tight enough that one request cannot exhaust memory or money.
 */
export const REQUEST_LIMITS = {
  pathChars: 4096,
  testCommandChars: 8192,
  promptChars: 100_000,
  modelChars: 256,
  maxRuns: 100,
  budgetUsd: 1000,
  budgetSec: 24 * 3600,
  files: 50,
  contextBudget: 4_000_000,
} as const;

export interface EngineOptions {
  root: string;
  log: EventLog;
  /** Where API keys and fallbacks come from; replaced with `setEnv` when the extension sends a new key. */
  env: Env;
  /** The current `devAi` settings; called for every run so changes apply without a restart. */
  settings?: () => DevAiSettings;
  /** False in an untrusted workspace: every run is refused, since it would run commands and write files. */
  trusted?: boolean;
}

interface ActiveRun {
  file: string;
  controller: AbortController;
  /** The run's lock on its file, shared with every other process on this workspace. */
  lock: RunLock;
  done: Promise<RunOutcome>;
}

/** A validated request, ready to run: everything `start` checks, resolved once. */
interface RunPlan {
  runId: string;
  target: { abs: string; rel: string };
  testCommand: string;
  prompt: string | null;
  testFiles: ContextFile[];
  context: ContextFile[];
  workspaceFiles: string[];
  provider: Provider;
  model: string;
  maxRuns: number;
  budgetUsd: number | null;
  budgetMs: number | null;
  testTimeoutMs: number;
  keep: boolean;
  commit: boolean;
  /** `--commit`: how long git (its hooks included) may take before it is stopped and the commit given up. */
  gitTimeoutMs: number;
  generatedTests?: LoopInput['generatedTests'];
}

/** What an auto-fix check did: the tests passed (or it was cancelled), or they failed and `runId` fixes them. */
export type AutoFixResult = { started: false; tests: TestedRun } | { started: true; runId: string; done: Promise<RunOutcome> };

/**
 * The engine behind every front end: validates and starts runs (one per file), cancels them, and keeps the
 * stats and run list folded from the log. The LSP host, the CLI and the HTTP API are thin layers over it.
 */
export class Engine {
  /** The stats and run list, from the index beside the log plus what the log gained since. */
  private history!: LogIndex;
  private readonly active = new Map<string, ActiveRun>();
  /** Tests-first drafts by test file: how many the model wrote and the last, to tell whether the user edited it. */
  private readonly testDrafts = new Map<string, { drafts: number; last: string }>();
  private interruptedRuns: InterruptedRunsParams['runs'] = [];
  private env: Env;
  /** `devAi.dailyBudgetUsd` against today's spend by every process writing the log. */
  private readonly dailyCap: DailyCap;

  private constructor(private readonly options: EngineOptions) {
    this.env = options.env;
    options.log.setSecrets(secretsIn(this.env));
    this.dailyCap = new DailyCap(options.log, () => this.checked(() => resolveDailyBudget(this.options.settings?.() ?? {}, this.env)));
  }

  /**
   * Opens the engine over a log: its stats come from the index and the log's tail, and runs a dead process
   * left open are closed. A log too long to fold at once is folded in the background (answers are `partial`
   * until then) and its open runs are closed when it is done.
   */
  static async create(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    const warn = (message: string) => void options.log.append({ type: 'log', level: 'warn', message });
    engine.history = LogIndex.open(options.log.file, { warn });
    options.log.onEvent(() => engine.history.catchUp());
    if (engine.history.complete) engine.closeInterrupted();
    else
      void engine.history
        .whenComplete()
        .then(() => engine.closeInterrupted())
        // The log was closed before the fold ended (a short CLI run): the next engine to open it closes them.
        .catch(() => undefined);
    return engine;
  }

  get log(): EventLog {
    return this.options.log;
  }

  get root(): string {
    return this.options.root;
  }

  setEnv(env: Env): void {
    this.env = env;
    this.options.log.setSecrets(secretsIn(env));
  }

  stats(): Stats {
    this.history.catchUp();
    const stats = this.history.aggregator.stats();
    return this.history.complete ? stats : { ...stats, partial: true };
  }

  /** A page of runs, newest first, older than `before` (a run id from `nextBefore`, or a time in ms). */
  runs(limit: number, before?: string | number): RunsResult {
    this.history.catchUp();
    const page = this.history.aggregator.runPage(limit, before);
    if (!page) throw new EngineError('invalid_params', `before: no run ${String(before)} (pass the nextBefore of the previous page)`);
    return this.history.complete ? page : { ...page, partial: true };
  }

  run(runId: string): RunSummary | undefined {
    this.history.catchUp();
    return this.history.aggregator.runById(runId);
  }

  spendSince(sinceTs: number): SpendResult {
    this.history.catchUp();
    return { ...this.history.aggregator.spendSince(sinceTs), daily: this.dailyCap.status() };
  }

  /** Refuses a model call outside a run (a review) once today's spend reached `devAi.dailyBudgetUsd`. */
  checkDailyBudget(): void {
    const reached = this.dailyCap.reached();
    if (reached) throw new EngineError('budget_daily', reached);
  }

  /** Calls and runs since `sinceTs` summed per bucket and model (`microAgent/rollups`), with the seq they cover. */
  rollups(query: RollupQuery): RollupsResult {
    this.history.catchUp();
    const { sinceTs, untilTs, bucketMs } = query;
    const rollups = this.history.aggregator.rollups(query);
    const result = { sinceTs, ...(untilTs === Infinity ? {} : { untilTs }), bucketMs, lastSeq: this.history.foldedSeq, ...rollups };
    return this.history.complete ? result : { ...result, partial: true };
  }

  /**
   * Every event of one run, oldest first: read from its `run.started` up to its `run.finished` (or the log's
   * end), a page at a time, never more than `RUN_EVENTS_SCAN` events of the log however much ran beside it.
   */
  runEvents(runId: string): AgentEvent[] {
    this.history.catchUp();
    const startSeq = this.history.aggregator.runStartSeq(runId);
    if (startSeq === undefined) throw new EngineError('invalid_params', `runId: no run ${runId}`);
    const out: AgentEvent[] = [];
    for (let after = startSeq - 1, scanned = 0; scanned < RUN_EVENTS_SCAN;) {
      const page = this.options.log.read(after, 5000);
      if (page.length === 0) break;
      scanned += page.length;
      after = page[page.length - 1].seq;
      for (const event of page) {
        if (event.runId !== runId) continue;
        out.push(event);
        if (event.type === 'run.finished') return out;
      }
    }
    return out;
  }

  isRunning(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Runs an earlier process left open (killed, crashed), closed as interrupted when this engine opened. */
  get interrupted(): InterruptedRunsParams['runs'] {
    return this.interruptedRuns;
  }

  /** What a run changed (default: the latest run), each file's diff from its original, and its checkpoints. */
  runChanges(runId?: string): RunChanges {
    const id = runId ?? this.latestRun();
    const { record, runDir } = this.recordOf(id);
    return {
      runId: id,
      file: record.target,
      files: this.untrustedState(() => fileChanges(this.options.root, runDir, record)),
      checkpoints: checkpointsOf(record),
      restoredTo: record.restoredTo,
    };
  }

  /** Puts back the originals of every file a run changed (default: the latest run's). */
  undo(runId: string | undefined, force = false): RestoreResult {
    return this.restore(runId ?? this.latestRun(), 0, force);
  }

  /**
   * Puts every file a run wrote back as attempt `iteration` left it (0: the originals). Refused while the run
   * (or another on its file) is going, and, unless `force`, when a file changed after the run last wrote it.
   */
  restore(runId: string, iteration: number, force = false): RestoreResult {
    const { record, runDir } = this.recordOf(runId);
    if (!Number.isInteger(iteration) || iteration < 0) throw new EngineError('invalid_params', 'iteration must be a whole number ≥ 0');
    const files = this.whileLocked(record, `restore-${runId}`, () => this.restoreRecord(record, runDir, iteration, force));
    return { runId, iteration, files };
  }

  /**
   * Goes on with a run that ended failed, cancelled or interrupted, as a new run (`resumedFrom`): its files put
   * back as its last kept attempt left them, its originals, what its attempts taught, its iteration count and
   * what is left of its budgets. `params` may override the model, the provider, the iterations and the budget.
   */
  resume(params: ResumeRunParams): { runId: string; done: Promise<RunOutcome> } {
    if (typeof params?.runId !== 'string') throw new EngineError('invalid_params', 'runId is required');
    const { runId } = params;
    const { record, runDir } = this.recordOf(runId);
    const history = runHistory(runId, (id) => (this.run(id) ? this.runEvents(id) : undefined));
    if (!history) throw new EngineError('not_found', `no run ${runId} in the log`);
    const { started, finished } = history;
    if (!finished) throw new EngineError('run_in_progress', `run ${runId} is still going; cancel it first or wait for it to end`);
    if (finished.outcome === 'passed') throw new EngineError('invalid_params', `run ${runId} passed: there is nothing to resume (undo it, or start a new run)`);
    const left = started.maxRuns - finished.iterations;
    const added = params.maxRuns ?? (left > 0 ? left : started.maxRuns);
    const spent = (budget: number | null, used: number) => (budget === null ? undefined : budget - used);
    const budgetUsd = params.budgetUsd ?? spent(started.budgetUsd, finished.costUsd);
    if (budgetUsd !== undefined && budgetUsd <= 0)
      throw new EngineError('invalid_params', `run ${runId} spent its whole budget of $${started.budgetUsd}; give a new budget to resume it`);
    const budgetMs = spent(started.budgetMs, finished.durationMs);
    const request: RunRequest = {
      file: started.file,
      testCommand: started.testCommand,
      prompt: started.prompt ?? undefined,
      testFiles: started.testFiles,
      maxRuns: added,
      provider: params.provider ?? started.provider,
      model: params.model ?? (params.provider && params.provider !== started.provider ? undefined : started.model),
      budgetUsd,
      budgetSec: budgetMs === undefined ? undefined : Math.max(1, budgetMs / 1000),
    };
    const plan = this.plan(request, { targetMayBeMissing: record.originals[record.target] === null });
    plan.maxRuns = finished.iterations + added;
    const controller = this.claim(plan);
    try {
      this.restoreRecord(record, runDir, lastKept(record), params.force === true);
      const originals = new Map(Object.entries(record.originals).map(([rel, copy]) => [rel, copy === null ? null : fs.readFileSync(path.join(runDir, copy))]));
      const resume = { runId, originals, iteration: finished.iterations, attempts: history.attempts };
      return { runId: plan.runId, done: this.launch(plan, controller, undefined, resume) };
    } catch (err) {
      this.unclaim(plan.runId);
      throw err;
    }
  }

  /**
   * Tests first: asks the model for the test file of `file` (which may not exist yet) from what it should do;
   * with `draft` and `feedback`, for a revision. Nothing is written: a run writes the draft the user accepts.
   */
  async writeTests(params: WriteTestsParams & { file: string }, signal?: AbortSignal): Promise<WriteTestsResult> {
    this.refuseUntrusted();
    checkShape({
      file: params.file,
      testFile: params.testFile,
      prompt: params.prompt,
      testCommand: params.testCommand,
      provider: params.provider,
      model: params.model,
    });
    for (const key of ['draft', 'feedback'] as const) {
      const value = params[key];
      if (value !== undefined && (typeof value !== 'string' || value.length > REQUEST_LIMITS.promptChars))
        throw new EngineError('invalid_params', `${key} must be text of at most ${REQUEST_LIMITS.promptChars.toLocaleString('en-US')} characters`);
    }
    if (typeof params.prompt !== 'string' || !params.prompt.trim())
      throw new EngineError('invalid_params', 'say what the code should do (prompt): the tests are written from it');
    const target = this.workspacePath(params.file);
    const testFile = this.newTestFile(params.testFile);
    const settings = this.resolve(params);
    this.checkDailyBudget();
    const messages = buildTestsPrompt({
      file: target.rel,
      contents: fs.existsSync(target.abs) ? toModelText(this.checkedPath(params.file).contents) : null,
      testFile: testFile.rel,
      goal: params.prompt.trim(),
      testCommand: params.testCommand?.trim() || settings.testCommand?.trim() || null,
      draft: params.draft,
      feedback: params.feedback?.trim() || undefined,
    });
    const request = { model: settings.model, system: TESTS_SYSTEM_PROMPT, messages, maxTokens: MAX_OUTPUT_TOKENS, signal };
    const reply = await askModel(this.providerFor(settings), request, (event) => this.options.log.append(event), { iteration: null });
    const extracted = extractCode(reply.text, reply.finishReason, testFile.rel);
    if (!extracted.ok) throw new EngineError('invalid_params', `the model's test file could not be used: ${extracted.message}; ask again`);
    const previous = this.testDrafts.get(testFile.abs);
    this.testDrafts.set(testFile.abs, { drafts: (params.draft !== undefined ? (previous?.drafts ?? 1) : 0) + 1, last: extracted.code });
    return { testFile: testFile.rel, contents: extracted.code };
  }

  /** Validates everything before anything starts; throws EngineError with a message for the user. */
  start(request: RunRequest): { runId: string; done: Promise<RunOutcome> } {
    const plan = this.plan(request);
    const controller = this.claim(plan);
    try {
      return { runId: plan.runId, done: this.launch(plan, controller) };
    } catch (err) {
      this.unclaim(plan.runId);
      throw err;
    }
  }

  /**
   * After a save with `devAi.autoFix` on: runs the configured tests as a run's iteration 0 would (without API
   * keys, with the timeout setting, logged as `test.*` events under the id the run will have, cancelled with
   * the engine); when they fail, starts the run on `file` with that result, so it does not test again before
   * its first model call.
   */
  async autoFix(file: string): Promise<AutoFixResult> {
    const plan = this.plan({ file });
    const controller = this.claim(plan);
    try {
      const tests = await runTestsLogged({ ...this.testOptions(plan), signal: controller.signal }, plan.runId, 0, (event) => this.options.log.append(event));
      if (tests.passed || tests.cancelled) {
        this.unclaim(plan.runId);
        return { started: false, tests };
      }
      return { started: true, runId: plan.runId, done: this.launch(plan, controller, tests) };
    } catch (err) {
      this.unclaim(plan.runId);
      throw err;
    }
  }

  /** False when the run is unknown or already over. */
  cancel(runId: string): boolean {
    const run = this.active.get(runId);
    if (!run) return false;
    run.controller.abort();
    return true;
  }

  /** Cancels every run and waits until each has killed its tests and put its file back. */
  async dispose(): Promise<void> {
    const runs = [...this.active.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done));
    this.history.persist();
  }

  /** The configured provider and model, for model calls outside a run (reviews). */
  modelClient(): { provider: Provider; model: string } {
    const settings = this.resolve({});
    return { provider: this.providerFor(settings), model: settings.model };
  }

  private refuseUntrusted(): void {
    if (this.options.trusted === false) {
      throw new EngineError(
        'untrusted',
        'this workspace is not trusted, so micro-agent runs no test commands and writes no files; trust the workspace to run it',
      );
    }
  }

  private plan(request: RunRequest, options: { targetMayBeMissing?: boolean } = {}): RunPlan {
    this.refuseUntrusted();
    checkShape(request);
    const settings = this.resolve(request);
    this.checkDailyBudget();
    const testCommand = (request.testCommand ?? settings.testCommand)?.trim();
    if (!testCommand) throw new EngineError('invalid_params', 'no test command: pass one (-t "npm test") or set devAi.testCommand');
    const generated = request.generatedTests && this.acceptedTests(request.generatedTests);
    // Tests first may describe a file that does not exist yet; the run creates it.
    const missing = (generated || options.targetMayBeMissing) && !fs.existsSync(this.workspacePath(request.file).abs);
    const target = missing ? { ...this.workspacePath(request.file), contents: '' } : this.checkedPath(request.file);
    // The accepted test file may be named among the test files too; it is not on disk until the run writes it.
    const named = [...(request.testFile ? [request.testFile] : []), ...(request.testFiles ?? [])].filter(
      (file) => !generated || this.workspacePath(file).abs !== generated.abs,
    );
    const testFiles = named.map((file) => {
      const checked = this.checkedPath(file);
      return { path: checked.rel, contents: toModelText(checked.contents) };
    });
    if (generated) testFiles.unshift({ path: generated.rel, contents: toModelText(generated.contents) });
    const commit = request.commit === true;
    if (commit && !gitWorkTree(this.options.root))
      throw new EngineError(
        'configuration',
        `${this.options.root} is not in a git repository: --commit commits a passing run's files there; run git init or leave --commit out`,
      );
    const extra = (request.contextFiles ?? []).map((file) => this.checkedPath(file).abs);
    const budgetChars = request.contextBudget ?? settings.contextBudgetChars;
    const gathered = gatherContext({ ...nodeContextIO(this.options.root), root: this.options.root, target: target.abs, budgetChars, extra });
    const shownTests = new Set(testFiles.map((file) => file.path));
    const context = gathered.files.filter((file) => !shownTests.has(file.path)).map(({ path: file, contents }) => ({ path: file, contents }));
    const prompt = request.prompt?.trim() || null;
    const shown = [...testFiles, ...context].map((file) => file.contents);
    checkFits(settings.provider, settings.model, target.contents.length, target.rel, [...shown, prompt ?? '', gathered.workspaceFiles.join('\n')]);
    return {
      runId: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
      target: { abs: target.abs, rel: target.rel },
      testCommand,
      prompt,
      testFiles,
      context,
      workspaceFiles: gathered.workspaceFiles,
      provider: this.providerFor(settings),
      model: settings.model,
      maxRuns: settings.maxRuns,
      budgetUsd: settings.budgetUsd,
      budgetMs: request.budgetSec === undefined ? null : this.checked(() => positiveNumber('budgetSec', request.budgetSec)) * 1000,
      testTimeoutMs: settings.testTimeoutMs,
      keep: request.keep === true,
      commit,
      gitTimeoutMs: settings.gitTimeoutMs,
      generatedTests: generated && { abs: generated.abs, contents: generated.contents, ...this.draftsOf(generated) },
    };
  }

  /** A test file the user accepted: a new file inside the workspace, within the size limit. */
  private acceptedTests(tests: GeneratedTests): { abs: string; rel: string; contents: string } {
    if (typeof tests !== 'object' || tests === null || typeof tests.contents !== 'string')
      throw new EngineError('invalid_params', 'generatedTests must be { testFile, contents }');
    if (Buffer.byteLength(tests.contents) > MAX_FILE_BYTES) throw new EngineError('invalid_params', `the test file is larger than ${MAX_FILE_BYTES / 1024} KB`);
    return { ...this.newTestFile(tests.testFile), contents: tests.contents };
  }

  private draftsOf(tests: { abs: string; contents: string }): { drafts: number; edited: boolean } {
    const drafts = this.testDrafts.get(tests.abs);
    return { drafts: drafts?.drafts ?? 0, edited: drafts === undefined || drafts.last !== tests.contents };
  }

  /** Where a new test file goes: inside the workspace, not the engine's or git's, and not there yet. */
  private newTestFile(file: unknown): { abs: string; rel: string } {
    if (typeof file !== 'string' || !file || file.length > REQUEST_LIMITS.pathChars) throw new EngineError('invalid_params', 'testFile must be a path');
    const resolved = this.workspacePath(file);
    if (fs.existsSync(resolved.abs))
      throw new EngineError('invalid_params', `${resolved.rel} exists already; give it as a test file (-f) instead of having one written`);
    return resolved;
  }

  /** A path inside the workspace and outside the engine's and git's folders; it need not exist. */
  private workspacePath(file: string): { abs: string; rel: string } {
    try {
      return resolveInWorkspace(this.options.root, file, { mayBeMissing: true });
    } catch (err) {
      if (err instanceof PathError) throw new EngineError('invalid_params', err.message);
      throw err;
    }
  }

  /** The latest run in the log (the one `diff` and `undo` mean without a run id). */
  private latestRun(): string {
    const [latest] = this.runs(1).runs;
    if (!latest) throw new EngineError('not_found', 'no runs yet in this workspace');
    return latest.runId;
  }

  /** A run's record of its files, validated (`readRecord`), or a refusal saying why there is none or why it is not trusted. */
  private recordOf(runId: unknown): { record: RunRecord; runDir: string } {
    if (!isRunId(runId)) throw new EngineError('invalid_params', 'runId must be a run id');
    const found = this.untrustedState(() => readRecord(this.options.root, runId));
    if (!found)
      throw new EngineError(
        'not_found',
        `no record of run ${runId}'s files under ${toPosix(path.relative(this.options.root, statePaths(this.options.root).runDir(runId)))}/ ` +
          '(an unknown run, or one from before micro-agent kept records)',
      );
    return found;
  }

  /**
   * Acts on state read back from `.micro-agent/` (a record, the files it names), turning a refusal of it into the
   * engine's `invalid_record`: nothing of such a record was applied.
   */
  private untrustedState<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (err instanceof RecordError || err instanceof PathError) throw new EngineError('invalid_record', `refused: ${err.message}; nothing was changed`);
      throw err;
    }
  }

  /** Restores a record, turning its refusals into the engine's; logs `run.restored` when a file was written. */
  private restoreRecord(record: RunRecord, runDir: string, iteration: number, force: boolean): string[] {
    let files: string[];
    try {
      files = this.untrustedState(() => restoreTo(this.options.root, runDir, record, iteration, force));
    } catch (err) {
      if (err instanceof ChangedSinceError)
        throw new EngineError(
          'changed_since',
          `${err.files.join(', ')} changed after run ${record.runId} last wrote ${err.files.length > 1 ? 'them' : 'it'}; force to overwrite`,
          err.files,
        );
      if (err instanceof RangeError) throw new EngineError('not_found', err.message);
      throw err;
    }
    this.options.log.append({ type: 'run.restored', runId: record.runId, iteration, files, forced: force });
    return files;
  }

  /** Runs `work` holding the run's file, so no run in any process writes it meanwhile. */
  private whileLocked<T>(record: RunRecord, holder: string, work: () => T): T {
    const lock = this.lockFile({ abs: path.join(this.options.root, record.target), rel: record.target }, holder);
    try {
      return work();
    } finally {
      lock.release();
    }
  }

  /**
   * The file's run lock for `holder`: refused while a run holds the file, in this engine or in any other process
   * on the workspace (through the file's lock under `.micro-agent/locks/`).
   */
  private lockFile(file: { abs: string; rel: string }, holder: string): RunLock {
    for (const run of this.active.values()) {
      if (run.file === file.abs) throw new EngineError('run_in_progress', `a run is already going on ${file.rel}; cancel it first`);
    }
    try {
      return acquireRunLock(this.options.root, file.rel, holder);
    } catch (err) {
      if (err instanceof LockHeldError) {
        const where = toPosix(path.relative(this.options.root, err.lockFile));
        throw new EngineError('run_in_progress', `${file.rel} ${err.message}; wait for it to finish or cancel it first (its lock: ${where})`);
      }
      if (err instanceof PathError) throw new EngineError('configuration', err.message);
      throw err;
    }
  }

  /** Takes the file for this run: one run per file (see `lockFile`). */
  private claim(plan: RunPlan): AbortController {
    const lock = this.lockFile(plan.target, plan.runId);
    const controller = new AbortController();
    this.active.set(plan.runId, { file: plan.target.abs, controller, lock, done: Promise.resolve<RunOutcome>('cancelled') });
    return controller;
  }

  /** Gives the file back: the run is over (or never started). */
  private unclaim(runId: string): void {
    const run = this.active.get(runId);
    this.active.delete(runId);
    try {
      run?.lock.release();
    } catch (err) {
      // A lock left behind is taken over once this process is gone; say so rather than fail the run's end.
      this.options.log.append({ type: 'log', runId, level: 'warn', message: `could not remove the lock of run ${runId}: ${(err as Error).message}` });
    }
  }

  private launch(plan: RunPlan, controller: AbortController, firstTest?: TestedRun, resume?: LoopInput['resume']): Promise<RunOutcome> {
    const { runId } = plan;
    const claimed = this.active.get(runId);
    if (!claimed) throw new Error(`run ${runId} was not claimed`);
    let finished: RunFinishedEvent | undefined;
    const done = runLoop({
      ...this.testOptions(plan),
      runId,
      root: this.options.root,
      file: plan.target.abs,
      prompt: plan.prompt,
      testFiles: plan.testFiles,
      context: plan.context,
      workspaceFiles: plan.workspaceFiles,
      maxRuns: plan.maxRuns,
      provider: plan.provider,
      model: plan.model,
      budgetUsd: plan.budgetUsd,
      budgetMs: plan.budgetMs,
      dailyBudget: () => this.dailyCap.reached(),
      keep: plan.keep,
      runDir: statePaths(this.options.root).runDir(runId),
      firstTest,
      resume,
      generatedTests: plan.generatedTests,
      signal: controller.signal,
      emit: (event) => {
        if (event.type === 'run.finished') finished = event as RunFinishedEvent;
        this.options.log.append(event);
      },
    })
      .then(async (outcome) => {
        if (outcome === 'passed' && plan.commit) await this.commit(runId, plan, controller.signal, finished?.files ?? [], finished?.iterations ?? 0);
        return outcome;
      })
      .catch((err: Error): RunOutcome => {
        // runLoop reports its own failures; this is the last line of defence (e.g. the disk filled up).
        this.options.log.append({ type: 'log', runId, level: 'error', message: `run ${runId} failed: ${err.message}` });
        return 'error';
      })
      .finally(() => this.unclaim(runId));
    this.active.set(runId, { ...claimed, done });
    return done;
  }

  /** `--commit`: the passing run's files (and a generated test file) in one commit; a failure is logged, the pass stands. */
  private async commit(runId: string, plan: RunPlan, signal: AbortSignal, touched: string[], iterations: number): Promise<void> {
    const files = [...touched, ...(plan.generatedTests ? [toPosix(path.relative(this.options.root, plan.generatedTests.abs))] : [])];
    if (files.length === 0) return;
    const count = `${iterations} iteration${iterations === 1 ? '' : 's'}`;
    const message = `micro-agent: fix ${plan.target.rel}\n\nRun ${runId} passed after ${count}.\nFiles: ${files.join(', ')}\n`;
    try {
      const commit = await commitFiles(this.options.root, files, message, { timeoutMs: plan.gitTimeoutMs, signal, env: this.untrustedEnvironment() });
      this.options.log.append({ type: 'run.committed', runId, commit, files, message });
    } catch (err) {
      if (!(err instanceof GitError)) throw err;
      this.options.log.append({ type: 'log', runId, level: 'error', message: `run ${runId} passed but its files were not committed: ${err.message}` });
    }
  }

  /**
   * How this engine runs a plan's tests: in the workspace, with its timeout, never with a secret the engine knows,
   * and asking the runners that read it from the environment for a report naming every test.
   */
  private testOptions(plan: RunPlan) {
    return { testCommand: plan.testCommand, cwd: this.options.root, testTimeoutMs: plan.testTimeoutMs, testEnv: withReportFlags(this.untrustedEnvironment()) };
  }

  /**
   * The environment of code micro-agent runs but does not trust (the tests, git and its hooks): the user's,
   * without any secret the engine knows (`Secrets.strip`: the keys, admin keys, the webhook URL, the API
   * tokens), and without colour.
   */
  private untrustedEnvironment(): NodeJS.ProcessEnv {
    return { ...this.options.log.secrets.strip(process.env), ...NO_COLOR_ENV };
  }

  private providerFor(settings: { provider: ProviderName; ollamaUrl: string | undefined }): Provider {
    try {
      return createProvider(settings.provider, this.env, { ollamaUrl: settings.ollamaUrl, secrets: this.options.log.secrets });
    } catch (err) {
      throw new EngineError('configuration', (err as Error).message);
    }
  }

  private resolve(request: Partial<RunRequest>) {
    return this.checked(() => {
      const settings = resolveSettings(this.options.root, this.options.settings?.() ?? {}, this.env);
      return {
        ...settings,
        provider: request.provider ?? settings.provider,
        // The configured model belongs to the configured provider; another provider starts from its default.
        model: request.model || (request.provider && request.provider !== settings.provider ? PROVIDER_INFO[request.provider].defaultModel : settings.model),
        maxRuns: request.maxRuns === undefined ? settings.maxRuns : positiveInt('maxRuns', request.maxRuns),
        budgetUsd: request.budgetUsd === undefined ? settings.budgetUsd : positiveNumber('budgetUsd', request.budgetUsd),
      };
    });
  }

  /** Runs a config check, turning its ConfigError into the engine's invalid-params refusal. */
  private checked<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      if (err instanceof ConfigError) throw new EngineError('invalid_params', err.message);
      throw err;
    }
  }

  /** A file a run may read: inside the workspace, not the engine's own, a text file within the size limit; with its text. */
  private checkedPath(file: string): { abs: string; rel: string; contents: string } {
    try {
      const target = resolveInWorkspace(this.options.root, file);
      // The log may live outside .micro-agent/ (devAi.logPath, --log); it is the engine's own state all the same.
      if (target.abs === realpathOrSelf(this.options.log.file))
        throw new PathError(`${file} is micro-agent's event log; micro-agent never sends it to a model or rewrites it`);
      return { ...target, contents: readSource(target.abs, target.rel) };
    } catch (err) {
      if (err instanceof PathError) throw new EngineError('invalid_params', err.message);
      throw err;
    }
  }

  /** A run the log shows started but never finished belonged to a process that died; say so in the log. */
  private closeInterrupted(): void {
    for (const run of this.history.aggregator.unfinished()) {
      // Another process sharing this log (the CLI beside the editor) may still be running it.
      if (run.pid !== process.pid && isAlive(run.pid)) continue;
      const kept = toPosix(path.relative(this.options.root, statePaths(this.options.root).runDir(run.runId)));
      let files = [run.file];
      let refused = '';
      try {
        files = Object.keys(readRecord(this.options.root, run.runId)?.record.originals ?? { [run.file]: null });
      } catch (err) {
        // A record that fails validation is named, never acted on: undo refuses it the same way.
        if (!(err instanceof RecordError || err instanceof PathError)) throw err;
        refused = `Its record is refused (${err.message}), so undo cannot put files back.`;
      }
      this.interruptedRuns.push({ runId: run.runId, file: run.file, files });
      this.options.log.append({
        type: 'run.finished',
        runId: run.runId,
        outcome: 'error',
        reason: 'interrupted',
        iterations: run.iterations,
        costUsd: run.costUsd,
        unpricedCalls: 0,
        durationMs: 0,
        restored: false,
        files,
        error:
          `run ${run.runId} on ${run.file} was interrupted: its process (pid ${run.pid}) stopped; the original of ${run.file} is kept under ${kept}/. ` +
          (refused || `Its files are as it left them mid-run; to put the originals back: micro-agent undo ${run.runId}`),
      });
    }
  }
}

/** What a prompt holds besides the files (instructions, the test section, earlier attempts), in characters. */
const PROMPT_OVERHEAD_CHARS = 12_000;

/** The most log events `runEvents` reads for one run (a run's own are a few dozen; the rest ran beside it). */
const RUN_EVENTS_SCAN = 100_000;

/**
 * A file the model cannot read whole in one request is refused before any call, with the sizes: the prompt
 * (the file, what else is shown, the test output) and room for the reply must fit the model's context window.
 */
function checkFits(provider: ProviderName, model: string, fileBytes: number, rel: string, shown: string[]): void {
  const promptTokens = estimateTokens(fileBytes + shown.reduce((sum, text) => sum + text.length, 0) + PROMPT_OVERHEAD_CHARS);
  const window = contextWindowTokens(provider, model);
  if (promptTokens + MAX_OUTPUT_TOKENS <= window) return;
  const kb = (n: number) => `${Math.round(n / 1024).toLocaleString('en-US')} KB`;
  const tokens = (n: number) => n.toLocaleString('en-US');
  throw new EngineError(
    'invalid_params',
    `${rel} is ${kb(fileBytes)}: with the rest of the prompt that is about ${tokens(promptTokens)} tokens plus ${tokens(MAX_OUTPUT_TOKENS)} ` +
      `for the reply, but ${model} reads at most ${tokens(window)}; choose a model with a larger context window or a smaller file`,
  );
}

/** Requests arrive as JSON from other processes: check types and bounds before trusting them. */
function checkShape(request: RunRequest): void {
  const fail = (message: string): never => {
    throw new EngineError('invalid_params', message);
  };
  if (typeof request.file !== 'string' || request.file === '') fail('file is required');
  const strings = {
    file: REQUEST_LIMITS.pathChars,
    testFile: REQUEST_LIMITS.pathChars,
    testCommand: REQUEST_LIMITS.testCommandChars,
    prompt: REQUEST_LIMITS.promptChars,
    model: REQUEST_LIMITS.modelChars,
  };
  for (const [key, max] of Object.entries(strings) as [keyof typeof strings, number][]) {
    const value = request[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') fail(`${key} must be a string`);
    else if (value.length > max) fail(`${key} is ${value.length.toLocaleString('en-US')} characters; at most ${max.toLocaleString('en-US')} are accepted`);
  }
  const numbers = { maxRuns: REQUEST_LIMITS.maxRuns, budgetUsd: REQUEST_LIMITS.budgetUsd, budgetSec: REQUEST_LIMITS.budgetSec };
  for (const [key, max] of Object.entries(numbers) as [keyof typeof numbers, number][]) {
    const value = request[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') fail(`${key} must be a number`);
    else if (value > max) fail(`${key} must be at most ${max} (got ${value})`);
  }
  for (const key of ['testFiles', 'contextFiles'] as const) {
    const list = request[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item.length > REQUEST_LIMITS.pathChars)) fail(`${key} must be a list of paths`);
    else if (list.length > REQUEST_LIMITS.files) fail(`${key} may name at most ${REQUEST_LIMITS.files} files (got ${list.length})`);
  }
  if (
    request.contextBudget !== undefined &&
    !(Number.isInteger(request.contextBudget) && request.contextBudget >= 0 && request.contextBudget <= REQUEST_LIMITS.contextBudget)
  ) {
    fail(`contextBudget must be a whole number of characters from 0 to ${REQUEST_LIMITS.contextBudget}`);
  }
  if (request.provider !== undefined && !isProviderName(request.provider)) fail(unknownProviderMessage(request.provider));
}

/**
 * The conventional ways to ask for plain output: a runner that honours any of them prints no escape codes
 * (escapes that still arrive are stripped by the test runner). TERM=dumb also stops progress redraws.
 */
const NO_COLOR_ENV = { NO_COLOR: '1', FORCE_COLOR: '0', TERM: 'dumb' } as const;

function realpathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
