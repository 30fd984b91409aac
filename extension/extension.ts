/**
 * dev-ai: the thin VS Code side of micro-agent. It starts the host (a language server that owns all the
 * logic), wires commands, keys, the runs view and the status bar to it, and keeps out of the way at start-up:
 * activation only registers things; the host process starts right after, in the background.
 */
import * as vscode from 'vscode';
import { ActiveFile } from './activeFile';
import { registerCommands } from './commands';
import { registerCompareModels } from './compareModels';
import { Dashboard } from './dashboard';
import { HostClient } from './hostClient';
import { ApiKeys } from './keys';
import { RunActions } from './runActions';
import { registerRunCommands } from './runCommands';
import { RunEndNotifier } from './runEnd';
import { RunsModel } from './runsModel';
import { RunsView } from './runsView';
import { StatusBar } from './statusBar';
import { registerTestsFirst } from './testsFirst';
import { VirtualDocs } from './virtualDocs';

let host: HostClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('dev-ai', { log: true });
  const keys = new ApiKeys(context.secrets);
  host = new HostClient(context, log, keys);
  const runs = new RunsModel(host);
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const activeFile = new ActiveFile();
  const dashboard = new Dashboard(host, activeFile, context.extensionUri);
  const docs = new VirtualDocs();
  const actions = new RunActions(host, runs, docs, log);
  context.subscriptions.push(
    activeFile,
    docs,
    new RunEndNotifier(host, runs, actions, log),
    dashboard,
    vscode.window.registerWebviewViewProvider(Dashboard.viewId, dashboard),
    vscode.commands.registerCommand('devAi.openDashboard', () => dashboard.openPanel()),
    // Alerts from the host (budget, error rate, latency) are worth interrupting for.
    host.onEvent((event) => {
      if (event.type !== 'alert') return;
      void vscode.window.showWarningMessage(`dev-ai: ${event.message}`, 'Open Dashboard').then((choice) => {
        if (choice) dashboard.openPanel();
      });
    }),
    log,
    host,
    runs,
    new StatusBar(host, runs),
    vscode.window.registerTreeDataProvider('devAi.runs', new RunsView(runs, actions, root, log)),
    // A new key or newly granted trust changes the host's environment or mode: restart it, but never under a
    // running run (its tests would be killed); wait for the runs to end instead.
    keys.onDidChange(() => restartWhenIdle(runs, 'an API key changed')),
    vscode.workspace.onDidGrantWorkspaceTrust(() => restartWhenIdle(runs, 'the workspace is now trusted')),
  );
  registerCommands(context, host, keys, runs, activeFile, log);
  registerRunCommands(context, log, actions);
  registerTestsFirst(context, host, activeFile, docs, log);
  registerCompareModels(context, host, dashboard, log);
  log.info(`dev-ai activated in ${(performance.now() - started).toFixed(1)} ms`);
  void host.get().catch((err: Error) => log.error(`the micro-agent host did not start: ${err.message}`));
}

function restartWhenIdle(runs: RunsModel, reason: string): void {
  if (runs.running().length === 0) {
    void host?.restart(reason);
    return;
  }
  const waiting = runs.onDidChange(() => {
    if (runs.running().length > 0) return;
    waiting.dispose();
    void host?.restart(reason);
  });
}

/** VS Code waits for this promise: the host gets to cancel its runs and restore their files. */
export function deactivate(): Promise<void> | undefined {
  return host?.stop();
}
