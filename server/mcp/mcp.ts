/**
 * micro-agent as a Model Context Protocol server (`micro-agent mcp`): the engine's tools for the agents users
 * already run (Claude Code, Cline, Continue, VS Code's agent mode), over stdio with the official SDK.
 *
 * A thin edge like the LSP host and the live API: `fix_file` goes through `Engine.start` (the one validator,
 * the same trust rules, budgets and event log), the other tools through the handler table. A refusal is a tool
 * error the calling agent can read (`isError`), never a protocol error or a crash.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { Engine, EngineError, REQUEST_LIMITS } from '../engine/engine';
import { formatEvent, formatStats } from '../events/format';
import { dispatch } from '../engine/handlers';
import { USAGE_PROVIDERS, USAGE_SINCE_DAYS } from '../protocol/providerUsage';
import { formatUsage } from '../usage/format';
import { McpServer, z } from './mcpSdk';
import { BoundedStdioTransport } from './mcpStdio';
import { formatEvalEvent, formatLeaderboard } from '../eval/format';
import { EVAL_LIMITS } from '../eval/evalRunner';
import type { AgentEvent, RunFinishedEvent, RunSummary } from '../protocol/events';
import { usd } from '../protocol/format';
import { Methods, RUNS_PAGE } from '../protocol/methods';
import { PROVIDERS } from '../protocol/providers';

/** How long a tool's result waits after its last progress notification, so that the two reach a client apart. */
const PROGRESS_SETTLE_MS = 50;

/** What `fix_file` answers in `structuredContent`, declared to clients as its output schema. */
const fixResult = {
  runId: z.string(),
  outcome: z.enum(['passed', 'failed', 'cancelled', 'error']),
  iterations: z.number().int(),
  costUsd: z.number(),
  files: z.array(z.string()).describe('workspace-relative paths the run changed'),
};

/** Runs listed by `list_runs` when the client does not say how many. */
const DEFAULT_RUNS = 20;

