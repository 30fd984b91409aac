import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatherContext, nodeContextIO } from './agent/context';
import { ContextFile, MAX_OUTPUT_TOKENS, runLoop, runTestsLogged, TestedRun } from './agent/loop';
import { toModelText } from './agent/textFile';
import { ConfigError, Env, positiveInt, positiveNumber, resolveSettings } from './config';
import { EventLog } from './events/log';
import { LogIndex } from './events/logIndex';
import type { AgentEvent, RunOutcome, RunSummary, Stats } from './protocol/events';
import type { RollupsResult, RunsResult } from './protocol/methods';
import { isProviderName, KEY_VARIABLES, PROVIDER_INFO, ProviderName, unknownProviderMessage } from './protocol/providers';
import type { DevAiSettings } from './protocol/settings';
import { createProvider, Provider, secretsIn } from './providers';
import { contextWindowTokens, estimateTokens } from './providers/contextWindows';
import { acquireRunLock, isAlive, LockHeldError, RunLock } from './runLock';
import { PathError, readSource, resolveInWorkspace, statePaths, toPosix } from './workspace';

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
}

/** Why a request was refused; `handlers.ts` maps each to one JSON-RPC code and one HTTP status. */
export type EngineErrorCode = 'invalid_params' | 'run_in_progress' | 'configuration' | 'untrusted' | 'forbidden';

/** A refused request, with a message for the user; nothing was started. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
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
  private env: Env;

  private constructor(private readonly options: EngineOptions) {
    this.env = options.env;
    options.log.setSecrets(secretsIn(this.env));
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

  spendSince(sinceTs: number): { costUsd: number; calls: number } {
    this.history.catchUp();
    return this.history.aggregator.spendSince(sinceTs);
  }

  /** Calls and runs since `sinceTs` summed per bucket and model (`microAgent/rollups`), with the seq they cover. */
  rollups(sinceTs: number, bucketMs: number | null, sketches: boolean): RollupsResult {
    this.history.catchUp();
    const rollups = this.history.aggregator.rollups(sinceTs, bucketMs, sketches);
    const result = { sinceTs, bucketMs, lastSeq: this.history.foldedSeq, ...rollups };
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

  private plan(request: RunRequest): RunPlan {
    if (this.options.trusted === false) {
      throw new EngineError(
        'untrusted',
        'this workspace is not trusted, so micro-agent runs no test commands and writes no files; trust the workspace to run it',
      );
    }
    checkShape(request);
    const settings = this.resolve(request);
    const testCommand = (request.testCommand ?? settings.testCommand)?.trim();
    if (!testCommand) throw new EngineError('invalid_params', 'no test command: pass one (-t "npm test") or set devAi.testCommand');
    const target = this.checkedPath(request.file);
    const testFiles = [...(request.testFile ? [request.testFile] : []), ...(request.testFiles ?? [])].map((file) => {
      const checked = this.checkedPath(file);
      return { path: checked.rel, contents: toModelText(checked.contents) };
    });
    const extra = (request.contextFiles ?? []).map((file) => this.checkedPath(file).abs);
    const budgetChars = request.contextBudget ?? settings.contextBudgetChars;
    const gathered = gatherContext({ ...nodeContextIO(this.options.root), root: this.options.root, target: target.abs, budgetChars, extra });
    const shownTests = new Set(testFiles.map((file) => file.path));
    const context = gathered.files.filter((file) => !shownTests.has(file.path)).map(({ path: file, contents }) => ({ path: file, contents }));
    const prompt = request.prompt?.trim() || null;
    const shown = [...testFiles, ...context].map((file) => file.contents);
    checkFits(settings.provider, settings.model, target, [...shown, prompt ?? '', gathered.workspaceFiles.join('\n')]);
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
    };
  }

  /**
   * Takes the file for this run: one run per file, refused while another holds it, in this engine or in any
   * other process on the workspace (through the file's lock under `.micro-agent/locks/`).
   */
  private claim(plan: RunPlan): AbortController {
    for (const run of this.active.values()) {
      if (run.file === plan.target.abs) throw new EngineError('run_in_progress', `a run is already going on ${plan.target.rel}; cancel it first`);
    }
    let lock: RunLock;
    try {
      lock = acquireRunLock(this.options.root, plan.target.rel, plan.runId);
    } catch (err) {
      if (err instanceof LockHeldError) {
        const where = toPosix(path.relative(this.options.root, err.lockFile));
        throw new EngineError('run_in_progress', `${plan.target.rel} ${err.message}; wait for it to finish or cancel it first (its lock: ${where})`);
      }
      if (err instanceof PathError) throw new EngineError('configuration', err.message);
      throw err;
    }
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

  private launch(plan: RunPlan, controller: AbortController, firstTest?: TestedRun): Promise<RunOutcome> {
    const { runId } = plan;
    const claimed = this.active.get(runId);
    if (!claimed) throw new Error(`run ${runId} was not claimed`);
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
      keep: plan.keep,
      runDir: statePaths(this.options.root).runDir(runId),
      firstTest,
      signal: controller.signal,
      emit: (event) => this.options.log.append(event),
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

  /** How this engine runs a plan's tests: in the workspace, with its timeout, never with the API keys. */
  private testOptions(plan: RunPlan) {
    return { testCommand: plan.testCommand, cwd: this.options.root, testTimeoutMs: plan.testTimeoutMs, testEnv: testEnvironment(process.env) };
  }

  private providerFor(settings: { provider: ProviderName; ollamaUrl: string | undefined }): Provider {
    try {
      return createProvider(settings.provider, this.env, { ollamaUrl: settings.ollamaUrl });
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
        error: `run ${run.runId} on ${run.file} was interrupted: its process (pid ${run.pid}) stopped; the original of ${run.file} is kept under ${kept}/`,
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
function checkFits(provider: ProviderName, model: string, target: { abs: string; rel: string }, shown: string[]): void {
  const fileBytes = fs.statSync(target.abs).size;
  const promptTokens = estimateTokens(fileBytes + shown.reduce((sum, text) => sum + text.length, 0) + PROMPT_OVERHEAD_CHARS);
  const window = contextWindowTokens(provider, model);
  if (promptTokens + MAX_OUTPUT_TOKENS <= window) return;
  const kb = (n: number) => `${Math.round(n / 1024).toLocaleString('en-US')} KB`;
  const tokens = (n: number) => n.toLocaleString('en-US');
  throw new EngineError(
    'invalid_params',
    `${target.rel} is ${kb(fileBytes)}: with the rest of the prompt that is about ${tokens(promptTokens)} tokens plus ${tokens(MAX_OUTPUT_TOKENS)} ` +
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

/** The test command gets the user's environment without the API keys (tests have no business with them) and without colour. */
function testEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = { ...env, ...NO_COLOR_ENV };
  for (const name of KEY_VARIABLES) delete copy[name];
  return copy;
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
