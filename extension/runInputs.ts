/** What every run asks the user for before it starts: trust, the file saved, the test command. */
import * as vscode from 'vscode';

const REMEMBERED_TEST_COMMAND = 'devAi.testCommand';

/** The test command: the setting if set, else the one remembered for this workspace, else asked for once. */
export async function testCommandFor(context: vscode.ExtensionContext): Promise<string | undefined> {
  const configured = vscode.workspace.getConfiguration('devAi').get<string>('testCommand')?.trim();
  if (configured) return configured;
  const remembered = context.workspaceState.get<string>(REMEMBERED_TEST_COMMAND);
  if (remembered) return remembered;
  const asked = await vscode.window.showInputBox({
    title: 'micro-agent: test command',
    prompt: 'The command that runs the tests in this workspace; exit code 0 means they pass. Remembered for this workspace.',
    value: 'npm test',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? undefined : 'Enter a command, e.g. npm test'),
  });
  if (!asked?.trim()) return undefined;
  await context.workspaceState.update(REMEMBERED_TEST_COMMAND, asked.trim());
  return asked.trim();
}

/** Runs need a trusted workspace (they run test commands and write files); says so and offers to manage trust. */
export async function ensureTrusted(): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const choice = await vscode.window.showWarningMessage(
    'dev-ai is in limited mode because this workspace is not trusted: ' +
      'micro-agent would run test commands and write files. Trust the workspace to fix files.',
    'Manage Workspace Trust',
  );
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/** The host reads the file from disk: unsaved edits must be there. */
export async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const open = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === uri.toString());
  if (open?.isDirty) await open.save();
}

/** What a script or keybinding passed (e.g. `{ prompt: '' }` to skip a question), else the user's answer; undefined when dismissed. */
export async function givenOrAsked(given: unknown, ask: vscode.InputBoxOptions): Promise<string | undefined> {
  return typeof given === 'string' ? given : vscode.window.showInputBox({ ignoreFocusOut: true, ...ask });
}
