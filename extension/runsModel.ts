import * as vscode from 'vscode';
import { RunsRequest, RunSummary } from '../server/protocol';
import { HostClient } from './hostClient';

/**
 * The runs the host knows, kept current from its live events; backs the runs view, the status bar and
 * Cancel Run. Reloaded from `microAgent/runs` after every (re)start so nothing is missed across crashes.
 */
export class RunsModel implements vscode.Disposable {
  private runs: RunSummary[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly host: HostClient) {
    this.disposables = [
      host.onReady(() => void this.reload()),
      host.onEvent((event) => {
        if (event.type === 'run.started' || event.type === 'run.finished' || event.type === 'run.iteration') void this.reload();
      }),
    ];
  }

  all(): readonly RunSummary[] {
    return this.runs;
  }

  running(): RunSummary[] {
    return this.runs.filter((run) => run.status === 'running');
  }

  private async reload(): Promise<void> {
    const client = await this.host.get();
    this.runs = (await client.sendRequest(RunsRequest.type)).runs;
    this.changed.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
