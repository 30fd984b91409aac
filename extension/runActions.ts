import * as path from 'node:path';
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import type { RunSummary } from '../server/protocol/events';
import { RestoreAttemptRequest, ResumeRunRequest, RunChangesRequest, UndoRunRequest } from '../server/protocol/lsp';
import { ErrorCodes, RestoreResult, RunChanges } from '../server/protocol/methods';
import { HostClient } from './hostClient';
import { RunsModel } from './runsModel';
import { UserError } from './userErrors';
import { VirtualDocs } from './virtualDocs';

/** What the runs tree, the dashboard and notifications pass to the run commands: a run, perhaps one of its attempts. */
export interface RunRef {
  runId?: string;
  iteration?: number;
}

/** The files a refusal with `ChangedSince` names, or undefined for any other error. */
export function changedSinceFiles(err: unknown): string[] | undefined {
  if (!(err instanceof ResponseError) || err.code !== ErrorCodes.ChangedSince) return undefined;
  const files = (err.data as { files?: unknown } | undefined)?.files;
  return Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string') : [];
}

/**
 * What a user can do with a finished run: see its changes in the diff editor, undo it, put one of its attempts
 * back, resume it. The engine does the work (`microAgent/runChanges`, `undoRun`, `restoreAttempt`,
 * `resumeRun`); this class asks, shows, and never overwrites a file changed since the run without a yes.
 */
