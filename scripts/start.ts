/**
 * `npm start`: a real VS Code (code-server) in the browser with dev-ai loaded on a copy of the example
 * workspace (a broken module and its tests). Prints the URL and runs until Ctrl-C. Keys and endpoints come
 * from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, OLLAMA_HOST, …) or "dev-ai: Set API Key".
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCodeServer } from '../test/support/codeServer';
import { REPO } from '../test/support/fixtures';

async function main(): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-ai-example-'));
  fs.cpSync(path.join(REPO, 'examples', 'broken-math'), workspace, { recursive: true });
  const port = process.env.PORT ? Number(process.env.PORT) : 8080;
  const vscode = await startCodeServer({
    workspace,
    port,
    // The example is ours, so skip the trust prompt; the test command is preset so a fix starts at once.
    settings: { 'security.workspace.trust.enabled': false, 'devAi.testCommand': 'node --test', 'workbench.startupEditor': 'none' },
  });
  console.log(`\ndev-ai is running in VS Code: ${vscode.url}\n`);
  console.log(`Example workspace: ${workspace}`);
  console.log('Open math.js and run "dev-ai: Fix Current File with micro-agent" from the command palette (F1).');
  console.log('No key in the environment? Run "dev-ai: Set API Key", or start Ollama. Ctrl-C stops.\n');
  const stop = () => void vscode.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  console.error(`npm start: ${err.message}`);
  process.exit(1);
});
