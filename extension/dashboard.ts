import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { dashboardHtml } from '../server/protocol/dashboardPage';
import type { AgentEvent } from '../server/protocol/events';
import { EventsRequest } from '../server/protocol/lsp';
import { parseFromWebview, ToWebview } from '../server/protocol/webview';
import { ActiveFile } from './activeFile';
import { HostClient } from './hostClient';

/**
 * Feeds one dashboard webview (the sidebar view or the editor panel): answers its requests for the host's
 * rollups, run pages and one run's events (what its store loads from), then sends the events after the seq
 * its store holds from `microAgent/events`, then live events; after a host restart it resends from the last seq it
 * forwarded, so nothing is missed. Live events that arrive during a replay wait for it, so the webview
 * sees every run's events in order. Every message from the webview is validated before it is acted on.
 */
class DashboardConnection implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Null until the webview says it is ready; then the highest seq sent to it. */
  private sentSeq: number | null = null;
  private replaying = false;
  private queued: AgentEvent[] = [];

  constructor(
    private readonly webview: vscode.Webview,
    private readonly host: HostClient,
    private readonly activeFile: ActiveFile,
    extensionUri: vscode.Uri,
  ) {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    webview.options = { enableScripts: true, localResourceRoots: [dist, vscode.Uri.joinPath(extensionUri, 'media')] };
    const uri = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(dist, file)).toString();
    webview.html = dashboardHtml({
      title: 'dev-ai',
      styles: [uri('codicons/codicon.css'), uri('styles.css')],
      script: uri('main.js'),
      wasm: uri('sql-wasm.wasm'),
      source: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      cspInMeta: true,
    });
    this.disposables.push(
      webview.onDidReceiveMessage((raw) => void this.receive(raw)),
      host.onEvent((event) => this.forward([event])),
      host.onReady(() => {
        if (this.sentSeq !== null) void this.replay(this.sentSeq);
      }),
      activeFile.onDidChange(() => this.sendContext()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendContext()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('devAi.budgetUsd') && this.sendContext()),
    );
  }

  /** An eval the Models view is to show; held until the webview is ready for messages. */
  private pendingEval: string | undefined;

  /** Switches the dashboard to its Models view on an eval. */
  showEval(evalId: string): void {
    if (this.sentSeq === null) this.pendingEval = evalId;
    else void this.webview.postMessage({ type: 'showEval', evalId } satisfies ToWebview);
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseFromWebview(raw);
    if (!message) return; // Not ours, or malformed: never act on it.
    switch (message.type) {
      case 'ready':
        this.sendContext();
        if (this.pendingEval) void this.webview.postMessage({ type: 'showEval', evalId: this.pendingEval } satisfies ToWebview);
        this.pendingEval = undefined;
        await this.replay(message.afterSeq);
        break;
      case 'startRun':
        await vscode.commands.executeCommand('devAi.fixFile', this.activeFile.uri);
        break;
      case 'cancelRun':
        await vscode.commands.executeCommand('devAi.cancelRun', { runId: message.runId });
        break;
      // The same commands as the palette and the runs tree: they ask before overwriting anything.
      case 'showChanges':
        await vscode.commands.executeCommand('devAi.showRunChanges', { runId: message.runId });
        break;
      case 'undoRun':
        await vscode.commands.executeCommand('devAi.undoRun', { runId: message.runId });
        break;
      case 'resumeRun':
        await vscode.commands.executeCommand('devAi.resumeRun', { runId: message.runId });
        break;
      case 'restoreAttempt':
        await vscode.commands.executeCommand('devAi.restoreAttempt', { runId: message.runId, iteration: message.iteration });
        break;
      case 'request': {
        // A read-only host method (parseFromWebview allows only those); the host checks the params.
        let reply: ToWebview;
        try {
          const client = await this.host.get();
          reply = { type: 'response', id: message.id, result: await client.sendRequest(message.method, message.params) };
        } catch (err) {
          reply = { type: 'response', id: message.id, error: err instanceof Error ? err.message : String(err) };
        }
        void this.webview.postMessage(reply);
        break;
      }
      case 'openFile': {
        const root = vscode.workspace.workspaceFolders?.[0]?.uri;
        const target = root && path.resolve(root.fsPath, message.file);
        // Only files inside the workspace: the path came from a webview.
        if (target && !path.relative(root.fsPath, target).startsWith('..') && !path.isAbsolute(path.relative(root.fsPath, target))) {
          await vscode.window.showTextDocument(vscode.Uri.file(target));
        }
        break;
      }
    }
  }

  /** Sends the log after `afterSeq` in pages, then whatever arrived live meanwhile. */
  private async replay(afterSeq: number): Promise<void> {
    this.replaying = true;
    this.sentSeq = afterSeq;
    try {
      const client = await this.host.get();
      for (;;) {
        const page = await client.sendRequest(EventsRequest.type, { afterSeq: this.sentSeq, limit: 2000 });
        if (page.events.length > 0) this.post({ type: 'events', events: page.events }, page.events);
        if (page.events.length === 0 || this.sentSeq >= page.lastSeq) break;
      }
    } finally {
      this.replaying = false;
      const queued = this.queued.filter((e) => e.seq > (this.sentSeq ?? 0));
      this.queued = [];
      if (queued.length > 0) this.post({ type: 'events', events: queued }, queued);
    }
  }

  private forward(events: AgentEvent[]): void {
    if (this.sentSeq === null) return;
    if (this.replaying) this.queued.push(...events);
    else this.post({ type: 'events', events }, events);
  }

  private post(message: ToWebview, events: AgentEvent[] = []): void {
    for (const e of events) if (e.seq > (this.sentSeq ?? 0)) this.sentSeq = e.seq;
    void this.webview.postMessage(message);
  }

  private sendContext(): void {
    const file = this.activeFile.uri;
    const budget = vscode.workspace.getConfiguration('devAi').get<number>('budgetUsd') ?? 0;
    void this.webview.postMessage({
      type: 'context',
      activeFile: file ? vscode.workspace.asRelativePath(file) : null,
      trusted: vscode.workspace.isTrusted,
      budgetUsd: budget > 0 ? budget : null,
    } satisfies ToWebview);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** The sidebar view and the editor panel of the dashboard, the same UI in both. */
export class Dashboard implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'devAi.dashboard';
  private panel: vscode.WebviewPanel | undefined;
  private panelConnection: DashboardConnection | undefined;
  private readonly connections = new Set<DashboardConnection>();

  constructor(
    private readonly host: HostClient,
    private readonly activeFile: ActiveFile,
    private readonly extensionUri: vscode.Uri,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.connect(view.webview, view.onDidDispose);
  }

  openPanel(): void {
    if (this.panel) return this.panel.reveal();
    this.panel = vscode.window.createWebviewPanel('devAi.dashboardPanel', 'dev-ai Dashboard', vscode.ViewColumn.Active, {});
    this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    this.panelConnection = this.connect(this.panel.webview, this.panel.onDidDispose);
    this.panel.onDidDispose(() => (this.panel = this.panelConnection = undefined));
  }

  /** Opens the dashboard panel on its Models view, showing an eval. */
  showEval(evalId: string): void {
    this.openPanel();
    this.panelConnection?.showEval(evalId);
  }

  private connect(webview: vscode.Webview, onDidDispose: vscode.Event<void>): DashboardConnection {
    const connection = new DashboardConnection(webview, this.host, this.activeFile, this.extensionUri);
    this.connections.add(connection);
    onDidDispose(() => {
      connection.dispose();
      this.connections.delete(connection);
    });
    return connection;
  }

  dispose(): void {
    for (const c of this.connections) c.dispose();
    this.panel?.dispose();
  }
}
