/**
 * `npm run test:electron`: the extension in desktop VS Code through @vscode/test-electron, which downloads
 * VS Code, so it needs internet. `npm test` runs the same extension in code-server instead (test/e2e/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, REPO, TEST_COMMAND } from '../support/fixtures';
import { startVendorServer } from '../support/vendorServer';

async function main(): Promise<void> {
  const vendor = await startVendorServer();
  vendor.respond = () => ({ kind: 'text', text: fixReply() });
  const workspace = makeWorkspace({
    'math.js': BROKEN_MATH,
    'math.test.js': MATH_TEST,
    '.vscode/settings.json': JSON.stringify({ 'devAi.testCommand': TEST_COMMAND }),
  });
  try {
    await runTests({
      version: '1.100.3',
      extensionDevelopmentPath: REPO,
      extensionTestsPath: path.join(__dirname, 'suite.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
      extensionTestsEnv: { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl, DEV_AI_TEST_WORKSPACE: workspace },
    });
  } finally {
    await vendor.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
