/** `micro-agent serve` as a user starts it: a real process on a free port, with its api.json read back. */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ApiInfo } from '../../server/protocol/api';
import { until } from './until';
import { DIST } from './fixtures';

export interface Served {
  child: ChildProcess;
  url: string;
  info: ApiInfo;
  output: () => string;
}

export async function serve(root: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [path.join(DIST, 'cli.js'), 'serve', '--workspace', root, '--port', '0', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  await until(() => /dashboard http:\/\/\S+/.test(output) || child.exitCode !== null, 'serve to listen');
  const url = /listening (http:\/\/\S+)/.exec(output)?.[1];
  if (!url) throw new Error(`serve did not start:\n${output}`);
  const info = JSON.parse(fs.readFileSync(path.join(root, '.micro-agent', 'api.json'), 'utf8')) as ApiInfo;
  return { child, url, info, output: () => output };
}

export async function stop(served: Served | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null) return;
  const exited = new Promise((r) => served.child.once('exit', r));
  served.child.kill('SIGTERM');
  await exited;
}
