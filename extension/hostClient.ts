import * as vscode from 'vscode';
import {
  CloseAction,
  CloseHandlerResult,
  ErrorAction,
  ErrorHandlerResult,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { AgentEvent, EventNotification, HostInitializationOptions, InterruptedRunsNotification, InterruptedRunsParams } from '../server/protocol';
import { ApiKeys } from './keys';
import { showProgressAsNotifications } from './progress';

/** More crashes than this within the window and the host stays down until the user restarts it. */
const MAX_CRASHES = 4;
const CRASH_WINDOW_MS = 3 * 60_000;

/**
 * Owns the micro-agent host process: starts it with the stored keys in its environment, restarts it after a
 * crash (a few times, then says so instead of looping), restarts it when a key or the workspace trust
 * changes, and re-broadcasts its live events.
 */
export class HostClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private crashes: number[] = [];
  private readonly events = new vscode.EventEmitter<AgentEvent>();
  private readonly ready = new vscode.EventEmitter<LanguageClient>();
  private readonly interrupted = new vscode.EventEmitter<InterruptedRunsParams>();
  private perClient: vscode.Disposable | undefined;
  private readonly perStart: vscode.Disposable[] = [];
  /** Events from the host, live. */
  readonly onEvent = this.events.event;
  /** Fires after each (re)start, once the host answers requests. */
  readonly onReady = this.ready.event;
  /** Runs an earlier host process left open (it was killed mid-run), found when a host starts. */
  readonly onInterruptedRuns = this.interrupted.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly keys: ApiKeys,
  ) {}

  /** The running client, starting the host if needed. */
  get(): Promise<LanguageClient> {
    const client = this.client;
    if (client?.state === State.Running) return Promise.resolve(client);
    // The client is bringing the host back after a crash: wait for it rather than start a second host.
    if (client?.state === State.Starting && !this.starting) return this.whenRunning(client);
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private whenRunning(client: LanguageClient): Promise<LanguageClient> {
    return new Promise((resolve, reject) => {
      const subscription = client.onDidChangeState(({ newState }) => {
        if (newState === State.Starting) return;
        subscription.dispose();
        if (newState === State.Running) resolve(client);
        else reject(new Error('The micro-agent host stopped while restarting. See the dev-ai log for why.'));
      });
    });
  }

  async restart(reason: string): Promise<void> {
    this.log.info(`restarting the micro-agent host: ${reason}`);
    this.crashes = [];
    await this.stop();
    await this.get();
  }

  private async start(): Promise<LanguageClient> {
    const serverModule = this.context.asAbsolutePath('dist/server.js');
    const env = { ...process.env, ...(await this.keys.environment()) };
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.stdio, options: { env } },
      debug: { module: serverModule, transport: TransportKind.stdio, options: { env, execArgv: ['--nolazy', '--inspect=6009'] } },
    };
    const initializationOptions: HostInitializationOptions = { trusted: vscode.workspace.isTrusted };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }],
      synchronize: { configurationSection: 'devAi' },
      outputChannel: this.log,
      initializationOptions,
      errorHandler: {
        error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
        closed: (): CloseHandlerResult => this.onClosed(),
      },
    };
    const client = new LanguageClient('devAi', 'micro-agent host', serverOptions, clientOptions);
    this.client = client;
    // Before start: the host sends this once, right after it opens its log, which can beat afterStart.
    this.perClient = client.onNotification(InterruptedRunsNotification.type, (params) => this.interrupted.fire(params));
    await client.start();
    this.afterStart(client);
    return client;
  }

  /** Handlers that a (re)start resets: live events and notification-style progress. */
  private afterStart(client: LanguageClient): void {
    for (const disposable of this.perStart.splice(0)) disposable.dispose();
    this.perStart.push(
      client.onNotification(EventNotification.type, (event) => this.events.fire(event)),
      showProgressAsNotifications(client),
      client.onDidChangeState(({ newState }) => {
        // The client restarts the server itself after a crash; handlers must be installed again.
        if (newState === State.Running) this.afterStart(client);
      }),
    );
    this.log.info(`micro-agent host started (${vscode.workspace.isTrusted ? 'trusted' : 'untrusted: limited mode'})`);
    this.ready.fire(client);
  }

  private onClosed(): CloseHandlerResult {
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length <= MAX_CRASHES) {
      this.log.warn(`the micro-agent host stopped unexpectedly; restarting it (${this.crashes.length}/${MAX_CRASHES})`);
      return { action: CloseAction.Restart, handled: true };
    }
    const message =
      `The micro-agent host crashed ${this.crashes.length} times in ${CRASH_WINDOW_MS / 60_000} minutes and was not restarted. ` +
      'See the dev-ai log for why.';
    void vscode.window.showErrorMessage(message, 'Restart Agent Host', 'Show Log').then((choice) => {
      if (choice === 'Restart Agent Host') void this.restart('requested after repeated crashes');
      if (choice === 'Show Log') this.log.show();
    });
    return { action: CloseAction.DoNotRestart, message, handled: true };
  }

  /** Stops the host: it cancels its runs first, so their tests die and their files are put back. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const disposable of this.perStart.splice(0)) disposable.dispose();
    this.perClient?.dispose();
    this.perClient = undefined;
    if (client && client.state !== State.Stopped) await client.stop().catch((err: Error) => this.log.warn(`stopping the host: ${err.message}`));
  }

  dispose(): void {
    void this.stop();
    this.events.dispose();
    this.ready.dispose();
    this.interrupted.dispose();
  }
}
