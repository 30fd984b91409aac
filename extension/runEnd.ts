import * as vscode from 'vscode';
import type { InterruptedRunsParams, RunFinishedEvent } from '../server/protocol';
import { HostClient } from './hostClient';
import { RunActions } from './runActions';
import { RunsModel } from './runsModel';
import { showError } from './userErrors';

/**
 * Tells the user how each run ended, with what they can do next: Show Changes and Undo after a run that
 * changed files, Resume after one that did not pass, Keep / Discard first when `devAi.reviewBeforeKeep` is on,
 * and Show Changes / Undo for runs an earlier host left interrupted. Nothing is restored without the user.
 */
export class RunEndNotifier implements vscode.Disposable {
  private readonly files = new Map<string, string>();
  private readonly disposables: vscode.Disposable[];

  constructor(
    host: HostClient,
    private readonly runs: RunsModel,
    private readonly actions: RunActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      host.onEvent((event) => {
        // An eval's runs ran in copies: nothing of theirs to show, undo or resume here (Compare Models reports the eval).
        if (event.evalId !== undefined) return;
        if (event.type === 'run.started') this.files.set(event.runId, event.file);
        // What the run cannot promise (a test runner whose output it cannot read) is said once, as it starts.
        if (event.type === 'log' && event.level === 'warn' && event.runId) void vscode.window.showWarningMessage(`micro-agent: ${event.message}`);
        if (event.type === 'run.finished') void this.finished(event).catch((err) => showError(err, log));
      }),
      host.onInterruptedRuns((params) => void this.interrupted(params).catch((err) => showError(err, log))),
    ];
  }

  private async finished(event: RunFinishedEvent): Promise<void> {
    const file = this.files.get(event.runId) ?? this.runs.all().find((r) => r.runId === event.runId)?.file ?? 'the file';
    this.files.delete(event.runId);
    // An interrupted run is told of by the interruptedRuns notification, once, with its files.
    if (event.reason === 'interrupted') return;
    const changed = (event.files?.length ?? 0) > 0;
    const ref = { runId: event.runId };
    if (event.outcome === 'passed') {
      if (changed && vscode.workspace.getConfiguration('devAi').get<boolean>('reviewBeforeKeep')) return this.review(event, file);
      const iterations = `${event.iterations} iteration${event.iterations === 1 ? '' : 's'}`;
      const choice = await vscode.window.showInformationMessage(
        `micro-agent: the tests pass on ${file} after ${iterations}.`,
        ...(changed ? ['Show Changes', 'Undo'] : []),
      );
      if (choice === 'Show Changes') await vscode.commands.executeCommand('devAi.showRunChanges', ref);
      if (choice === 'Undo') await vscode.commands.executeCommand('devAi.undoRun', ref);
      return;
    }
    // What is left of a run that did not pass: its files were put back unless it kept its last attempt.
    const kept = changed && !event.restored;
    const why = event.reason === 'cancelled' ? 'the run was cancelled' : event.reason.replaceAll('_', ' ');
    // A run that stopped early for a reason of its own says why in a sentence; a test file is never worth resuming.
    const early = (event.reason === 'stuck' || event.reason === 'test_file') && event.error ? ` ${event.error}.` : '';
    const choice = await vscode.window.showInformationMessage(
      `micro-agent did not fix ${file} (${why}).${early}${kept ? ' Its last attempt is still in place.' : ''}`,
      ...(event.reason === 'test_file' ? [] : ['Resume']),
      ...(kept ? ['Show Changes', 'Undo'] : changed ? ['Show Changes'] : []),
    );
    if (choice === 'Resume') await vscode.commands.executeCommand('devAi.resumeRun', ref);
    if (choice === 'Show Changes') await vscode.commands.executeCommand('devAi.showRunChanges', ref);
    if (choice === 'Undo') await vscode.commands.executeCommand('devAi.undoRun', ref);
  }

  /** `devAi.reviewBeforeKeep`: the passing result opens as a diff and stays only on Keep; Discard undoes it. */
  private async review(event: RunFinishedEvent, file: string): Promise<void> {
    await this.actions.showChanges(event.runId);
    const choice = await vscode.window.showInformationMessage(
      `micro-agent: the tests pass on ${file}. Keep the changes to ${event.files!.join(', ')}?`,
      { modal: false },
      'Keep',
      'Discard',
    );
    if (choice === 'Discard') {
      await this.actions.undo(event.runId);
    } else {
      this.log.info(`run ${event.runId}: changes ${choice === 'Keep' ? 'kept' : 'left in place (the review was dismissed)'}`);
    }
  }

  private async interrupted({ runs }: InterruptedRunsParams): Promise<void> {
    if (runs.length === 0) return;
    const names = runs.map((r) => r.file).join(', ');
    const left = runs[0].files.length ? `${runs[0].files.join(', ')} may be left half-changed` : 'it changed no file';
    const message =
      runs.length === 1
        ? `micro-agent's run on ${names} was interrupted (its process ended mid-run); ${left}.`
        : `${runs.length} micro-agent runs were interrupted (their process ended mid-run), on ${names}; their files may be left half-changed.`;
    const changed = runs.some((r) => r.files.length > 0);
    const choice = await vscode.window.showWarningMessage(message, ...(changed ? ['Show Changes', 'Undo'] : []));
    if (!choice) return;
    for (const run of runs.filter((r) => r.files.length > 0)) {
      await vscode.commands.executeCommand(choice === 'Undo' ? 'devAi.undoRun' : 'devAi.showRunChanges', { runId: run.runId });
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
