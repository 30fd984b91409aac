import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { runLoop } from './agent/loop';
import { PathError, readSource, resolveInWorkspace, stateDir } from './agent/workspace';
import { positiveInt, positiveNumber, resolveSettings } from './config';
import { EventLog, readEvents } from './events/log';
import { StatsAggregator } from './events/stats';
import { DevAiSettings, ErrorCodes, isProviderName, ProviderName, RunOutcome, RunSummary, Stats } from './protocol';
import { createProvider, DEFAULT_MODELS, Env, KEY_VARIABLES, Provider, secretsIn } from './providers';
import { ConfigError } from './providers/types';

/** What a caller (LSP request, CLI flags, later the HTTP API) asks for; the engine validates all of it. */
export interface RunRequest {
  /** Workspace-relative or absolute path. */
  file: string;
  testCommand?: string;
  prompt?: string;
  /** Workspace-relative or absolute path of a test file to show the model. */
  testFile?: string;
  maxRuns?: number;
  provider?: ProviderName;
  model?: string;
  keep?: boolean;
  budgetUsd?: number;
  budgetSec?: number;
}

export type EngineErrorCode = 'invalid_params' | 'run_in_progress' | 'configuration' | 'untrusted';

/** A refused request, with a message for the user; nothing was started. */
export class EngineError extends Error {
  constructor(readonly code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
  }

  /** Its JSON-RPC error code, the same over the LSP host and the live API's WebSocket. */
  get rpcCode(): number {
    return RPC_CODES[this.code];
  }
}

const RPC_CODES: Record<EngineErrorCode, number> = {
  invalid_params: ErrorCodes.InvalidParams,
  run_in_progress: ErrorCodes.RunInProgress,
  configuration: ErrorCodes.Configuration,
  untrusted: ErrorCodes.Untrusted,
};

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
  done: Promise<RunOutcome>;
}

/**
 * The engine behind every front end: validates and starts runs (one per file), cancels them, and keeps the
 * stats and run list folded from the log. The LSP host, the CLI and the HTTP API are thin layers over it.
 */
export class Engine {
  private readonly aggregator = new StatsAggregator();
  private readonly active = new Map<string, ActiveRun>();
  private env: Env;

  private constructor(private readonly options: EngineOptions) {
    this.env = options.env;
    options.log.setSecrets(secretsIn(this.env));
  }

  /** Opens the engine over a log: replays it into the stats and closes runs a dead process left open. */
  static async create(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    for await (const event of readEvents(options.log.file)) engine.aggregator.add(event);
    options.log.onEvent((event) => engine.aggregator.add(event));
    engine.closeInterrupted();
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
    return this.aggregator.stats();
  }

  runs(): RunSummary[] {
    return this.aggregator.runList();
  }

  spendSince(sinceTs: number): { costUsd: number; calls: number } {
    return this.aggregator.spendSince(sinceTs);
  }

