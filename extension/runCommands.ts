import * as vscode from 'vscode';
import { finishedRun, resumableRun, RunActions, RunRef } from './runActions';
import { registerCommand } from './userErrors';

/** A command's argument: a runs-tree element, a dashboard message or a notification's `{ runId, iteration? }`, or a run id. */
type RunArg = RunRef | string | undefined;
const toRef = (arg: RunArg, iteration?: unknown): RunRef | undefined =>
  typeof arg === 'string' ? { runId: arg, ...(typeof iteration === 'number' ? { iteration } : {}) } : arg;

/**
 * The palette, runs-tree and dashboard commands on a finished run. Each takes an optional run (see RunArg)
 * and asks for what is missing, recent runs first.
 */
export function registerRunCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, actions: RunActions): void {
  const register = <A extends unknown[]>(id: string, run: (...args: A) => unknown) => registerCommand(context, log, id, run);

  register('devAi.showRunChanges', async (arg?: RunArg) => {
    const runId = await actions.pickRun(toRef(arg), 'Show the changes of which run?', finishedRun);
    if (runId) await actions.showChanges(runId);
  });

  register('devAi.undoRun', async (arg?: RunArg) => {
    const runId = await actions.pickRun(toRef(arg), 'Undo which run?', finishedRun);
    if (runId) await actions.undo(runId);
  });

  const restore = async (arg?: RunArg, attempt?: number) => {
    const ref = toRef(arg, attempt);
    const runId = await actions.pickRun(ref, 'Restore an attempt of which run?', finishedRun);
    if (!runId) return;
    const iteration = await actions.pickAttempt(runId, ref);
    if (iteration !== undefined) await actions.restore(runId, iteration);
  };
  register('devAi.restoreAttempt', restore);
  // The same, titled for a runs-tree checkpoint (which always names its attempt).
  register('devAi.restoreThisAttempt', restore);

  register('devAi.resumeRun', async (arg?: RunArg) => {
    const runId = await actions.pickRun(toRef(arg), 'Resume which run? (failed, cancelled or interrupted runs)', resumableRun);
    if (runId) await actions.resume(runId);
  });
}
