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
import { evalCopies, gitIn, snapshot, tempDir } from './support/evalRepo';
import { fakeKey } from './support/fixtures';
import { goEnv } from './support/runners';
import { playModels, type RecordedRequest, useVendorServer } from './support/vendorServer';
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

/** A model's fix of one mutant: a search/replace block from two lines above the change to its end. */
function fixBlock(file: string, original: string, mutated: string): { mutatedLines: string; reply: string } {
  const before = original.split('\n');
  const after = mutated.split('\n');
  let first = 0;
  while (before[first] === after[first]) first++;
  let tail = 0;
  while (before.at(-1 - tail) === after.at(-1 - tail)) tail++;
  const from = Math.max(0, first - 2);
  const search = after.slice(from, after.length - tail).join('\n');
  const replace = before.slice(from, before.length - tail).join('\n');
  const mutatedLines = after.slice(first, after.length - tail).join('\n');
  return {
    mutatedLines,
    reply: `The mutant is in ${file}.\n\n${file}\n\`\`\`python\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n\`\`\`\n`,
  };
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

  it('toolz: a real eval of its mutants, one model fixing each and one not, ranked, the repository untouched, no copy left', async () => {
    const project = CORPUS.find((p) => p.name === 'toolz')!;
    const root = repository(project, top);
    const command = corpusCommand(project);
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl, TMPDIR: tmp };
    const before = snapshot(root);
    const args = ['--mutants', '3', '--seed', '1', '--models', 'openai:gpt-4.1-mini,openai:gpt-4.1-nano', '-t', command, '--max-runs', '2'];
    const planned = await cli(['eval', ...args, '--plan'], root, env);
    assert.equal(planned.code, 0, planned.stderr);
    const fixes = JSON.parse(planned.stdout)
      .include.filter((job: any) => job.model === 'openai:gpt-4.1-mini')
      .map((job: any) => fixBlock(job.task.target, fs.readFileSync(path.join(root, job.task.target), 'utf8'), job.task.files[job.task.target]));
    assert.ok(fixes.length >= 1);
    // The right model recognises its cell's mutant by the mutated lines in the file it is shown.
    const shown = (request: RecordedRequest) => JSON.stringify(request.body);
    vendor.respond = playModels({
      'gpt-4.1-mini': (request) => {
        const fix = fixes.find((f: { mutatedLines: string }) => shown(request).includes(JSON.stringify(f.mutatedLines).slice(1, -1)));
        return { kind: 'text', text: fix?.reply ?? 'No idea.' };
      },
      'gpt-4.1-nano': () => ({ kind: 'text', text: 'No idea.' }),
    });
    const result = await cli(['eval', ...args, '--json'], root, env);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.tasks, fixes.length);
    assert.deepEqual(
      report.models.map((row: any) => [row.model, row.passed]),
      [
        ['openai:gpt-4.1-mini', fixes.length],
        ['openai:gpt-4.1-nano', 0],
      ],
    );
    assert.deepEqual(snapshot(root), before, 'the repository is untouched');
    assert.deepEqual(evalCopies(tmp), [], 'no copy left behind');
  });
});
