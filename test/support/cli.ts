/** `micro-agent` (dist/cli.js) as a user runs it in a terminal: a real process in a workspace. */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { DIST } from './fixtures';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited and its output is read. */
  result: Promise<CliResult>;
}

export function spawnCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, [path.join(DIST, 'cli.js'), ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const result = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, output: () => stdout + stderr, result };
}

export function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return spawnCli(args, cwd, env).result;
}
