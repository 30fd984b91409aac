import * as path from 'node:path';
import * as vscode from 'vscode';
import { StartRunRequest, WriteTestsRequest, WriteTestsResult } from '../server/protocol';
import { ActiveFile } from './activeFile';
import { HostClient } from './hostClient';
import { ensureTrusted, givenOrAsked, saveIfDirty, testCommandFor } from './runInputs';
import { proposeTestPath, WorkspaceLayout } from './testPath';
import { registerCommand, UserError } from './userErrors';
import { VirtualDocs } from './virtualDocs';

/** What the user decided about a draft: run with these tests, or ask the model to revise them. */
type Decision = { accept: string } | { feedback: string; draft: string };

/**
 * Write Tests and Implement (tests first): the model drafts a test file for what the user describes
 * (`microAgent/writeTests`); the user reviews it in a diff against nothing, then accepts it, edits it, or
 * gives feedback for a new draft. Accepted, the run starts with the tests (`generatedTests`), the engine writes
 * them, and the loop implements the file until they pass. Nothing is written before Accept.
 */
export function registerTestsFirst(
  context: vscode.ExtensionContext,
  host: HostClient,
  activeFile: ActiveFile,
  docs: VirtualDocs,
  log: vscode.LogOutputChannel,
) {
  // Arguments: the explorer/editor passes the file's URI; scripts may pass { prompt, testFile } to skip those questions.
  registerCommand(context, log, 'devAi.writeTestsAndImplement', async (resource?: vscode.Uri, options?: { prompt?: string; testFile?: string }) => {
    if (!(await ensureTrusted())) return;
    const uri = resource instanceof vscode.Uri ? resource : activeFile.uri;
    if (!uri || uri.scheme !== 'file') throw new UserError('Open the file to implement (or pick it in the explorer) first.');
    const root = vscode.workspace.getWorkspaceFolder(uri)?.uri;
    if (!root) throw new UserError('The file to implement must be inside the workspace folder.');
    await saveIfDirty(uri);
    const file = path.relative(root.fsPath, uri.fsPath).split(path.sep).join('/');

    const prompt = await givenOrAsked(options?.prompt, {
      title: `Write Tests and Implement ${path.basename(file)}: what should the code do?`,
      prompt: 'The model writes tests for this first; you review them, then it implements the file until they pass.',
      validateInput: (value) => (value.trim() ? undefined : 'Describe what the code should do'),
    });
    if (!prompt?.trim()) return;
    const testFile = await givenOrAsked(options?.testFile, {
      title: 'Write Tests and Implement: the new test file',
      prompt: 'Workspace path of the test file the model writes (it must not exist yet).',
      value: proposeTestPath(file, await workspaceLayout(root)),
      validateInput: async (value) => {
        if (!value.trim()) return 'Enter a path for the test file';
        if (path.isAbsolute(value) || path.normalize(value).startsWith('..')) return 'The test file must be inside the workspace';
        return (await exists(vscode.Uri.joinPath(root, value.trim()))) ? `${value.trim()} exists already: choose a new file` : undefined;
      },
    });
    if (!testFile?.trim()) return;
    const testCommand = await testCommandFor(context);
    if (!testCommand) return;

    const client = await host.get();
    const languageId = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())?.languageId;
    let revision: { draft: string; feedback: string } | undefined;
    for (;;) {
      // Cancel stops waiting at once; the token also tells the host to stop the model call.
      const draft = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `micro-agent: writing tests for ${file}`, cancellable: true },
        (_progress, token) =>
          Promise.race([
            client.sendRequest(WriteTestsRequest.type, { uri: uri.toString(), testFile: testFile.trim(), prompt, testCommand, ...revision }, token),
            new Promise<undefined>((resolve) => token.onCancellationRequested(() => resolve(undefined))),
          ]),
      );
      if (!draft) return;
      const decision = await review(draft, docs, languageId);
      if (!decision) {
        void vscode.window.showInformationMessage(`Write Tests and Implement stopped: nothing was written.`);
        return;
      }
      if ('feedback' in decision) {
        revision = decision;
        continue;
      }
      const { runId } = await client.sendRequest(StartRunRequest.type, {
        uri: uri.toString(),
        testCommand,
        prompt,
        // The engine writes the accepted file and shows it to the model as a read-only test file itself; naming it in
        // testFiles too would be refused, since it does not exist until the run writes it.
        generatedTests: { testFile: draft.testFile, contents: decision.accept },
      });
      log.info(`run ${runId} started on ${file} with the tests written first to ${draft.testFile} (tests: ${testCommand})`);
      return;
    }
  });
}

/**
 * Shows the draft as a new file (a read-only diff against nothing) and asks Accept / Edit / Give Feedback.
 * Edit opens the draft in an untitled editor and asks again, taking the edited text. Undefined: dismissed.
 */
async function review(draft: WriteTestsResult, docs: VirtualDocs, languageId: string | undefined): Promise<Decision | undefined> {
  const preview = docs.draft(draft.testFile, draft.contents);
  try {
    await vscode.commands.executeCommand('vscode.diff', docs.empty(draft.testFile), preview, `${draft.testFile} (tests drafted by the model)`, {
      preview: false,
    });
    const choice = await vscode.window.showInformationMessage(
      `Review the tests the model wrote in ${draft.testFile}. Accept them to let micro-agent implement the file until they pass.`,
      'Accept',
      'Edit',
      'Give Feedback',
    );
    if (choice === 'Accept') return { accept: draft.contents };
    if (choice === 'Give Feedback') return askFeedback(draft.contents);
    if (choice !== 'Edit') return undefined;
  } finally {
    await closeTabs((input) => input instanceof vscode.TabInputTextDiff && input.modified.toString() === preview.toString());
    docs.forget(preview);
  }

  const editable = await vscode.workspace.openTextDocument({ content: draft.contents, language: languageId });
  await vscode.window.showTextDocument(editable, { preview: false });
  try {
    const choice = await vscode.window.showInformationMessage(
      `Edit the tests for ${draft.testFile} in this editor, then Accept (nothing is saved until the run writes the file).`,
      'Accept',
      'Give Feedback',
    );
    if (choice === 'Accept') return { accept: editable.getText() };
    if (choice === 'Give Feedback') return askFeedback(editable.getText());
    return undefined;
  } finally {
    // The untitled copy was only a place to edit: close it without asking to save it.
    if (!editable.isClosed) {
      await vscode.window.showTextDocument(editable);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  }
}

async function askFeedback(draft: string): Promise<Decision | undefined> {
  const feedback = await vscode.window.showInputBox({
    title: 'Give Feedback: what should the model change in the tests?',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? undefined : 'Say what to change'),
  });
  return feedback?.trim() ? { feedback: feedback.trim(), draft } : undefined;
}

async function closeTabs(match: (input: unknown) => boolean): Promise<void> {
  const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => match(tab.input));
  if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
}

/** The facts proposeTestPath works from: top-level folders and where the existing tests are. */
async function workspaceLayout(root: vscode.Uri): Promise<WorkspaceLayout> {
  const entries = await vscode.workspace.fs.readDirectory(root).then(undefined, () => []);
  const tests = await vscode.workspace.findFiles(
    new vscode.RelativePattern(root, '**/{*.test.*,*.spec.*,test_*.py,*_test.go}'),
    '{**/node_modules/**,**/.git/**,**/.micro-agent/**}',
    50,
  );
  return {
    folders: entries.filter(([, type]) => type === vscode.FileType.Directory).map(([name]) => name),
    testFiles: tests.map((t) => path.relative(root.fsPath, t.fsPath).split(path.sep).join('/')),
  };
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
