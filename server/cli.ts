/**
 * `micro-agent`: the engine headless, for terminals and CI.
 *   micro-agent run <file> -t "<cmd>" [-m N] [-p text|file] [-f test-file] [--provider P] [--model M] [--keep] [--log path]
 *   micro-agent stats [--log path]
 *   micro-agent serve [--workspace dir] [--port N] [--host 127.0.0.1] [--allow-remote] [-t cmd] [--log path]
 *   micro-agent token rotate [--workspace dir]
 *   micro-agent mcp [--workspace dir] [-t cmd] [--log path]
 * Exit codes: 0 tests pass, 1 they do not by the end of the budget (or the run failed), 2 usage or configuration
 * error, 130 cancelled with Ctrl-C.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, parsePort, resolveSettings } from './config';
import { Engine, EngineError } from './engine';
import { EventLog, readEvents } from './events/log';
import { StatsAggregator } from './events/stats';
import { formatEvent, formatStats } from './format';
import type { ApiInfo } from './protocol/api';
import type { RunFinishedEvent, RunOutcome } from './protocol/events';
import { isProviderName, unknownProviderMessage } from './protocol/providers';
import { LOOPBACK_HOSTS } from './api/auth';
import { startApi } from './api/start';
import { rotateTokens, writePrivate } from './api/tokens';
import { installCrashGuard } from './crashGuard';
import { startTelemetryOrWarn } from './telemetry';
import { ensureStateDir, PathError, refuseReserved, statePaths } from './workspace';

const USAGE = `micro-agent: an LLM writes or fixes a file until its tests pass.

Usage:
  micro-agent run <file> -t "<test command>" [options]
  micro-agent stats [--log <path>]
  micro-agent serve [--workspace <dir>] [--port <n>] [--host 127.0.0.1] [-t "<test command>"]
  micro-agent token rotate [--workspace <dir>]
  micro-agent mcp [--workspace <dir>] [-t "<test command>"] [--log <path>]

Options for run:
  -t, --test <cmd>        test command; exit code 0 means pass (required unless MICRO_AGENT_TEST_COMMAND is set)
  -m, --max-runs <n>      most model iterations (default 10)
  -p, --prompt <text>     what the code should do, or a path to a prompt file
                          (default: <file>.prompt.md beside the file, if there is one)
  -f, --test-file <path>  a test file to show the model (read-only; repeatable)
      --context <path>    another file to show the model (repeatable); the file's local imports are shown anyway
      --context-budget <n> characters of context files a prompt may hold (default 60000)
      --provider <name>   openai | anthropic | ollama (default: the first with a key, else ollama)
      --model <name>      model id (default per provider)
      --budget <usd>      stop when the calls have cost this much
      --time-budget <s>   stop after this many seconds
      --test-timeout <s>  kill the test command after this many seconds (default 120)
      --keep              keep the last attempt when the tests still fail (default: restore the original)
      --log <path>        event log (default .micro-agent/events.jsonl)

serve runs the engine with the live API (HTTP, SSE, WebSocket; see AI-DEVELOP.md) on loopback, writing the
URL and tokens to <workspace>/.micro-agent/api.json (mode 0600). --port 0 (the default) picks a free port.
Binding anything but loopback needs --allow-remote. token rotate replaces the tokens; old ones stop working.

mcp serves the engine to MCP clients (Claude Code, Cline, VS Code) over stdin/stdout: the tools fix_file,
list_runs, get_stats and cancel_run (see README.md).

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
    case 'serve':
      return serve(rest);
    case 'token':
      return token(rest);
    case 'mcp':
      return mcp(rest);
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
      'time-budget': { type: 'string' },
      'test-timeout': { type: 'string' },
      keep: { type: 'boolean', default: false },
      log: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('run takes exactly one file');
  const file = positionals[0];
  if (values.provider !== undefined && !isProviderName(values.provider)) throw new UsageError(unknownProviderMessage(values.provider));
  const root = process.cwd();
  const env = { ...process.env, ...(values['test-timeout'] ? { MICRO_AGENT_TEST_TIMEOUT_SEC: values['test-timeout'] } : {}) };
  const log = openLog(root, values.log);
  const telemetry = startTelemetryOrWarn(log, process.env, (_level, message) => console.error(message));
  // Subscribed before the engine opens: it tells of runs an earlier process left open (killed, crashed) as it
  // closes them, and run.started is appended synchronously inside start.
  const finished = new Map<string, RunFinishedEvent>();
  log.onEvent((event) => {
    if (event.type === 'run.finished') finished.set(event.runId, event);
    const line = formatEvent(event);
    if (line) console.log(line);
  });
  const engine = await openEngine(root, log, env);
  const started = engine.start({
    file,
    testCommand: values.test,
    prompt: readPrompt(root, file, values.prompt),
    testFiles: values['test-file'],
    contextFiles: values.context,
    contextBudget: optionalNumber('--context-budget', values['context-budget']),
    maxRuns: optionalNumber('--max-runs', values['max-runs']),
    provider: values.provider,
    model: values.model,
    budgetUsd: optionalNumber('--budget', values.budget),
    budgetSec: optionalNumber('--time-budget', values['time-budget']),
    keep: values.keep,
  });
  // First Ctrl-C cancels cleanly (tests killed, original restored); a second one exits at once.
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(EXIT.cancelled);
    console.error('cancelling… (Ctrl-C again to quit now)');
    engine.cancel(started.runId);
  });
  const outcome: RunOutcome = await started.done;
  await telemetry?.shutdown();
  log.close();
  // A rejected key is a configuration error like a missing one.
  if (finished.get(started.runId)?.errorKind === 'auth') return EXIT.usage;
  return EXIT[outcome];
}

async function stats(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { log: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const file = resolveSettings(process.cwd(), { logPath: values.log }, process.env).logPath;
  if (!fs.existsSync(file)) throw new UsageError(`no event log at ${file}; run micro-agent first or pass --log`);
  const aggregator = new StatsAggregator();
  for await (const event of readEvents(file)) aggregator.add(event);
  const result = aggregator.stats();
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
  const { values } = parseArgs({ args, options: { workspace: { type: 'string' }, test: { type: 'string', short: 't' }, log: { type: 'string' } } });
  // stdout is the MCP channel: a stray line would corrupt it, so whatever prints goes to stderr.
  console.log = console.error;
  const root = workspaceDir(values.workspace);
  const { engine, close } = await openServer(root, values, (line) => console.error(line));
  console.error(`micro-agent: MCP server on stdio for ${root}`);
  // Loaded here, not at the top: the MCP SDK and zod cost every other command ~180 ms of start-up.
  const { serveMcpOverStdio } = await import('./mcp');
  // Until the client closes stdin (or a signal): then every run is cancelled and its files restored.
  await Promise.race([serveMcpOverStdio(engine, VERSION), stopSignal()]);
  await close();
  return 0;
}

/**
 * The engine of a long-lived server (serve, mcp) with its log and telemetry; `print` shows each event's line. It
 * subscribes before the engine opens, as run does, so it tells of runs a killed process left open as it closes them.
 */
