/**
 * A run request and its validation, pure: what a caller may ask for (`RunRequest`), the bounds every entry point
 * applies (`REQUEST_LIMITS`), the checks of a request's shape and of its fit in the model's context window, the
 * refusals (`EngineError`), and the plan a validated request becomes (`RunPlan`, built by `planner.ts`).
 */
import type { ContextFile, LoopInput } from '../agent/loop';
import { MAX_OUTPUT_TOKENS } from '../agent/loop';
import { ConfigError, type Env } from '../foundation/config';
import type { EventLog } from '../events/log';
import { isProviderName, ProviderName, unknownProviderMessage } from '../protocol/providers';
import type { GeneratedTests } from '../protocol/methods';
import type { DevAiSettings } from '../protocol/settings';
import type { Provider } from '../providers';
import { estimateTokens } from '../providers/contextWindows';

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

export /** A validated request, ready to run: everything `start` checks, resolved once. */
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

/** Runs a config check, turning its ConfigError into the engine's invalid-params refusal. */
export function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ConfigError) throw new EngineError('invalid_params', err.message);
    throw err;
  }
}

/** What a prompt holds besides the files (instructions, the test section, earlier attempts), in characters. */
const PROMPT_OVERHEAD_CHARS = 12_000;

/**
 * A file the model cannot read whole in one request is refused before any call, with the sizes: the prompt
 * (the file, what else is shown, the test output) and room for the reply must fit the model's context window.
 */
export function checkFits(window: number, model: string, fileBytes: number, rel: string, shown: string[]): void {
  const promptTokens = estimateTokens(fileBytes + shown.reduce((sum, text) => sum + text.length, 0) + PROMPT_OVERHEAD_CHARS);
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
export function checkShape(request: RunRequest): void {
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
