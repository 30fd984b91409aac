/**
 * Planning a run: a request checked against the settings, the workspace and the daily cap, and turned into a
 * `RunPlan` (the target and test files read, the context gathered, the provider made); tests first's new test
 * files and drafts; and how a plan's tests run (the environment code micro-agent does not trust gets).
 */
import { applyCustomPrices } from '../providers/customPrices';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatherContext, nodeContextIO } from '../agent/context';
import { toModelText } from '../agent/textFile';
import type { DailyCap } from '../alerts/dailyCap';
import { Env, positiveInt, positiveNumber, resolveSettings } from '../foundation/config';
import { gitWorkTree } from '../foundation/git';
import { MAX_FILE_BYTES, PathError, readSource, resolveInWorkspace } from '../foundation/workspace';
import type { GeneratedTests } from '../protocol/methods';
import { PROVIDER_INFO, ProviderName } from '../protocol/providers';
import { createProvider, Provider } from '../providers';
import { contextWindowTokens } from '../providers/contextWindows';
import { withReportFlags } from '../testResults';
import { checked, checkFits, checkShape, EngineError, EngineOptions, REQUEST_LIMITS, RunPlan, RunRequest } from './request';

export class Planner {
  /** Tests-first drafts by test file: how many the model wrote and the last, to tell whether the user edited it. */
  readonly testDrafts = new Map<string, { drafts: number; last: string }>();

  constructor(
    private readonly options: EngineOptions,
    /** The environment keys come from (`Engine.setEnv` replaces it). */
    private readonly env: () => Env,
    private readonly dailyCap: DailyCap,
  ) {}

  /** Refuses a model call outside a run (a review) once today's spend reached `devAi.dailyBudgetUsd`. */
  checkDailyBudget(): void {
    const reached = this.dailyCap.reached();
    if (reached) throw new EngineError('budget_daily', reached);
  }

  /** The configured provider and model, for model calls outside a run (reviews). */
  modelClient(): { provider: Provider; model: string } {
    const settings = this.resolve({});
    return { provider: this.providerFor(settings), model: settings.model };
  }

  refuseUntrusted(): void {
    if (this.options.trusted === false) {
      throw new EngineError(
        'untrusted',
        'this workspace is not trusted, so micro-agent runs no test commands and writes no files; trust the workspace to run it',
      );
    }
  }

  /**
   * The request checked and turned into a plan. Asynchronous for one reason: the model's context window may have to
   * be asked of the vendor (Ollama's `/api/show`) before a file too large for it is refused.
   */
  async plan(request: RunRequest, options: { targetMayBeMissing?: boolean } = {}): Promise<RunPlan> {
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
    const provider = this.providerFor(settings);
    checkFits(await this.contextWindow(provider, settings.model), settings.model, target.contents.length, target.rel, [
      ...shown,
      prompt ?? '',
      gathered.workspaceFiles.join('\n'),
    ]);
    return {
      runId: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
      target: { abs: target.abs, rel: target.rel },
      testCommand,
      prompt,
      testFiles,
      context,
      workspaceFiles: gathered.workspaceFiles,
      provider,
      model: settings.model,
      maxRuns: settings.maxRuns,
      budgetUsd: settings.budgetUsd,
      budgetMs: request.budgetSec === undefined ? null : checked(() => positiveNumber('budgetSec', request.budgetSec)) * 1000,
      testTimeoutMs: settings.testTimeoutMs,
      keep: request.keep === true,
      commit,
      gitTimeoutMs: settings.gitTimeoutMs,
      generatedTests: generated && { abs: generated.abs, contents: generated.contents, ...this.draftsOf(generated) },
    };
  }

  /** A test file the user accepted: a new file inside the workspace, within the size limit. */
  acceptedTests(tests: GeneratedTests): { abs: string; rel: string; contents: string } {
    if (typeof tests !== 'object' || tests === null || typeof tests.contents !== 'string')
      throw new EngineError('invalid_params', 'generatedTests must be { testFile, contents }');
    if (Buffer.byteLength(tests.contents) > MAX_FILE_BYTES) throw new EngineError('invalid_params', `the test file is larger than ${MAX_FILE_BYTES / 1024} KB`);
    return { ...this.newTestFile(tests.testFile), contents: tests.contents };
  }

