/**
 * `micro-agent`: the engine headless, for terminals and CI.
 *   micro-agent run <file> -t "<cmd>" [-m N] [-p text|file] [-f test-file] [--provider P] [--model M] [--keep] [--commit] [--yes]
 *       [--daily-budget usd] [--log path]
 *   micro-agent run --resume <runId> [-m N] [--provider P] [--model M] [--budget usd] [--force]
 *   micro-agent diff [runId] / micro-agent undo [runId] [--force]
 *   micro-agent stats [--log path]
 *   micro-agent serve [--workspace dir] [--port N] [--host 127.0.0.1] [--allow-remote] [-t cmd] [--log path]
 *   micro-agent token rotate [--workspace dir]
 *   micro-agent mcp [--workspace dir] [-t cmd] [--daily-budget usd] [--log path]
 *   micro-agent usage [--since days] [--provider openai|anthropic] [--json] [--write-prices] [--workspace dir] [--log path]
 *   micro-agent eval (--from-git range | --mutants n [--seed s] | --tasks file.jsonl) --models p:m,… [--json] [--plan] …
 *   micro-agent eval --resume <evalId> / --cell <json> / merge <results…>
 * Exit codes: 0 tests pass, 1 they do not by the end of the budget (or the run failed), 2 usage or configuration
 * error (and undo refused because files changed after the run), 130 cancelled with Ctrl-C.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { alertWebhookUrl, ConfigError, parsePort, resolveSettings } from '../foundation/config';
import { startAlertWebhook } from '../alerts/alertWebhook';
import { Engine, EngineError } from '../engine/engine';
import { EventLog } from '../events/log';
import { LogIndex } from '../events/logIndex';
import { formatEvent, formatStats } from '../events/format';
import type { ApiInfo } from '../protocol/api';
import type { RunFinishedEvent, RunOutcome } from '../protocol/events';
import type { GeneratedTests } from '../protocol/methods';
import { isProviderName, ProviderName, unknownProviderMessage } from '../protocol/providers';
import { TestsDeclined, writeTestsFirst } from './testsFirst';
import { LOOPBACK_HOSTS, rotateTokens, startApi, writePrivate } from '../api/start';
import { installCrashGuard } from '../foundation/crashGuard';
import { usageRequest } from '../engine/usageQuery';
import { writePricesFile } from '../providers/customPrices';
import { isUsageProvider, USAGE_PROVIDERS } from '../protocol/providerUsage';
import { formatUsage } from '../usage/format';
import { ADMIN_KEY_VARIABLES, adminKeyOf } from '../usage/refresh';
import { startTelemetryOrWarn } from '../telemetry/telemetry';
import { formatEvalEvent, formatLeaderboard } from '../eval/format';
import { removeAllCopies } from '../eval/isolation';
import { mergeResults } from '../eval/store';
import type { EvalCellJob, EvalCellResult } from '../protocol/eval';
import { ensureStateDir, lstatOrUndefined, PathError, readSource, resolveInWorkspace, statePaths } from '../foundation/workspace';

const USAGE = `micro-agent: an LLM writes or fixes a file until its tests pass.

Usage:
  micro-agent run <file> -t "<test command>" [options]
  micro-agent run --resume <runId> [-m <n>] [--provider <name>] [--model <name>] [--budget <usd>] [--force]
  micro-agent diff [runId]                the run's changes as a unified diff (default: the latest run)
  micro-agent undo [runId] [--force]      put back the originals of the run's files (default: the latest run)
  micro-agent stats [--log <path>]
  micro-agent serve [--workspace <dir>] [--port <n>] [--host 127.0.0.1] [-t "<test command>"] [--daily-budget <usd>]
  micro-agent token rotate [--workspace <dir>]
  micro-agent mcp [--workspace <dir>] [-t "<test command>"] [--daily-budget <usd>] [--log <path>]
  micro-agent usage [--since <days>] [--provider openai|anthropic] [--json] [--write-prices]
  micro-agent eval --models <provider:model,…> (--from-git <rev-range> | --mutants <n> | --tasks <file.jsonl>) [options]
  micro-agent eval --resume <evalId> [--json]
  micro-agent eval --plan … / micro-agent eval --cell '<job json>' / micro-agent eval merge <result.json…> [--json]

Options for run:
  -t, --test <cmd>        test command; exit code 0 means pass (required unless MICRO_AGENT_TEST_COMMAND is set)
  -m, --max-runs <n>      most model iterations (default 10)
  -p, --prompt <text>     what the code should do, or a path to a prompt file
                          (default: <file>.prompt.md beside the file, if there is one)
  -f, --test-file <path>  a test file to show the model (read-only; repeatable). Tests first: when it does not
                          exist yet, the model writes it from -p first and you accept, edit or give feedback
      --yes               accept the model's test file without asking (CI)
      --context <path>    another file to show the model (repeatable); the file's local imports are shown anyway
      --context-budget <n> characters of context files a prompt may hold (default 60000)
      --provider <name>   openai | anthropic | ollama (default: the first with a key, else ollama)
      --model <name>      model id (default per provider)
      --budget <usd>      stop when the calls have cost this much
      --daily-budget <usd> refuse or stop once today's calls (every run, review and process on this log) cost this much
      --time-budget <s>   stop after this many seconds
      --test-timeout <s>  kill the test command after this many seconds (default 120)
      --keep              keep the last attempt when the tests still fail (default: restore the original)
      --commit            in a git repository, commit the files a passing run changed (only those)
      --resume <runId>    go on with a failed, cancelled or interrupted run from its last attempt
      --force             with --resume or undo: overwrite files changed since the run
      --log <path>        event log (default .micro-agent/events.jsonl)

undo refuses (exit 2, listing them) when a file changed after the run last wrote it: your later edits are
never overwritten without --force.

serve runs the engine with the live API (HTTP, SSE, WebSocket; see AI-DEVELOP.md) on loopback, writing the
URL and tokens to <workspace>/.micro-agent/api.json (mode 0600). --port 0 (the default) picks a free port.
Binding anything but loopback needs --allow-remote. token rotate replaces the tokens; old ones stop working.

mcp serves the engine to MCP clients (Claude Code, Cline, VS Code) over stdin/stdout: the tools fix_file,
list_runs, get_stats, cancel_run, get_provider_usage and run_eval (see README.md).

usage fetches the org's usage and cost per UTC day and model from the vendors' admin APIs (OPENAI_ADMIN_KEY,
ANTHROPIC_ADMIN_KEY) and sets them beside the calls micro-agent logged: --since covers that many whole days up
to yesterday (default 30), plus today when the vendor reports it; --json prints one object; --write-prices writes
the prices the vendors' costs imply to .micro-agent/prices.json.

eval compares models on this repository: the same tasks for every model, each task × model cell run by the
normal loop in an isolated copy (your files, index, branches and stash are not touched). Tasks come from
--from-git <rev-range> (commits whose fix the tests catch), --mutants <n> [--seed <s>] (seeded bugs the tests
catch) and --tasks <file.jsonl> ({ file, testCommand, prompt?, setup? } a line). Options: -t <cmd>,
-m/--max-runs <n> (per cell, default 3), --budget <usd> (total), --task-budget <usd> (per cell),
--concurrency <n>, --resume <evalId>, --json. --plan prints the cells as a CI matrix; --cell runs one of them;
merge builds the leaderboard from their results. Exit codes: 0 finished (whatever the outcomes), 130 Ctrl-C,
2 usage error.

Keys come from OPENAI_API_KEY / ANTHROPIC_API_KEY; OPENAI_BASE_URL, ANTHROPIC_BASE_URL and OLLAMA_HOST point
at other endpoints.`;

class UsageError extends Error {}

const VERSION = '0.1.0';

const EXIT = { passed: 0, failed: 1, error: 1, cancelled: 130, usage: 2 } as const;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'stats':
      return stats(rest);
    case 'diff':
      return diff(rest);
    case 'undo':
      return undo(rest);
    case 'serve':
      return serve(rest);
    case 'token':
      return token(rest);
    case 'mcp':
      return mcp(rest);
    case 'usage':
      return usage(rest);
    case 'eval':
      return rest[0] === 'merge' ? evalMerge(rest.slice(1)) : evalCommand(rest);
    case '-v':
    case '--version':
      console.log(VERSION);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return command === undefined ? EXIT.usage : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      test: { type: 'string', short: 't' },
      'max-runs': { type: 'string', short: 'm' },
      prompt: { type: 'string', short: 'p' },
      'test-file': { type: 'string', short: 'f', multiple: true },
      context: { type: 'string', multiple: true },
      'context-budget': { type: 'string' },
      provider: { type: 'string' },
      model: { type: 'string' },
      budget: { type: 'string' },
      'daily-budget': { type: 'string' },
      'time-budget': { type: 'string' },
      'test-timeout': { type: 'string' },
      keep: { type: 'boolean', default: false },
      commit: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      resume: { type: 'string' },
      force: { type: 'boolean', default: false },
      log: { type: 'string' },
    },
  });
  const resuming = values.resume !== undefined;
  if (resuming ? positionals.length !== 0 : positionals.length !== 1)
    throw new UsageError(resuming ? '--resume takes the run, not a file' : 'run takes exactly one file');
  const file = positionals[0];
  if (values.provider !== undefined && !isProviderName(values.provider)) throw new UsageError(unknownProviderMessage(values.provider));
  const root = process.cwd();
  const env = runEnv(values['test-timeout'], values['daily-budget']);
  const log = openLog(root, values.log);
  const telemetry = startTelemetryOrWarn(log, process.env, (_level, message) => console.error(message));
  const webhook = startAlertWebhook(log, () => alertWebhookUrl({}, env), root);
  // Subscribed before the engine opens: it tells of runs an earlier process left open (killed, crashed) as it
  // closes them, and run.started is appended synchronously inside start.
  const finished = new Map<string, RunFinishedEvent>();
  log.onEvent((event) => {
    if (event.type === 'run.finished') finished.set(event.runId, event);
    const line = formatEvent(event);
    if (line) console.log(line);
  });
  const engine = await openEngine(root, log, env);
  const started = await (resuming
    ? engine.resume({
        runId: values.resume!,
        maxRuns: optionalNumber('--max-runs', values['max-runs']),
        provider: values.provider,
        model: values.model,
        budgetUsd: optionalNumber('--budget', values.budget),
        force: values.force,
      })
    : engine.start({
        file,
        testCommand: values.test,
        prompt: readPrompt(root, file, values.prompt),
        ...(await testFilesOf(engine, root, file, values)),
        contextFiles: values.context,
        contextBudget: optionalNumber('--context-budget', values['context-budget']),
        maxRuns: optionalNumber('--max-runs', values['max-runs']),
        provider: values.provider,
        model: values.model,
        budgetUsd: optionalNumber('--budget', values.budget),
        budgetSec: optionalNumber('--time-budget', values['time-budget']),
        keep: values.keep,
        commit: values.commit,
      }));
  // First Ctrl-C cancels cleanly (tests killed, original restored); a second one exits at once.
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(EXIT.cancelled);
    console.error('cancelling… (Ctrl-C again to quit now)');
    engine.cancel(started.runId);
  });
  const outcome: RunOutcome = await started.done;
  await Promise.all([telemetry?.shutdown(), webhook.close()]);
  log.close();
  // A rejected key is a configuration error like a missing one.
  if (finished.get(started.runId)?.errorKind === 'auth') return EXIT.usage;
  return EXIT[outcome];
}

/**
 * `eval`: every model on every task, in isolated copies; the leaderboard (or `--json` report) on stdout, progress on
 * stderr. Ctrl-C cancels the running cells (their copies are removed) and exits 130; `--resume` runs what is left.
 */