export class RunActions {
  constructor(
    private readonly host: HostClient,
    private readonly runs: RunsModel,
    private readonly docs: VirtualDocs,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async changes(runId: string): Promise<RunChanges> {
    const client = await this.host.get();
    return client.sendRequest(RunChangesRequest.type, { runId });
  }

  /**
   * Opens the diff editor: each file as it was before the run (its kept copy) against the file now, one diff
   * for one file, the multi-diff editor for several. When the files are back as before the run (undone, or a
   * run that did not pass), the workspace shows nothing new, so the right side is what the run last wrote.
   */
  async showChanges(runId: string): Promise<void> {
    const changes = await this.changes(runId);
    if (changes.files.length === 0) {
      void vscode.window.showInformationMessage(`The micro-agent run on ${changes.file} changed no files.`);
      return;
    }
    const root = workspaceRoot();
    const sides = await Promise.all(
      changes.files.map(async (change) => {
        const current = vscode.Uri.file(path.join(root, change.file));
        const left = change.original ? vscode.Uri.file(path.resolve(root, change.original)) : this.docs.empty(change.file);
        const now = await readBytes(current);
        const before = change.original ? await readBytes(left) : undefined;
        const unchanged = now === undefined ? change.original === null : before !== undefined && Buffer.compare(before, now) === 0;
        if (unchanged && change.result) return { change, current, left, right: vscode.Uri.file(path.resolve(root, change.result)), side: 'last attempt' };
        return { change, current, left, right: now === undefined ? this.docs.empty(change.file) : current, side: now === undefined ? 'deleted' : 'now' };
      }),
    );
    if (sides.length === 1) {
      const [{ change, left, right, side }] = sides;
      const label = change.status === 'created' ? `${change.file} (created by the run ↔ ${side})` : `${change.file} (before the run ↔ ${side})`;
      await vscode.commands.executeCommand('vscode.diff', left, right, label, { preview: false });
      return;
    }
    await vscode.commands.executeCommand(
      'vscode.changes',
      `micro-agent run on ${changes.file}: ${sides.length} files`,
      sides.map(({ current, left, right }) => [current, left, right]),
    );
  }

  /** Puts the run's originals back; files changed since the run are overwritten only after the user says so. */
  async undo(runId: string): Promise<RestoreResult | undefined> {
    const client = await this.host.get();
    const result = await confirmOverwrite('Undo', (force) => client.sendRequest(UndoRunRequest.type, { runId, ...(force ? { force } : {}) }));
    if (result) void vscode.window.showInformationMessage(`Undid the micro-agent run: ${listFiles(result.files)} back as before the run.`);
    return result;
  }

  async restore(runId: string, iteration: number): Promise<RestoreResult | undefined> {
    const client = await this.host.get();
    const result = await confirmOverwrite('Restore', (force) =>
      client.sendRequest(RestoreAttemptRequest.type, { runId, iteration, ...(force ? { force } : {}) }),
    );
    if (result) {
      const state = iteration === 0 ? 'as before the run' : `as attempt ${iteration} left them`;
      void vscode.window.showInformationMessage(`Restored ${listFiles(result.files)} ${state}.`);
    }
    return result;
  }

  /** Continues the run from its last attempt as a new run; its progress shows like any run's. */
  async resume(runId: string): Promise<void> {
    const client = await this.host.get();
    const result = await confirmOverwrite('Resume', (force) => client.sendRequest(ResumeRunRequest.type, { runId, ...(force ? { force } : {}) }));
    if (result) this.log.info(`run ${result.runId} resumes run ${runId}`);
  }

  /** The run a command is about: the one given, else picked from the recent runs (newest first). */
  async pickRun(ref: RunRef | undefined, title: string, eligible: (run: RunSummary) => boolean): Promise<string | undefined> {
    if (typeof ref?.runId === 'string') return ref.runId;
    const candidates = this.runs.all().filter(eligible);
    if (candidates.length === 0) throw new UserError(`No run to choose from: ${title.toLowerCase()} needs a finished run.`);
    const picked = await vscode.window.showQuickPick(
      candidates.map((run) => ({
        label: run.file,
        description: `${run.status}${run.reason ? ` (${run.reason.replaceAll('_', ' ')})` : ''} · ${run.iterations} it.`,
        detail: `${new Date(run.startedAt).toLocaleString()} · ${run.provider} ${run.model} · ${run.runId}`,
        runId: run.runId,
      })),
      { title, matchOnDetail: true },
    );
    return picked?.runId;
  }

  /** The attempt to restore: the one given, else picked from the run's checkpoints (latest first) or its originals. */
  async pickAttempt(runId: string, ref: RunRef | undefined): Promise<number | undefined> {
    if (Number.isSafeInteger(ref?.iteration)) return ref!.iteration;
    const { checkpoints, file } = await this.changes(runId);
    const picked = await vscode.window.showQuickPick(
      [
        ...[...checkpoints].reverse().map((c) => ({
          label: `Attempt ${c.iteration}`,
          description: listFiles(c.files),
          detail: c.kept ? undefined : 'This attempt was taken back during the run (its tests did not really pass).',
          iteration: c.iteration,
        })),
        { label: 'Before the run', description: 'the original files (the same as Undo Run)', iteration: 0 },
      ],
      { title: `Restore which attempt of the run on ${file}?` },
    );
    return picked?.iteration;
  }
}

/** Finished runs have changes to show or undo. */
export const finishedRun = (run: RunSummary) => run.status !== 'running';
/** A run that ended without passing can go on from its last attempt. */
export const resumableRun = (run: RunSummary) => run.status === 'failed' || run.status === 'cancelled' || run.status === 'error';

/**
 * Calls `request` without force; when the engine refuses because files changed since the run, names them
 * and asks before calling again with force. Undefined when the user said no.
 */
async function confirmOverwrite<T>(verb: string, request: (force: boolean) => Promise<T>): Promise<T | undefined> {
  try {
    return await request(false);
  } catch (err) {
    const files = changedSinceFiles(err);
    if (!files) throw err;
    const choice = await vscode.window.showWarningMessage(
      `${files.length === 1 ? `${files[0]} was` : `${files.length} files were`} changed after the micro-agent run. ${verb} anyway and lose those changes?`,
      { modal: true, detail: files.join('\n') },
      `${verb} Anyway`,
    );
    return choice ? request(true) : undefined;
  }
}

function workspaceRoot(): string {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!root || root.scheme !== 'file') throw new UserError('Open the workspace folder the run was in first.');
  return root.fsPath;
}

async function readBytes(uri: vscode.Uri): Promise<Uint8Array | undefined> {
  try {
    return await vscode.workspace.fs.readFile(uri);
  } catch {
    return undefined;
  }
}

function listFiles(files: string[]): string {
  if (files.length === 0) return 'no files';
  return files.length <= 3 ? files.join(', ') : `${files.slice(0, 3).join(', ')} and ${files.length - 3} more`;
}