async function openServer(root: string, flags: { test?: string; log?: string }, print: (line: string) => void) {
  const env = { ...process.env, ...(flags.test ? { MICRO_AGENT_TEST_COMMAND: flags.test } : {}) };
  const log = openLog(root, flags.log);
  const telemetry = startTelemetryOrWarn(log, process.env, (_level, message) => console.error(message));
  log.onEvent((event) => {
    const line = formatEvent(event);
    if (line) print(line);
  });
  const engine = await openEngine(root, log, env);
  const close = async () => {
    await engine.dispose();
    await telemetry?.shutdown();
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
    if (!(prompt.length < 4096 && fs.existsSync(asPath) && fs.statSync(asPath).isFile())) return prompt;
    // A prompt file goes to the model: never one of the engine's own files (the API tokens) or git's.
    try {
      refuseReserved(root, asPath);
    } catch (err) {
      if (err instanceof PathError) throw new UsageError(`-p ${prompt}: ${err.message}`);
      throw err;
    }
    return fs.readFileSync(asPath, 'utf8');
  }
  const abs = path.resolve(root, file);
  for (const candidate of [`${abs}.prompt.md`, abs.replace(/\.[^./\\]+$/, '.prompt.md')]) {
    if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
  }
  return undefined;
}

function optionalNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
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