async function evalCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'from-git': { type: 'string' },
      mutants: { type: 'string' },
      seed: { type: 'string' },
      tasks: { type: 'string' },
      models: { type: 'string' },
      test: { type: 'string', short: 't' },
      'max-runs': { type: 'string', short: 'm' },
      budget: { type: 'string' },
      'task-budget': { type: 'string' },
      concurrency: { type: 'string' },
      resume: { type: 'string' },
      json: { type: 'boolean', default: false },
      plan: { type: 'boolean', default: false },
      cell: { type: 'string' },
      'daily-budget': { type: 'string' },
      'test-timeout': { type: 'string' },
      log: { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`eval takes options only (got ${positionals.join(' ')})`);
  const root = process.cwd();
  const env = runEnv(values['test-timeout'], values['daily-budget']);
  const log = openLog(root, values.log);
  const engine = await openEngine(root, log, env);
  // A copy must not outlive the process, whatever ends it.
  process.on('exit', removeAllCopies);
  const controller = new AbortController();
  let interrupts = 0;
  let cancel = () => controller.abort();
  process.on('SIGINT', () => {
    if (++interrupts > 1) {
      removeAllCopies();
      process.exit(EXIT.cancelled);
    }
    console.error('cancelling the eval: stopping the running cells and removing their copies… (Ctrl-C again to quit now)');
    cancel();
  });
  log.onEvent((event) => {
    const line = formatEvalEvent(event);
    if (line) console.error(line);
  });
  const whole = (flag: string, value: string | undefined) => {
    const n = optionalNumber(flag, value);
    if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number (got "${value}")`);
    return n;
  };
  try {
    if (values.cell !== undefined) {
      const result = await engine.evals.cell(parseJob(root, values.cell), controller.signal);
      console.log(JSON.stringify(result, null, 2));
      return controller.signal.aborted ? EXIT.cancelled : 0;
    }
    const params = {
      fromGit: values['from-git'],
      mutants: whole('--mutants', values.mutants),
      seed: whole('--seed', values.seed),
      tasks: values.tasks,
      models: values.models
        ?.split(',')
        .map((model) => model.trim())
        .filter(Boolean),
      testCommand: values.test,
      maxRuns: whole('--max-runs', values['max-runs']),
      budgetUsd: optionalNumber('--budget', values.budget),
      taskBudgetUsd: optionalNumber('--task-budget', values['task-budget']),
      concurrency: whole('--concurrency', values.concurrency),
    };
    if (values.plan) {
      console.log(JSON.stringify(await engine.evals.plan(params, controller.signal), null, 2));
      return 0;
    }
    const started = engine.evals.start(values.resume !== undefined ? { resume: values.resume } : params);
    cancel = () => engine.evals.cancel(started.evalId);
    if (interrupts > 0) cancel();
    // A range git does not know, a tasks file that does not parse: the user's to fix, said before any cell runs.
    await started.spec.catch((err: Error) => {
      if (!controller.signal.aborted && interrupts === 0) throw new UsageError(err.message);
    });
    const report = await started.done;
    console.log(values.json ? JSON.stringify(report, null, 2) : formatLeaderboard(report));
    return interrupts > 0 ? EXIT.cancelled : 0;
  } finally {
    await engine.dispose();
    removeAllCopies();
    log.close();
  }
}

/** `--cell` takes the job as JSON, or a path to a file holding it (a matrix entry CI wrote out). */
function parseJob(root: string, value: string): EvalCellJob {
  const text = value.trimStart().startsWith('{') ? value : fs.readFileSync(path.resolve(root, value), 'utf8');
  try {
    return JSON.parse(text) as EvalCellJob;
  } catch {
    throw new UsageError("--cell takes one job of --plan's matrix as JSON (or a file holding it)");
  }
}

/** `eval merge <results…>`: the leaderboard of the cells a CI matrix ran; each file one result, an array or JSON lines. */
async function evalMerge(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  if (positionals.length === 0) throw new UsageError('eval merge takes the result files of --cell');
  const results = positionals.flatMap((file) => {
    const text = fs.readFileSync(file, 'utf8').trim();
    try {
      const parsed =
        text.startsWith('[') || !text.includes('\n{')
          ? (JSON.parse(text) as unknown)
          : text
              .split('\n')
              .filter(Boolean)
              .map((line) => JSON.parse(line) as unknown);
      return (Array.isArray(parsed) ? parsed : [parsed]) as EvalCellResult[];
    } catch {
      throw new UsageError(`${file} is not a result of eval --cell`);
    }
  });
  if (results.some((result) => typeof result?.cell?.task !== 'string' || typeof result.task?.id !== 'string'))
    throw new UsageError('each file must hold results of eval --cell ({ evalId, task, cell })');
  let report;
  try {
    report = mergeResults(results);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  console.log(values.json ? JSON.stringify(report, null, 2) : formatLeaderboard(report));
  return 0;
}

/**
 * `-f` files; one that does not exist yet is written first (tests first): the model drafts it from the prompt
 * and the user accepts it (or `--yes` does) before the run starts.
 */
async function testFilesOf(
  engine: Engine,
  root: string,
  file: string,
  values: { 'test-file'?: string[]; prompt?: string; test?: string; provider?: string; model?: string; yes: boolean },
): Promise<{ testFiles?: string[]; generatedTests?: GeneratedTests }> {
  const all = values['test-file'] ?? [];
  const missing = all.filter((testFile) => !fs.existsSync(path.resolve(root, testFile)));
  if (missing.length === 0) return { testFiles: values['test-file'] };
  if (missing.length > 1) throw new UsageError(`${missing.join(', ')} do not exist; tests first writes one test file at a time`);
  const prompt = readPrompt(root, file, values.prompt);
  if (!prompt) throw new UsageError(`${missing[0]} does not exist; give -p "<what the code should do>" to have the model write the tests first`);
  const request = { file, testFile: missing[0], prompt, testCommand: values.test, provider: values.provider as ProviderName | undefined, model: values.model };
  try {
    const generatedTests = await writeTestsFirst(engine, { request, yes: values.yes, out: process.stderr });
    return { testFiles: all.filter((testFile) => testFile !== missing[0]), generatedTests };
  } catch (err) {
    if (err instanceof TestsDeclined) throw new UsageError(err.message);
    throw err;
  }
}

/** `diff [runId]`: what the run changed, as one unified diff on stdout. */
async function diff(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { workspace: { type: 'string' }, log: { type: 'string' } } });
  if (positionals.length > 1) throw new UsageError('diff takes at most one run id');
  const { engine, log } = await openQuietEngine(values);
  const changes = engine.runChanges(positionals[0]);
  log.close();
  if (changes.files.length === 0) console.error(`run ${changes.runId} on ${changes.file} left no file changed`);
  for (const file of changes.files) {
    process.stdout.write(file.diff);
    if (file.changedSince) console.error(`note: ${file.file} changed after the run; the diff shows what the run left`);
  }
  return 0;
}

/** `undo [runId] [--force]`: the originals back; refused (exit 2, with the files) over changes made after the run. */
async function undo(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { force: { type: 'boolean', default: false }, workspace: { type: 'string' }, log: { type: 'string' } },
  });
  if (positionals.length > 1) throw new UsageError('undo takes at most one run id');
  const { engine, log } = await openQuietEngine(values);
  try {
    const result = engine.undo(positionals[0], values.force);
    console.log(result.files.length ? `run ${result.runId}: put back ${result.files.join(', ')}` : `run ${result.runId}: the files were already the originals`);
    return 0;
  } catch (err) {
    if (!(err instanceof EngineError && err.code === 'changed_since')) throw err;
    console.error(`micro-agent: not undone: these files changed after the run last wrote them:`);
    for (const file of err.files ?? []) console.error(`  ${file}`);
    console.error('Your later edits would be lost; pass --force to undo anyway.');
    return EXIT.usage;
  } finally {
    log.close();
  }
}

/** The engine over a workspace's log for a one-shot command: only what is worth saying (interrupted runs) is printed. */
async function openQuietEngine(values: { workspace?: string; log?: string }): Promise<{ engine: Engine; log: EventLog }> {
  const root = workspaceDir(values.workspace);
  const log = openLog(root, values.log);
  log.onEvent((event) => {
    if (event.type === 'run.finished' && event.reason === 'interrupted') console.error(formatEvent(event));
  });
  return { engine: await openEngine(root, log, process.env), log };
}

/** `usage`: the vendors' org usage and cost reconciled with the log; exit 2 without any admin key. */
async function usage(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      since: { type: 'string' },
      provider: { type: 'string' },
      json: { type: 'boolean', default: false },
      'write-prices': { type: 'boolean', default: false },
      workspace: { type: 'string' },
      log: { type: 'string' },
    },
  });
  if (values.since !== undefined && !/^\d+$/.test(values.since)) throw new UsageError(`--since must be a whole number of days (got "${values.since}")`);
  if (values.provider !== undefined && !isUsageProvider(values.provider))
    throw new UsageError(`--provider must be ${USAGE_PROVIDERS.join(' or ')} (got "${values.provider}")`);
  const request = usageRequest({ sinceDays: values.since === undefined ? undefined : Number(values.since), provider: values.provider });
  const wanted = request.provider ? [request.provider] : USAGE_PROVIDERS;
  if (!wanted.some((provider) => adminKeyOf(process.env, provider)))
    throw new UsageError(`no admin key: set ${ADMIN_KEY_VARIABLES} (an organization admin key; a chat key cannot read usage and cost)`);
  const { engine, log } = await openQuietEngine(values);
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const result = await engine.providerUsage(request, { maxAgeMs: 0, signal: controller.signal });
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      for (const source of result.sources) if (source.message) console.error(`micro-agent: ${source.provider}: ${source.message}`);
    } else console.log(formatUsage(result));
    if (values['write-prices']) {
      // The latest day's implied rate per model: a price that changed mid-window ends at its current value.
      const implied = Object.fromEntries(result.rows.flatMap((row) => (row.impliedPrice ? [[row.model, row.impliedPrice] as const] : [])));
      const count = Object.keys(implied).length;
      if (count === 0) console.error('micro-agent: no price to write: every priced model matches the table within 5%');
      else console.error(`micro-agent: wrote ${count} price(s) (${Object.keys(implied).join(', ')}) to ${writePricesFile(engine.root, implied)}`);
    }
    return result.sources.some((s) => s.state === 'ok' || s.state === 'cached') ? 0 : EXIT.error;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    log.close();
  }
}

async function stats(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { log: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const file = resolveSettings(process.cwd(), { logPath: values.log }, process.env).logPath;
  if (!fs.existsSync(file)) throw new UsageError(`no event log at ${file}; run micro-agent first or pass --log`);
  // The index beside the log and the log's tail; with no index the whole log is folded once and the index kept.
  const index = LogIndex.open(file, { warn: (message) => console.error(`micro-agent: ${message}`) });
  await index.whenComplete();
  index.persist();
  const result = index.aggregator.stats();
  console.log(values.json ? JSON.stringify(result, null, 2) : formatStats(result));
  return 0;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      workspace: { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'allow-remote': { type: 'boolean', default: false },
      test: { type: 'string', short: 't' },
      'daily-budget': { type: 'string' },
      log: { type: 'string' },
    },
  });
  const root = workspaceDir(values.workspace);
  const port = parsePort('--port', values.port);
  const host = values.host;
  if (!LOOPBACK_HOSTS.includes(host)) {
    if (!values['allow-remote'])
      throw new UsageError(`--host ${host} is not a loopback address; pass --allow-remote to expose the API (and your workspace) beyond this machine`);
    console.error(
      `micro-agent: WARNING: the API listens on ${host}; anyone who can reach it and holds a token can run commands in ${root}. ` +
        'Tokens travel in clear text over plain HTTP.',
    );
  }
  const { engine, close } = await openServer(root, values, (line) => console.log(line));
  const api = await startApi({ engine, port, host, pageDir: path.join(__dirname, 'webview'), log: (message) => console.error(message) });
  console.log(`listening ${api.url}`);
  console.log(`tokens in ${api.infoFile}`);
  console.log(`dashboard ${api.dashboardUrl()}`);
  await stopSignal();
  console.error('stopping: cancelling runs…');
  await api.close();
  await close();
  return 0;
}

async function mcp(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { workspace: { type: 'string' }, test: { type: 'string', short: 't' }, 'daily-budget': { type: 'string' }, log: { type: 'string' } },
  });
  // stdout is the MCP channel: a stray line would corrupt it, so whatever prints goes to stderr.
  console.log = console.error;
  const root = workspaceDir(values.workspace);
  const { engine, close } = await openServer(root, values, (line) => console.error(line));
  console.error(`micro-agent: MCP server on stdio for ${root}`);
  // Loaded here, not at the top: the MCP SDK and zod cost every other command ~180 ms of start-up.
  const { serveMcpOverStdio } = await import('../mcp/mcp');
  // Until the client closes stdin (or a signal): then every run is cancelled and its files restored.
  await Promise.race([serveMcpOverStdio(engine, VERSION), stopSignal()]);
  await close();
  return 0;
}

/**
 * The engine of a long-lived server (serve, mcp) with its log, telemetry and alert webhook; `print` shows each event's
 * line. It subscribes before the engine opens, as run does, so it tells of runs a killed process left open as it closes them.
 */
async function openServer(root: string, flags: { test?: string; log?: string; 'daily-budget'?: string }, print: (line: string) => void) {
  const env = { ...process.env, ...(flags.test ? { MICRO_AGENT_TEST_COMMAND: flags.test } : {}), ...dailyBudgetEnv(flags['daily-budget']) };
  const log = openLog(root, flags.log);
  const telemetry = startTelemetryOrWarn(log, process.env, (_level, message) => console.error(message));
  const webhook = startAlertWebhook(log, () => alertWebhookUrl({}, env), root);
  log.onEvent((event) => {
    const line = formatEvent(event);
    if (line) print(line);
  });
  const engine = await openEngine(root, log, env);
  const close = async () => {
    await engine.dispose();
    await Promise.all([telemetry?.shutdown(), webhook.close()]);
    log.close();
  };
  return { engine, close };
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function token(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { workspace: { type: 'string' } } });
  if (positionals.join(' ') !== 'rotate') throw new UsageError('usage: micro-agent token rotate [--workspace <dir>]');
  const root = workspaceDir(values.workspace);
  ensureStateDir(root);
  const { apiTokens, apiInfo: infoFile } = statePaths(root);
  const tokens = rotateTokens(apiTokens);
  // A running server re-reads the token file on its next request; scripts read api.json.
  if (fs.existsSync(infoFile)) {
    const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as ApiInfo;
    writePrivate(infoFile, JSON.stringify({ ...info, token: tokens.full, readToken: tokens.read }, null, 2) + '\n');
  }
  console.log(`rotated: the old tokens no longer work; the new ones are in ${infoFile}`);
  return 0;
}

function workspaceDir(flag: string | undefined): string {
  const root = path.resolve(flag ?? process.cwd());
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UsageError(`--workspace ${root} is not a directory`);
  return fs.realpathSync(root);
}

/** The engine over the log, guarded: an unexpected error cancels its runs (restoring files) before the process exits. */
async function openEngine(root: string, log: EventLog, env: NodeJS.ProcessEnv): Promise<Engine> {
  const engine = await Engine.create({ root, log, env });
  installCrashGuard({ endRuns: () => engine.dispose(), log: (message) => console.error(message) });
  return engine;
}

function openLog(root: string, logFlag: string | undefined): EventLog {
  const file = resolveSettings(root, { logPath: logFlag }, process.env).logPath;
  ensureStateDir(root);
  return EventLog.open(file);
}

/** `-p` is text or a path to a prompt file; without it, `<file>.prompt.md` or `<name>.prompt.md` beside the file. */
function readPrompt(root: string, file: string, prompt: string | undefined): string | undefined {
  if (prompt !== undefined) {
    const asPath = path.resolve(root, prompt);
    const found = prompt.length < 4096 ? lstatOrUndefined(asPath) : undefined;
    return found && !found.isDirectory() ? readPromptFile(root, asPath, `-p ${prompt}`) : prompt;
  }
  const abs = path.resolve(root, file);
  for (const candidate of [`${abs}.prompt.md`, abs.replace(/\.[^./\\]+$/, '.prompt.md')]) {
    if (lstatOrUndefined(candidate)) return readPromptFile(root, candidate, path.relative(root, candidate));
  }
  return undefined;
}

/**
 * A prompt file goes to the model (and its preview into the log): it passes the check every file shown to a
 * model passes, links included, so it is never one of micro-agent's own files (the API tokens), git's, or a
 * file outside the workspace a link points at.
 */
function readPromptFile(root: string, file: string, what: string): string {
  try {
    const { abs, rel } = resolveInWorkspace(root, file);
    return readSource(abs, rel);
  } catch (err) {
    if (err instanceof PathError) throw new UsageError(`${what}: ${err.message}; not read`);
    throw err;
  }
}

/** `--daily-budget` reaches the engine as the variable it reads, MICRO_AGENT_DAILY_BUDGET_USD (the flag wins). */
/** The process environment with what `--test-timeout` and `--daily-budget` say, as the engine reads them. */
function runEnv(testTimeout: string | undefined, dailyBudget: string | undefined): NodeJS.ProcessEnv {
  return { ...process.env, ...(testTimeout ? { MICRO_AGENT_TEST_TIMEOUT_SEC: testTimeout } : {}), ...dailyBudgetEnv(dailyBudget) };
}

function dailyBudgetEnv(value: string | undefined): { MICRO_AGENT_DAILY_BUDGET_USD?: string } {
  const usd = optionalNumber('--daily-budget', value);
  if (usd !== undefined && usd < 0) throw new UsageError(`--daily-budget must be 0 (no cap) or more (got "${value}")`);
  return usd === undefined ? {} : { MICRO_AGENT_DAILY_BUDGET_USD: String(usd) };
}

function optionalNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Number('') is 0, which for a cap means none: an empty value is a mistake, not "no limit".
  if (value.trim() === '') throw new UsageError(`${flag} needs a number (got an empty value)`);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got "${value}")`);
  return n;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage =
      err instanceof UsageError || err instanceof ConfigError || err instanceof EngineError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`micro-agent: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof UsageError) console.error('Run "micro-agent --help" for usage.');
    process.exit(usage ? EXIT.usage : 1);
  },
);
