import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Checkpoint, RunSummary } from '../server/protocol';
import { resumableRun, RunActions } from './runActions';
import { RunsModel } from './runsModel';

const ICONS: Record<RunSummary['status'], vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  passed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  error: new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground')),
};

/** A run's checkpoint in the tree: `runId` and `iteration` are what Restore this attempt needs. */
interface CheckpointNode extends Checkpoint {
  runId: string;
}
type Node = RunSummary | CheckpointNode;
const isCheckpoint = (node: Node): node is CheckpointNode => 'iteration' in node;

/**
 * The runs list in the dev-ai view: newest first; click opens the file; running runs can be cancelled inline,
 * finished ones offer Show Changes / Undo (and Resume when they did not pass). A finished run opens to its
 * checkpoints, each with Restore this attempt.
 */
export class RunsView implements vscode.TreeDataProvider<Node> {
  readonly onDidChangeTreeData: vscode.Event<void>;

  constructor(
    private readonly model: RunsModel,
    private readonly actions: RunActions,
    private readonly root: string | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.onDidChangeTreeData = model.onDidChange;
  }

  async getChildren(element?: Node): Promise<Node[]> {
    if (!element) return this.model.all().slice(0, 100);
    if (isCheckpoint(element) || element.status === 'running') return [];
    try {
      const { checkpoints } = await this.actions.changes(element.runId);
      return [...checkpoints].reverse().map((checkpoint) => ({ ...checkpoint, runId: element.runId }));
    } catch (err) {
      // A run with no kept files (an old log, a run that stopped before writing) simply has no checkpoints.
      this.log.debug(`no checkpoints for run ${element.runId}: ${(err as Error).message}`);
      return [];
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return isCheckpoint(node) ? this.checkpointItem(node) : this.runItem(node);
  }

  private runItem(run: RunSummary): vscode.TreeItem {
    const running = run.status === 'running';
    const item = new vscode.TreeItem(path.basename(run.file), running ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Collapsed);
    const cost = `$${run.costUsd.toFixed(4)}`;
    item.description = `${run.status}${run.iterations ? ` · ${run.iterations} it.` : ''} · ${cost}`;
    const reason = run.reason ? ` (${run.reason.replaceAll('_', ' ')})` : '';
    const resumed = run.resumedFrom ? `\nresumes ${run.resumedFrom}` : '';
    item.tooltip = `${run.file}\n${run.provider} ${run.model}\n${run.status}${reason}\nstarted ${new Date(run.startedAt).toLocaleString()}${resumed}`;
    item.iconPath = ICONS[run.status];
    item.contextValue = running ? 'devAi.run.running' : resumableRun(run) ? 'devAi.run.resumable' : 'devAi.run';
    item.id = run.runId;
    if (this.root) {
      const uri = vscode.Uri.file(path.join(this.root, run.file));
      item.resourceUri = uri;
      item.command = { command: 'vscode.open', title: 'Open File', arguments: [uri] };
    }
    return item;
  }

  private checkpointItem(checkpoint: CheckpointNode): vscode.TreeItem {
    const item = new vscode.TreeItem(`Attempt ${checkpoint.iteration}`);
    item.description = checkpoint.files.map((f) => path.basename(f)).join(', ') + (checkpoint.kept ? '' : ' · taken back');
    item.tooltip = `${checkpoint.files.join('\n')}${checkpoint.kept ? '' : '\nTaken back during the run: its tests did not really pass.'}`;
    item.iconPath = new vscode.ThemeIcon('history');
    item.contextValue = 'devAi.checkpoint';
    item.id = `${checkpoint.runId}/${checkpoint.iteration}`;
    return item;
  }
}
