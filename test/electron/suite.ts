/** Runs inside VS Code's extension host (see runTests.ts): the extension through the real vscode API. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { FIXED_MATH } from '../support/fixtures';

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension('dev-ai.dev-ai');
  assert.ok(extension, 'the extension is installed');
  await extension.activate();
  const commands = await vscode.commands.getCommands(true);
  for (const id of ['devAi.fixFile', 'devAi.cancelRun', 'devAi.selectModel', 'devAi.setApiKey', 'devAi.clearApiKey', 'devAi.showLog', 'devAi.restartHost']) {
    assert.ok(commands.includes(id), `${id} is registered`);
  }
  const file = path.join(process.env.DEV_AI_TEST_WORKSPACE!, 'math.js');
  await vscode.window.showTextDocument(vscode.Uri.file(file));
  await vscode.commands.executeCommand('devAi.fixFile', vscode.Uri.file(file), { prompt: '' });
  const deadline = Date.now() + 60_000;
  while (fs.readFileSync(file, 'utf8') !== FIXED_MATH) {
    if (Date.now() > deadline) throw new Error('micro-agent did not fix math.js within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}
