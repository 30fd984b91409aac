/**
 * `micro-agent eval --mutants` on real projects in other languages, through the CLI: Debian's python3-toolz
 * (pytest) and go-cmp (`go test ./...`), each copied into a temp git repository. Mutants are found, each lies in a
 * non-test source file of the project's language, the same seed plans the same tasks, each kept mutant makes the
 * project's own tests fail when written into a copy, and the repository is untouched.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CORPUS, type CorpusProject } from './corpus/projects';
import { cli } from './support/cli';
import { copyDebianProject, corpusCommand } from './support/corpusCopy';
import { gitIn, snapshot, tempDir } from './support/evalRepo';
import { fakeKey } from './support/fixtures';
import { goEnv } from './support/runners';
import { useVendorServer } from './support/vendorServer';
import { looksLikeTestFile } from '../server/agent/workingSet';

const PROJECTS: { name: string; extension: string }[] = [
  { name: 'toolz', extension: '.py' },
  { name: 'go-cmp', extension: '.go' },
];

/** The project as its package installs it, committed into a fresh git repository. */
function repository(project: CorpusProject, top: string): string {
  if (project.source.kind !== 'debian') throw new Error(`${project.name} is not a Debian project`);
  const root = path.join(top, 'project');
  copyDebianProject(project.source, root);
  gitIn(root, 'init', '-q', '-b', 'main');
  gitIn(root, 'add', '-A');
  gitIn(root, 'commit', '-q', '-m', project.name);
  return root;
}

describe('micro-agent eval --mutants on real Python and Go projects', function () {
  this.timeout(900_000);
  const vendor = useVendorServer();
  let top: string;
  let tmp: string;
  beforeEach(() => {
    top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mutants-real-')));
    tmp = tempDir();
  });
  afterEach(() => {
    fs.rmSync(top, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const { name, extension } of PROJECTS) {
    const project = CORPUS.find((p) => p.name === name)!;
    it(`${name} (${project.command}): mutants in its ${extension} sources, seeded, each caught by its tests, the repository untouched`, async () => {
      const root = repository(project, top);
      const command = corpusCommand(project);
      const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl, TMPDIR: tmp, ...(project.language === 'go' ? goEnv() : {}) };
      const before = snapshot(root);
      const plan = async () => {
        const result = await cli(['eval', '--mutants', '3', '--seed', '1', '--models', 'openai:gpt-4.1-mini', '-t', command, '--plan'], root, env);
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout);
      };
      const started = Date.now();
      const first = await plan();
      const ms = Date.now() - started;
      const again = await plan();
      const tasks = (p: any) => p.include.map((job: any) => ({ id: job.task.id, target: job.task.target, files: job.task.files, origin: job.task.origin }));
      const found = tasks(first);
      console.log(`      ${name}: ${found.length} mutant(s) in ${ms} ms: ${found.map((t: any) => t.origin).join('; ')}`);
      assert.ok(found.length >= 1, `no mutant found; notes: ${first.notes?.join('\n')}`);
      assert.deepEqual(tasks(again), found, 'the same seed gives the same tasks');
      for (const task of found) {
        for (const file of [task.target, ...Object.keys(task.files)]) {
          assert.ok(file.endsWith(extension) && !looksLikeTestFile(file), `${file} is a non-test ${extension} source`);
          assert.ok(fs.existsSync(path.join(root, file)), `${file} is the project's`);
        }
        // Written into a copy of the project, the mutant makes the project's own tests fail.
        const copy = fs.mkdtempSync(path.join(top, 'check-'));
        fs.cpSync(root, copy, { recursive: true, filter: (from) => path.basename(from) !== '.git' });
        for (const [file, text] of Object.entries(task.files)) {
          assert.notEqual(text, fs.readFileSync(path.join(root, file), 'utf8'));
          fs.writeFileSync(path.join(copy, file), text as string);
        }
        const run = spawnSync('sh', ['-c', command], { cwd: copy, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
        assert.notEqual(run.status, 0, `mutant ${task.origin} must fail the tests:\n${run.stdout}`);
      }
      assert.deepEqual(snapshot(root), before, 'the repository is untouched');
      assert.equal(gitIn(root, 'status', '--porcelain'), '');
    });
  }
});
