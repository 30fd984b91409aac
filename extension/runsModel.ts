import * as vscode from 'vscode';
import { AgentEvent, applyRunEvent, RUNS_PAGE, RunsRequest, RunSummary, startedRun } from '../server/protocol';
import { HostClient } from './hostClient';

/**
 * The newest runs the host knows (one page), kept current from its live events; backs the runs view, the
 * status bar and Cancel Run. The page is asked for after every (re)start of the host, so nothing is missed
 * across crashes; in between, each `run.*` event updates the list itself instead of asking again.
 */
export class RunsModel implements vscode.Disposable {
  private runs: RunSummary[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[];
  /** Events that arrived while the page was on its way, applied on top of it. */
  private pending: AgentEvent[] | undefined;

  constructor(private readonly host: HostClient) {
    this.disposables = [host.onReady(() => void this.reload()), host.onEvent((event) => this.apply(event))];
  }

  all(): readonly RunSummary[] {
    return this.runs;
  }

  running(): RunSummary[] {
    return this.runs.filter((run) => run.status === 'running');
  }

  private apply(event: AgentEvent): void {
    // An eval's runs are not the user's (they ran in copies): the host marks them in its run list, this one leaves them out.
    if (event.evalId !== undefined) return;
    if (this.pending) {
      this.pending.push(event);
      return;
    }
    if (event.type === 'run.started') {
      // Newest first, one page: a run that falls off the end is over (running runs are always recent).
      this.runs = [startedRun(event), ...this.runs.filter((run) => run.runId !== event.runId)].slice(0, RUNS_PAGE.DEFAULT);
    } else if (event.type === 'run.iteration' || event.type === 'run.finished' || event.type === 'llm.response') {
      const run = this.runs.find((r) => r.runId === event.runId);
      if (!run) return;
      applyRunEvent(run, event);
    } else return;
    this.changed.fire();
  }

  private async reload(): Promise<void> {
    this.pending = [];
    try {
      const client = await this.host.get();
      this.runs = (await client.sendRequest(RunsRequest.paged, { limit: RUNS_PAGE.DEFAULT })).runs.filter((run) => run.evalId === undefined);
    } finally {
      const pending = this.pending;
      this.pending = undefined;
      // The page already holds what was logged before it was read; applying an event twice changes nothing but a call's cost.
      for (const event of pending) if (event.type !== 'llm.response') this.apply(event);
      this.changed.fire();
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