/** The engine's tools on an MCP server; `name`/`version` are what the server tells clients it is. */
export function createMcpServer(engine: Engine, version: string): McpServer {
  const server = new McpServer({ name: 'micro-agent', version }, { capabilities: { tools: {} } });

  server.registerTool(
    'fix_file',
    {
      title: 'Fix a file until its tests pass',
      description:
        'Runs micro-agent on one file of the workspace: a model rewrites the file, micro-agent runs the test command, feeds the failures ' +
        'back and iterates until the tests pass or the iteration or dollar budget ends. Changes the file on disk (the original is restored ' +
        'when the run fails or is cancelled; tests are never edited). Sends progress notifications while it runs; cancelling the request cancels the run.',
      inputSchema: z
        .object({
          file: z.string().describe('the file to fix, relative to the workspace (or absolute inside it)'),
          testCommand: z.string().optional().describe('the command that runs the tests in the workspace; exit code 0 means pass. Default: the configured one'),
          prompt: z.string().optional().describe('what the code should do, in words'),
          maxRuns: z.number().int().min(1).max(REQUEST_LIMITS.maxRuns).optional().describe('most model iterations (default 10)'),
          provider: z.enum(PROVIDERS).optional().describe('model provider; default: the first with a key, else ollama'),
          model: z.string().optional().describe("model id; default: the provider's default"),
        })
        .strict(),
      outputSchema: fixResult,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => {
      let started: Awaited<ReturnType<Engine['start']>>;
      try {
        started = await engine.start(args);
      } catch (err) {
        return refusal(err);
      }
      const { runId } = started;
      let finished: RunFinishedEvent | undefined;
      const outcome = await followWithProgress(engine, extra, {
        done: started.done,
        cancel: () => engine.cancel(runId),
        // run.started is already written (start appends it): say which run this is, so cancel_run can name it at once.
        first: `run ${runId} started`,
        describe: (event) => {
          if (event.runId !== runId) return undefined;
          if (event.type === 'run.finished') finished = event;
          return formatEvent(event);
        },
      });
      const summary = engine.run(runId);
      const structuredContent = {
        runId,
        outcome,
        iterations: finished?.iterations ?? summary?.iterations ?? 0,
        costUsd: finished?.costUsd ?? summary?.costUsd ?? 0,
        files: finished?.files ?? [],
      };
      const line = finished ? formatEvent(finished) : outcome;
      return { content: [{ type: 'text', text: `run ${runId} on ${summary?.file ?? args.file}: ${line}` }], structuredContent };
    },
  );

  server.registerTool(
    'run_eval',
    {
      title: 'Compare models on this repository',
      description:
        'Runs micro-agent eval: tasks mined from the repository (bugs fixed in its git history, seeded mutants the tests catch, or a tasks ' +
        'file) given to every model, each in an isolated copy (the workspace is not changed). Answers with the leaderboard (pass rate with ' +
        'its 95% Wilson interval, pass@1, well-formed edit rate, cost per pass, time) and every task × model cell. Sends progress per cell; ' +
        'cancelling the request cancels the eval (resume it with `resume`).',
      inputSchema: z
        .object({
          models: z.array(z.string()).min(1).max(EVAL_LIMITS.models).optional().describe('provider:model each, e.g. openai:gpt-4.1-mini'),
          fromGit: z.string().optional().describe('a rev range whose bug fixes become tasks, e.g. HEAD~20..HEAD'),
          mutants: z.number().int().min(1).max(EVAL_LIMITS.mutants).optional().describe('at most this many seeded mutants the tests catch'),
          seed: z.number().int().min(0).optional().describe("the mutants' seed (default 1)"),
          tasks: z.string().optional().describe('a .jsonl file of { file, testCommand, prompt?, setup? }'),
          testCommand: z.string().optional().describe('the test command (default: the configured one)'),
          maxRuns: z.number().int().min(1).max(EVAL_LIMITS.maxRuns).optional().describe('most iterations per cell (default 3)'),
          budgetUsd: z.number().positive().optional().describe('total USD for the eval'),
          taskBudgetUsd: z.number().positive().optional().describe('USD per cell'),
          concurrency: z.number().int().min(1).max(EVAL_LIMITS.concurrency).optional(),
          resume: z.string().optional().describe('an eval id: run only its cells without a result'),
        })
        .strict(),
      outputSchema: { evalId: z.string(), tasks: z.number().int(), models: z.array(z.looseObject({ model: z.string() })), cells: z.array(z.looseObject({})) },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) => {
      let started: ReturnType<Engine['evals']['start']>;
      try {
        started = engine.evals.start(args);
      } catch (err) {
        return refusal(err);
      }
      const report = await followWithProgress(engine, extra, {
        done: started.done,
        cancel: () => engine.evals.cancel(started.evalId),
        describe: (event) => (event.evalId === started.evalId ? formatEvalEvent(event) : undefined),
      });
      return { content: [{ type: 'text', text: formatLeaderboard(report) }], structuredContent: { ...report } };
    },
  );

  server.registerTool(
    'list_runs',
    {
      title: 'List micro-agent runs',
      description: 'The runs in the workspace event log, newest first: running ones and finished ones with their outcome, iterations and cost.',
      inputSchema: z
        .object({ limit: z.number().int().min(1).max(RUNS_PAGE.MAX).optional().describe(`how many runs, newest first (default ${DEFAULT_RUNS})`) })
        .strict(),
      outputSchema: { runs: z.array(z.looseObject({ runId: z.string(), file: z.string(), status: z.string() })) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ limit }) => {
      const { runs } = await dispatch(engine, Methods.runs, { limit: limit ?? DEFAULT_RUNS }, 'full');
      const text = runs.length ? runs.map(runLine).join('\n') : 'no runs yet';
      return { content: [{ type: 'text', text }], structuredContent: { runs } };
    },
  );

  server.registerTool(
    'get_stats',
    {
      title: 'micro-agent statistics',
      description:
        'Model calls per provider and model (calls, errors, p50/p95 latency, time to first token, tokens, cost) and run totals (pass rate, ' +
        'mean iterations to pass, cost), folded from the workspace event log.',
      inputSchema: z.object({}).strict(),
      outputSchema: { providers: z.array(z.looseObject({ provider: z.string(), model: z.string(), calls: z.number() })), runs: z.looseObject({}) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () => {
      const stats = await dispatch(engine, Methods.stats, {}, 'full');
      return { content: [{ type: 'text', text: formatStats(stats) }], structuredContent: { ...stats } };
    },
  );

  server.registerTool(
    'get_provider_usage',
    {
      title: 'Org usage and cost from the vendors',
      description:
        "The organization's usage and cost per UTC day, provider and model from OpenAI's and Anthropic's admin APIs (needs OPENAI_ADMIN_KEY / " +
        'ANTHROPIC_ADMIN_KEY), beside the calls micro-agent logged: its share, and flags logged_exceeds_billed, price_mismatch, not_billed_yet.',
      inputSchema: z
        .object({
          sinceDays: z
            .number()
            .int()
            .min(USAGE_SINCE_DAYS.MIN)
            .max(USAGE_SINCE_DAYS.MAX)
            .optional()
            .describe(`whole UTC days before today (default ${USAGE_SINCE_DAYS.DEFAULT})`),
          provider: z.enum(USAGE_PROVIDERS).optional().describe('only this vendor'),
        })
        .strict(),
      outputSchema: {
        since: z.string(),
        until: z.string(),
        partial: z.boolean(),
        rows: z.array(z.looseObject({ day: z.string() })),
        sources: z.array(z.looseObject({})),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args) => {
      try {
        const result = await dispatch(engine, Methods.providerUsage, args, 'full');
        return { content: [{ type: 'text', text: formatUsage(result) }], structuredContent: { ...result } };
      } catch (err) {
        return refusal(err);
      }
    },
  );

  server.registerTool(
    'cancel_run',
    {
      title: 'Cancel a micro-agent run',
      description: 'Cancels a running run (started by this server): its tests are killed and its files put back as they were.',
      inputSchema: z.object({ runId: z.string().describe('the run, as fix_file or list_runs names it') }).strict(),
      outputSchema: { cancelled: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ runId }) => {
      const { cancelled } = await dispatch(engine, Methods.cancelRun, { runId }, 'full');
      const text = cancelled ? `cancelling run ${runId}; its files are being restored` : `run ${runId} is not running here`;
      return { content: [{ type: 'text', text }], structuredContent: { cancelled } };
    },
  );

  return server;
}

/**
 * Serves the tools on this process's stdin/stdout until the client closes stdin. stdout carries the protocol
 * and nothing else: everything meant for a person goes to stderr.
 */
export async function serveMcpOverStdio(engine: Engine, version: string): Promise<void> {
  const server = createMcpServer(engine, version);
  const transport = new BoundedStdioTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await server.connect(transport);
  await closed;
  await server.close();
}

/** A refusal as the tool's answer: the calling agent reads why and can correct the call. */
/** A long job a tool call waits for: what ends it, how to cancel it, and which log events are its progress. */
interface FollowedJob<T> {
  done: Promise<T>;
  cancel: () => void;
  /** A progress line sent before any event (the job's first events are written before this is called). */
  first?: string;
  /** An event's progress line, or undefined when the event is not the job's or says nothing. */
  describe: (event: AgentEvent) => string | undefined;
}

/**
 * Waits for a job on behalf of a tool call. Progress comes from the event log, the bus every other front end reads:
 * one notification per line the CLI would print, when the client gave a progress token. Cancelling the call cancels
 * the job. The result waits for the last notification and then a moment more: the SDK's client handles a
 * notification a microtask later than a response, so a progress notification that arrives in the same read as the
 * result is handled after it, for a token the client has already forgotten (it reports an error).
 */
async function followWithProgress<T>(engine: Engine, extra: RequestHandlerExtra<ServerRequest, ServerNotification>, job: FollowedJob<T>): Promise<T> {
  const token = extra._meta?.progressToken;
  let progress = 0;
  let sent: Promise<void> = Promise.resolve();
  const notify = (message: string | undefined) => {
    const line = message?.trim();
    if (!line || token === undefined) return;
    // A client that went away is no reason to stop the job: closing the transport ends it (the engine restores).
    sent = extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++progress, message: line } })
      .catch(() => undefined);
  };
  notify(job.first);
  const subscription = engine.log.onEvent((event: AgentEvent) => notify(job.describe(event)));
  extra.signal.addEventListener('abort', job.cancel);
  if (extra.signal.aborted) job.cancel();
  try {
    const result = await job.done;
    await sent;
    if (progress > 0) await new Promise((resolve) => setTimeout(resolve, PROGRESS_SETTLE_MS));
    return result;
  } finally {
    subscription.dispose();
    extra.signal.removeEventListener('abort', job.cancel);
  }
}

function refusal(err: unknown): CallToolResult {
  if (!(err instanceof EngineError)) throw err;
  return { isError: true, content: [{ type: 'text', text: err.message }] };
}

function runLine(run: RunSummary): string {
  const status = run.status === 'running' ? 'running' : `${run.status}${run.reason ? ` (${run.reason.replaceAll('_', ' ')})` : ''}`;
  return `${run.runId}  ${run.file}  ${status}, ${run.iterations} iteration(s), ${usd(run.costUsd)}, ${run.provider} ${run.model}`;
}