  isRunning(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Validates everything before anything starts; throws EngineError with a message for the user. */
  start(request: RunRequest): { runId: string; done: Promise<RunOutcome> } {
    const { root } = this.options;
    if (this.options.trusted === false) {
      throw new EngineError('untrusted', 'this workspace is not trusted, so micro-agent runs no test commands and writes no files; trust the workspace to run it');
    }
    checkShape(request);
    const settings = this.resolve(request);
    const testCommand = (request.testCommand ?? settings.testCommand)?.trim();
    if (!testCommand) throw new EngineError('invalid_params', 'no test command: pass one (-t "npm test") or set devAi.testCommand');
    const target = this.checkedPath(request.file);
    for (const run of this.active.values()) {
      if (run.file === target.abs) throw new EngineError('run_in_progress', `a run is already going on ${target.rel}; cancel it first`);
    }
    const testFile = request.testFile ? this.checkedPath(request.testFile) : undefined;
    const provider = this.providerFor(settings);

    const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const controller = new AbortController();
    const done = runLoop({
      runId,
      root,
      file: target.abs,
      testCommand,
      prompt: request.prompt?.trim() || null,
      testFile: testFile ? { path: testFile.rel, contents: readSource(testFile.abs, testFile.rel) } : null,
      maxRuns: settings.maxRuns,
      provider,
      model: settings.model,
      budgetUsd: settings.budgetUsd,
      budgetMs: request.budgetSec === undefined ? null : positiveNumber('budgetSec', request.budgetSec) * 1000,
      testTimeoutMs: settings.testTimeoutMs,
      keep: request.keep === true,
      runDir: path.join(stateDir(root), 'runs', runId),
      testEnv: withoutKeys(process.env),
      signal: controller.signal,
      emit: (event) => this.options.log.append(event),
    })
      .catch((err: Error): RunOutcome => {
        // runLoop reports its own failures; this is the last line of defence (e.g. the disk filled up).
        this.options.log.append({ type: 'log', runId, level: 'error', message: `run ${runId} failed: ${err.message}` });
        return 'error';
      })
      .finally(() => this.active.delete(runId));
    this.active.set(runId, { file: target.abs, controller, done });
    return { runId, done };
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
  }

  /** The configured provider and model, for model calls outside a run (reviews). */
  modelClient(): { provider: Provider; model: string } {
    const settings = this.resolve({});
    return { provider: this.providerFor(settings), model: settings.model };
  }

  private providerFor(settings: { provider: ProviderName; ollamaUrl: string | undefined }): Provider {
    try {
      return createProvider(settings.provider, this.env, { ollamaUrl: settings.ollamaUrl });
    } catch (err) {
      throw new EngineError('configuration', (err as Error).message);
    }
  }

  private resolve(request: Partial<RunRequest>) {
    try {
      const settings = resolveSettings(this.options.root, this.options.settings?.() ?? {}, this.env);
      return {
        ...settings,
        provider: request.provider ?? settings.provider,
        // The configured model belongs to the configured provider; another provider starts from its default.
        model: request.model || (request.provider && request.provider !== settings.provider ? DEFAULT_MODELS[request.provider] : settings.model),
        maxRuns: request.maxRuns === undefined ? settings.maxRuns : positiveInt('maxRuns', request.maxRuns),
        budgetUsd: request.budgetUsd === undefined ? settings.budgetUsd : positiveNumber('budgetUsd', request.budgetUsd),
      };
    } catch (err) {
      if (err instanceof ConfigError) throw new EngineError('invalid_params', err.message);
      throw err;
    }
  }

  private checkedPath(file: string): { abs: string; rel: string } {
    try {
      const target = resolveInWorkspace(this.options.root, file);
      readSource(target.abs, target.rel);
      return target;
    } catch (err) {
      if (err instanceof PathError) throw new EngineError('invalid_params', err.message);
      throw err;
    }
  }

  /** A run the log shows started but never finished belonged to a process that died; say so in the log. */
  private closeInterrupted(): void {
    for (const run of this.aggregator.unfinished()) {
      // Another process sharing this log (the CLI beside the editor) may still be running it.
      if (run.pid !== process.pid && isAlive(run.pid)) continue;
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
        error: `the process running it stopped; the original of ${run.file} is kept under .micro-agent/runs/${run.runId}/`,
      });
    }
  }
}

/** Requests arrive as JSON from other processes: check the types before trusting them. */
function checkShape(request: RunRequest): void {
  const fail = (message: string) => {
    throw new EngineError('invalid_params', message);
  };
  if (typeof request.file !== 'string' || request.file === '') fail('file is required');
  for (const key of ['testCommand', 'prompt', 'testFile', 'model'] as const) {
    if (request[key] !== undefined && typeof request[key] !== 'string') fail(`${key} must be a string`);
  }
  for (const key of ['maxRuns', 'budgetUsd', 'budgetSec'] as const) {
    if (request[key] !== undefined && typeof request[key] !== 'number') fail(`${key} must be a number`);
  }
  if (request.provider !== undefined && !isProviderName(request.provider)) fail(`unknown provider "${String(request.provider)}" (expected openai, anthropic or ollama)`);
}

/** The test command gets the user's environment without the API keys: tests have no business with them. */
function withoutKeys(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of Object.values(KEY_VARIABLES)) if (name) delete copy[name];
  return copy;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
