/** Each run as LSP work-done progress, so any client shows it natively and its Cancel cancels the run. */
import type { Connection, WorkDoneProgressServerReporter } from 'vscode-languageserver/node';
import type { AgentEvent } from '../protocol/events';

export class RunProgress {
  /** Creating a progress is a round trip: later events wait on the promise instead of racing it. */
  private readonly reporters = new Map<string, Promise<WorkDoneProgressServerReporter>>();

  constructor(
    private readonly connection: Connection,
    private readonly cancel: (runId: string) => void,
  ) {}

  observe(event: AgentEvent): void {
    if (!event.runId) return;
    const runId = event.runId;
    const update = (apply: (reporter: WorkDoneProgressServerReporter) => void) => void this.reporters.get(runId)?.then(apply, () => undefined);
    switch (event.type) {
      case 'run.started':
        this.reporters.set(
          runId,
          this.connection.window.createWorkDoneProgress().then((reporter) => {
            reporter.begin(`micro-agent: ${event.file}`, 0, 'running the tests', true);
            reporter.token.onCancellationRequested(() => this.cancel(runId));
            return reporter;
          }),
        );
        break;
      case 'run.iteration':
        update((reporter) =>
          reporter.report(Math.round(((event.iteration - 1) / event.maxRuns) * 100), `iteration ${event.iteration} of ${event.maxRuns}: asking the model`),
        );
        break;
      case 'test.started':
        update((reporter) => reporter.report(event.iteration === 0 ? 'running the tests' : `iteration ${event.iteration}: running the tests`));
        break;
      case 'run.finished':
        update((reporter) => reporter.done());
        this.reporters.delete(runId);
        break;
    }
  }
}
