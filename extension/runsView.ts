import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunSummary } from '../server/protocol';
import { RunsModel } from './runsModel';

const ICONS: Record<RunSummary['status'], vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  passed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  error: new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground')),
};

/** The runs list in the dev-ai view: newest first; click opens the file; running runs can be cancelled inline. */
export class RunsView implements vscode.TreeDataProvider<RunSummary> {
  readonly onDidChangeTreeData: vscode.Event<void>;

  constructor(
    private readonly model: RunsModel,
    private readonly root: string | undefined,
  ) {
    this.onDidChangeTreeData = model.onDidChange;
  }

  getChildren(element?: RunSummary): RunSummary[] {
    return element ? [] : this.model.all().slice(0, 100);
  }

  getTreeItem(run: RunSummary): vscode.TreeItem {
    const item = new vscode.TreeItem(path.basename(run.file));
    const cost = `$${run.costUsd.toFixed(4)}`;
    item.description = `${run.status}${run.iterations ? ` · ${run.iterations} it.` : ''} · ${cost}`;
    const reason = run.reason ? ` (${run.reason.replaceAll('_', ' ')})` : '';
    item.tooltip = `${run.file}\n${run.provider} ${run.model}\n${run.status}${reason}\nstarted ${new Date(run.startedAt).toLocaleString()}`;
    item.iconPath = ICONS[run.status];
    item.contextValue = run.status === 'running' ? 'devAi.run.running' : 'devAi.run';
    item.id = run.runId;
    if (this.root) {
      const uri = vscode.Uri.file(path.join(this.root, run.file));
      item.resourceUri = uri;
      item.command = { command: 'vscode.open', title: 'Open File', arguments: [uri] };
    }
    return item;
  }
}
