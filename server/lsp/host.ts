/**
 * The micro-agent host: a language server (`node dist/server.js --stdio`) that runs the engine for an editor.
 * It owns no logic of its own: the handler table's methods are registered as they are, every logged event is
 * pushed as `microAgent/event`, each run shows as LSP work-done progress whose Cancel cancels the run, and
 * reviews and failing tests become diagnostics with code actions (`editor.ts`).
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CancellationToken,
  createConnection,
  ErrorCodes as LspErrorCodes,
  InitializeParams,
  InitializeResult,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { AlertMonitor } from '../alerts/alerts';
import { installCrashGuard } from '../foundation/crashGuard';
import { ApiSwitch, startApi } from '../api/start';
import { alertWebhookUrl, parsePort, resolveSettings } from '../foundation/config';
import { Engine } from '../engine/engine';
import { EventLog } from '../events/log';
import { HANDLERS, replyError } from '../engine/handlers';
import { ApiStatusRequest, EventNotification, InterruptedRunsNotification, ReviewRequest } from '../protocol/lsp';
import { ErrorCodes, IGNORE_FINDING_COMMAND } from '../protocol/methods';
import type { DevAiSettings, HostInitializationOptions } from '../protocol/settings';
import { ReviewCancelled, ReviewRefused } from '../review/reviewer';
import { startTelemetryOrWarn, Telemetry } from '../telemetry/telemetry';
import { AlertWebhook, startAlertWebhook } from '../alerts/alertWebhook';
import { ensureStateDir } from '../foundation/workspace';
import { EditorFeatures } from './editor';
import { RunProgress } from './progress';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
let engine: Engine | undefined;
let editor: EditorFeatures | undefined;
/** OpenTelemetry export, when OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set. */
let telemetry: Telemetry | undefined;
/** Alerts POSTed to devAi.alerts.webhookUrl / MICRO_AGENT_ALERT_WEBHOOK. */
let webhook: AlertWebhook | undefined;
/** The live API, while devAi.api.enabled is on. */
let api: ApiSwitch | undefined;
/** Why there is no engine (no folder open, the log could not be opened), for every request to say. */
let unavailable = 'micro-agent is still starting';
let engineSettled: () => void;
const engineReady = new Promise<void>((resolve) => (engineSettled = resolve));
let root: string | undefined;
let settings: DevAiSettings = {};
let canAskConfiguration = false;
let canShowProgress = false;
let trusted = true;

connection.onInitialize((params: InitializeParams): InitializeResult => {
  const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
  root = folder ? fileURLToPath(folder) : undefined;
  canAskConfiguration = params.capabilities.workspace?.configuration === true;
  canShowProgress = params.capabilities.window?.workDoneProgress === true;
  trusted = (params.initializationOptions as HostInitializationOptions | undefined)?.trusted !== false;
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
      codeActionProvider: { codeActionKinds: ['quickfix'] },
      executeCommandProvider: { commands: [IGNORE_FINDING_COMMAND] },
    },
    serverInfo: { name: 'micro-agent', version: '0.1.0' },
  };
});

connection.onInitialized(async () => {
  try {
    await refreshSettings();
    if (!root) {
      unavailable = 'micro-agent needs an open workspace folder';
      connection.console.warn(unavailable);
      return;
    }
    const log = EventLog.open(trusted ? workspaceLog(root) : untrustedLog(root));
    const current = await Engine.create({ root, log, env: process.env, settings: () => settings, trusted });
    engine = current;
    installCrashGuard({
      endRuns: () => current.dispose(),
      // stderr too: the editor's log shows it even when the connection is what broke.
      log: (message) => {
        process.stderr.write(`${message}\n`);
        void Promise.resolve()
          .then(() => connection.console.error(message))
          .catch(() => undefined);
      },
    });
    telemetry = startTelemetryOrWarn(log, process.env, (level, message) => connection.console[level](message));
    webhook = startAlertWebhook(log, () => alertWebhookUrl(settings, process.env), root);
    editor = new EditorFeatures({
      engine: current,
      documents,
      settings: () => settings,
      trusted,
      publish: (uri, diagnostics) => void connection.sendDiagnostics({ uri, diagnostics }),
      log: (message) => connection.console.info(message),
    });
    const alerts = new AlertMonitor((alert) => log.append(alert));
    const progress = canShowProgress ? new RunProgress(connection, (runId) => current.cancel(runId)) : undefined;
    log.onEvent((event) => {
      void connection.sendNotification(EventNotification.type, event);
      // An eval's runs work in copies and show as the eval's own progress: no notification per run, and no
      // diagnostics for test failures that are not in the user's files.
      if (event.evalId === undefined) {
        progress?.observe(event);
        editor?.observe(event);
      }
      if (event.type !== 'alert') alerts.observe(event);
    });
    // Runs another process starts on this workspace (micro-agent run, micro-agent mcp) reach the editor live too.
    log.onForeignEvent((event) => void connection.sendNotification(EventNotification.type, event));
    log.follow();
    api = new ApiSwitch(
      (port) =>
        startApi({ engine: current, port, host: '127.0.0.1', pageDir: path.join(__dirname, 'webview'), log: (message) => connection.console.info(message) }),
      (level, message) => connection.console[level](message),
    );
    void applyApiSetting();
    // The editor offers undo for runs a killed process left mid-way; nothing is restored without the user.
    if (current.interrupted.length) void connection.sendNotification(InterruptedRunsNotification.type, { runs: current.interrupted });
    connection.console.info(`micro-agent: ready in ${root}, log ${log.file}`);
  } catch (err) {
    unavailable = `micro-agent could not start: ${err instanceof Error ? err.message : String(err)}`;
    connection.console.error(unavailable);
  } finally {
    engineSettled();
  }
});