  draftsOf(tests: { abs: string; contents: string }): { drafts: number; edited: boolean } {
    const drafts = this.testDrafts.get(tests.abs);
    return { drafts: drafts?.drafts ?? 0, edited: drafts === undefined || drafts.last !== tests.contents };
  }

  /** Where a new test file goes: inside the workspace, not the engine's or git's, and not there yet. */
  newTestFile(file: unknown): { abs: string; rel: string } {
    if (typeof file !== 'string' || !file || file.length > REQUEST_LIMITS.pathChars) throw new EngineError('invalid_params', 'testFile must be a path');
    const resolved = this.workspacePath(file);
    if (fs.existsSync(resolved.abs))
      throw new EngineError('invalid_params', `${resolved.rel} exists already; give it as a test file (-f) instead of having one written`);
    return resolved;
  }

  /** A path inside the workspace and outside the engine's and git's folders; it need not exist. */
  workspacePath(file: string): { abs: string; rel: string } {
    try {
      return resolveInWorkspace(this.options.root, file, { mayBeMissing: true });
    } catch (err) {
      if (err instanceof PathError) throw new EngineError('invalid_params', err.message);
      throw err;
    }
  }

  /**
   * How this engine runs a plan's tests: in the workspace, with its timeout, never with a secret the engine knows,
   * and asking the runners that read it from the environment for a report naming every test.
   */
  testOptions(plan: RunPlan) {
    return { testCommand: plan.testCommand, cwd: this.options.root, testTimeoutMs: plan.testTimeoutMs, testEnv: withReportFlags(this.untrustedEnvironment()) };
  }

  /** What the loop takes from a plan, alike for a run and an eval's cell: the tests, the prompt, the bounds, the daily cap. */
  loopOptions(plan: RunPlan) {
    return {
      ...this.testOptions(plan),
      runId: plan.runId,
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
    };
  }

  /**
   * The environment of code micro-agent runs but does not trust (the tests, git and its hooks): the user's,
   * without any secret the engine knows (`Secrets.strip`: the keys, admin keys, the webhook URL, the API
   * tokens), and without colour.
   */
  untrustedEnvironment(): NodeJS.ProcessEnv {
    return { ...this.options.log.secrets.strip(process.env), ...NO_COLOR_ENV };
  }

  /**
   * The model's window for the check before a run. When the vendor cannot be asked in time (Ollama not running,
   * the model not pulled) the table's guess stands: the run's first call meets the same failure and reports it
   * with its classification and retries, as any call failure is.
   */
  private async contextWindow(provider: Provider, model: string): Promise<number> {
    try {
      return await provider.contextWindow(model, AbortSignal.timeout(WINDOW_QUERY_MS));
    } catch {
      return contextWindowTokens(provider.name, model);
    }
  }

  providerFor(settings: { provider: ProviderName; ollamaUrl: string | undefined }): Provider {
    try {
      return createProvider(settings.provider, this.env(), { ollamaUrl: settings.ollamaUrl, secrets: this.options.log.secrets });
    } catch (err) {
      throw new EngineError('configuration', (err as Error).message);
    }
  }

  resolve(request: Partial<RunRequest>) {
    return checked(() => {
      const configured = this.options.settings?.() ?? {};
      const settings = resolveSettings(this.options.root, configured, this.env());
      // Every cost of this process (each call's, the daily cap's) prices with the user's prices as they are now.
      applyCustomPrices(this.options.root, configured.prices);
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

  /** A file a run may read: inside the workspace, not the engine's own, a text file within the size limit; with its text. */
  checkedPath(file: string): { abs: string; rel: string; contents: string } {
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
}

/**
 * The conventional ways to ask for plain output: a runner that honours any of them prints no escape codes
 * (escapes that still arrive are stripped by the test runner). TERM=dumb also stops progress redraws.
 */
/** How long the check before a run waits for the vendor's answer about the model's window. */
const WINDOW_QUERY_MS = 10_000;

const NO_COLOR_ENV = { NO_COLOR: '1', FORCE_COLOR: '0', TERM: 'dumb' } as const;

function realpathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
