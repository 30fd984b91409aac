import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import { ErrorCodes } from '../server/protocol/methods';

/** A problem the user can fix, shown as is. */
export class UserError extends Error {}

/**
 * Registers a command whose failures reach the user as a message (and the log) instead of vanishing. Each
 * command declares the arguments it expects; VS Code passes whatever its caller gave, unchecked.
 */
export function registerCommand<A extends unknown[]>(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  id: string,
  run: (...args: A) => unknown,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await run(...(args as A));
      } catch (err) {
        void showError(err, log);
      }
    }),
  );
}

export async function showError(err: unknown, log: vscode.LogOutputChannel): Promise<void> {
  const message = err instanceof Error ? err.message : String(err);
  log.error(message);
  if (err instanceof ResponseError && err.code === ErrorCodes.Configuration) {
    const choice = await vscode.window.showErrorMessage(`micro-agent: ${message}`, 'Set API Key', 'Select Provider and Model');
    if (choice === 'Set API Key') await vscode.commands.executeCommand('devAi.setApiKey');
    if (choice === 'Select Provider and Model') await vscode.commands.executeCommand('devAi.selectModel');
    return;
  }
  void vscode.window.showErrorMessage(err instanceof UserError || err instanceof ResponseError ? `micro-agent: ${message}` : `micro-agent failed: ${message}`);
}
