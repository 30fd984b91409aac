/**
 * The extension as users get it: `npm run package` builds dev-ai-<version>.vsix at the repository root (the
 * vscode:prepublish script bundles dist/ first). Built once per process, however many VS Codes a suite starts.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './fixtures';

let built: Promise<string> | undefined;

export function vsixPath(): string {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
  return path.join(REPO, `${name}-${version}.vsix`);
}

/** Packages the extension (once per process) and resolves to the .vsix; rejects with vsce's output when it fails. */
export function packagedVsix(): Promise<string> {
  built ??= promisify(execFile)('npm', ['run', 'package'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 }).then(
    () => vsixPath(),
    (err: Error & { stdout?: string; stderr?: string }) => {
      built = undefined;
      throw new Error(`npm run package failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    },
  );
  return built;
}
