/** A real LSP client over stdio for `dist/server.js`, the way an editor talks to the host. */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createProtocolConnection, ProtocolConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver-protocol/node';
import { AgentEvent, DevAiSettings, EventNotification, HostInitializationOptions } from '../../server/protocol';
import { DIST } from './fixtures';

export interface HostClient {
  connection: ProtocolConnection;
  child: ChildProcess;
  events: AgentEvent[];
  /** The latest diagnostics published per document URI. */
  diagnostics: Map<string, any[]>;
  /** `$/progress` payloads in arrival order, with their token. */
  progress: Array<{ token: string | number; value: any }>;
  stderr: () => string;
  /** `window/logMessage` lines, in order. */
  logs: string[];
  /** Tells the host its settings changed; it reads them again (the object passed to startHost, as it is now). */
  settingsChanged(): Promise<void>;
  /** Resolves with the first event (already received or future) that matches. */
  waitFor(match: (event: AgentEvent) => boolean, timeoutMs?: number): Promise<AgentEvent>;
  stop(): Promise<void>;
}

export async function startHost(
  root: string,
  env: NodeJS.ProcessEnv,
  settings: DevAiSettings = {},
  init: HostInitializationOptions = {},
  /** Registers more handlers before the connection starts (notifications the host sends right after start-up). */
  listen?: (connection: ProtocolConnection) => void,
): Promise<HostClient> {
  const child = spawn(process.execPath, [path.join(DIST, 'server.js'), '--stdio'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const events: AgentEvent[] = [];
  const waiters: Array<{ match: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }> = [];
  const progress: HostClient['progress'] = [];
  const diagnostics = new Map<string, any[]>();
  connection.onNotification(
    'textDocument/publishDiagnostics',
    (params: { uri: string; diagnostics: any[] }) => void diagnostics.set(params.uri, params.diagnostics),
  );
  connection.onNotification(EventNotification.type, (event) => {
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.match(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  connection.onNotification('$/progress', (params: { token: string | number; value: unknown }) => void progress.push(params));
  connection.onRequest('workspace/configuration', (params: { items: Array<{ section?: string }> }) =>
    params.items.map((item) => (item.section === 'devAi' ? settings : null)),
  );
  connection.onRequest('window/workDoneProgress/create', () => null);
  const logs: string[] = [];
  connection.onNotification('window/logMessage', (m: { message: string }) => {
    logs.push(m.message);
    if (process.env.DEBUG_HOST) console.error(m.message);
  });
  listen?.(connection);
  connection.listen();
  const uri = pathToFileURL(root).toString();
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: uri,
    workspaceFolders: [{ uri, name: path.basename(root) }],
    initializationOptions: init,
    capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true } },
  });
  await connection.sendNotification('initialized', {});
  const client: HostClient = {
    connection,
    child,
    events,
    progress,
    diagnostics,
    stderr: () => stderr,
    logs,
    settingsChanged: () => connection.sendNotification('workspace/didChangeConfiguration', { settings: null }),
    waitFor(match, timeoutMs = 20_000) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => e.type).join(', ')}\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await connection.sendRequest('shutdown');
        await connection.sendNotification('exit');
      } catch {
        child.kill();
      }
      await exited;
      connection.dispose();
    },
  };
  return client;
}

/** The error a request that must fail is answered with: its JSON-RPC code and message are what the tests check. */
export async function rejection(promise: Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as ResponseError<unknown>;
  }
  throw new Error('expected the request to fail');
}
