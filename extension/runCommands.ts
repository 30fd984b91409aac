import * as vscode from 'vscode';
import { finishedRun, resumableRun, RunActions, RunRef } from './runActions';
import { registerCommand } from './userErrors';

/**
 * The palette, runs-tree and dashboard commands on a finished run. Each takes an optional `{ runId, iteration }`
 * (a runs-tree element, a dashboard message, a notification) and asks for what is missing, recent runs first.
 */
export function registerRunCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, actions: RunActions): void {
  const register = <A extends unknown[]>(id: string, run: (...args: A) => unknown) => registerCommand(context, log, id, run);

  register('devAi.showRunChanges', async (ref?: RunRef) => {
    const runId = await actions.pickRun(ref, 'Show the changes of which run?', finishedRun);
    if (runId) await actions.showChanges(runId);
  });

  register('devAi.undoRun', async (ref?: RunRef) => {
    const runId = await actions.pickRun(ref, 'Undo which run?', finishedRun);
    if (runId) await actions.undo(runId);
  });

  const restore = async (ref?: RunRef) => {
    const runId = await actions.pickRun(ref, 'Restore an attempt of which run?', finishedRun);
    if (!runId) return;
    const iteration = await actions.pickAttempt(runId, ref);
    if (iteration !== undefined) await actions.restore(runId, iteration);
  };
  register('devAi.restoreAttempt', restore);
  // The same, titled for a runs-tree checkpoint (which always names its attempt).
  register('devAi.restoreThisAttempt', restore);

  register('devAi.resumeRun', async (ref?: RunRef) => {
    const runId = await actions.pickRun(ref, 'Resume which run? (failed, cancelled or interrupted runs)', resumableRun);
    if (runId) await actions.resume(runId);
  });
}