/** The latest settings change, applied: a request sent after a change sees its effect (e.g. the API on or off). */
let settingsApplied = Promise.resolve();
connection.onDidChangeConfiguration(() => {
  settingsApplied = settingsApplied
    .then(async () => {
      await refreshSettings();
      await applyApiSetting();
    })
    .catch((err: Error) => connection.console.error(`micro-agent: could not apply the new settings: ${err.message}`));
});

/** Starts, stops or moves the live API to match devAi.api.*; never in an untrusted workspace. */
async function applyApiSetting(): Promise<void> {
  if (!api) return;
  const wanted = settings.api?.enabled ? (settings.api.port ?? 0) : undefined;
  if (wanted !== undefined && !trusted) {
    connection.console.warn('micro-agent: devAi.api.enabled is ignored until the workspace is trusted');
    return api.apply(undefined);
  }
  if (wanted === undefined) return api.apply(undefined);
  try {
    return await api.apply(parsePort('devAi.api.port', wanted));
  } catch (err) {
    connection.console.error(`micro-agent: ${(err as Error).message}; the live API is off`);
    return api.apply(undefined);
  }
}

function workspaceLog(folder: string): string {
  ensureStateDir(folder);
  return resolveSettings(folder, settings, process.env).logPath;
}

/**
 * An untrusted workspace gets nothing written into it, not even our log: runs are refused there anyway, so a
 * per-workspace log in the temp folder holds the little that happens (nothing but refusals).
 */
function untrustedLog(folder: string): string {
  const id = createHash('sha256').update(folder).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), 'micro-agent-untrusted', id, 'events.jsonl');
}

async function refreshSettings(): Promise<void> {
  if (!canAskConfiguration) return;
  const value: unknown = await connection.workspace.getConfiguration('devAi');
  settings = typeof value === 'object' && value !== null ? value : {};
}

/** Requests that arrive while the host is still opening its log wait for it rather than fail. */
async function requireEngine(): Promise<Engine> {
  await engineReady;
  if (!engine) throw new ResponseError(LspErrorCodes.ServerNotInitialized, unavailable);
  return engine;
}

// The engine's methods, straight from the one table every transport serves.
for (const [method, handler] of Object.entries(HANDLERS)) {
  // vscode-jsonrpc passes (params, token), or only the token when the request has no params.
  connection.onRequest(method, async (...args: unknown[]) => {
    const token = args.at(-1) as CancellationToken;
    const params = args.length > 1 ? args[0] : undefined;
    const current = await requireEngine();
    // A request sent after a settings change sees it (a new daily cap in microAgent/spend, a new model in a run).
    await settingsApplied;
    const cancelled = new AbortController();
    const listener = token.onCancellationRequested(() => cancelled.abort());
    try {
      return await handler.handle(current, params, cancelled.signal);
    } catch (err) {
      if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
      throw toResponseError(err);
    } finally {
      listener.dispose();
    }
  });
}
connection.onRequest(ApiStatusRequest.type, async () => {
  await engineReady;
  await settingsApplied;
  const running = await api?.current();
  return running ? { url: running.url, infoFile: running.infoFile, dashboardUrl: running.dashboardUrl() } : null;
});
connection.onRequest(ReviewRequest.type, async (params, token) => {
  await requireEngine();
  if (typeof params?.uri !== 'string' || !params.uri.startsWith('file:')) throw new ResponseError(ErrorCodes.InvalidParams, 'uri must be a file: URI');
  try {
    return await editor!.review(params.uri, token);
  } catch (err) {
    if (err instanceof ReviewCancelled) {
      // Cancelled by the client, or made stale by an edit to the document.
      throw new ResponseError(
        token.isCancellationRequested ? LSPErrorCodes.RequestCancelled : LSPErrorCodes.ContentModified,
        `${err.message}${token.isCancellationRequested ? '' : ': the document changed'}`,
      );
    }
    throw toResponseError(err);
  }
});
connection.onCodeAction((params) => editor?.codeActions(params) ?? []);
documents.onDidChangeContent(({ document }) => editor?.documentChanged(document));
documents.onDidClose(({ document }) => editor?.cancelReview(document.uri));
// A save that arrives while the host is still opening its log is handled once it is ready.
documents.onDidSave(
  ({ document }) =>
    void requireEngine().then(
      () => editor?.onSave(document.uri),
      () => undefined,
    ),
);
connection.onExecuteCommand(async ({ command, arguments: args }) => {
  if (command !== IGNORE_FINDING_COMMAND || typeof args?.[0] !== 'string' || typeof args?.[1] !== 'string') return;
  await editor?.ignore(args[0], args[1]);
});

function toResponseError(err: unknown): ResponseError<{ files: string[] } | undefined> {
  if (err instanceof ReviewRefused) return new ResponseError(ErrorCodes.InvalidParams, err.message);
  const { code, message, data } = replyError(err);
  return new ResponseError(code, message, data);
}

// The editor closes the connection to stop us: cancel the runs so their tests die and files are restored.
// Traces are flushed after that, so the cancelled runs' last spans go out too; `exit` comes too late to flush.
connection.onShutdown(async () => {
  await api?.apply(undefined);
  await engine?.dispose();
  await Promise.all([telemetry?.shutdown(), webhook?.close()]);
});
connection.onExit(() => {
  engine?.log.close();
});

documents.listen(connection);
connection.listen();
