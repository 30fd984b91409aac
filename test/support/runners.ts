/**
 * Real test runners on the fixture projects in test/fixtures/runners/: copy one into a temp folder (node_modules
 * linked to the repository's), run a runner there with stdout and stderr into one file as a pipe would interleave
 * them, and find the lines the fixtures mark (`// @fail:sums`, `# @source:div`).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO } from './fixtures';

export const RUNNER_FIXTURES = path.join(REPO, 'test', 'fixtures', 'runners');

const created: string[] = [];

/** A fresh copy of test/fixtures/runners/<name> in a temp folder, with node_modules linked to the repository's. */
export function copyFixture(name: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `runner-${name}-`)));
  created.push(dir);
  fs.cpSync(path.join(RUNNER_FIXTURES, name), dir, { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Removes the copies and output files made so far (the node_modules link first, so nothing follows it). */
export function removeRunnerCopies(): void {
  for (const dir of created.splice(0)) {
    fs.rmSync(path.join(dir, 'node_modules'), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  output: string;
  exitCode: number | null;
  ms: number;
}

/** The environment the host gives a test command (no colour), or with colour forced on. */
export function runnerEnv(color: boolean, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ['NO_COLOR', 'FORCE_COLOR', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT']) delete env[key];
  if (color) env.FORCE_COLOR = '1';
  else Object.assign(env, { NO_COLOR: '1', FORCE_COLOR: '0' });
  return env;
}

/** Runs `command args` in `cwd`; stdout and stderr go to one file, so the output interleaves as through `2>&1`. */
export function runCommand(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-out-'));
  created.push(outDir);
  const file = path.join(outDir, 'output.txt');
  const fd = fs.openSync(file, 'w');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      fs.closeSync(fd);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.closeSync(fd);
      resolve({ output: fs.readFileSync(file, 'utf8'), exitCode: code, ms: Date.now() - started });
    });
  });
}

/** The 1-based line of `file` (relative to `dir`) that carries `marker`; throws when there is not exactly one. */
export function markerLine(dir: string, file: string, marker: string): number {
  const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
  const hits = lines.flatMap((line, i) => (line.includes(marker) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`${file}: ${hits.length} lines carry ${marker}`);
  return hits[0];
}

/** `python3 -m pytest`, or Debian's /usr/bin/python3 when another python3 comes first on PATH without pytest. */
export function findPytest(): string {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-m', 'pytest', '--version'], { encoding: 'utf8' });
    if (r.status === 0) return python;
  }
  throw new Error('pytest is missing: run scripts/setup-e2e.sh (it installs python3-pytest)');
}

export function findGo(): string {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('go is missing: run scripts/setup-e2e.sh (it installs golang-go)');
  return 'go';
}

/** Go's caches in the temp folder (kept between runs, so a second run compiles nothing), no network, no toolchain switch. */
export function goEnv(): Record<string, string> {
  const cache = path.join(os.tmpdir(), 'dev-ai-go-cache');
  return {
    GOCACHE: path.join(cache, 'build'),
    GOPATH: path.join(cache, 'path'),
    GOMODCACHE: path.join(cache, 'path', 'pkg', 'mod'),
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
    GO111MODULE: 'on',
    CGO_ENABLED: '0',
  };
}
