/**
 * The verdict on real projects nobody here wrote (test/corpus/projects.ts), through the real CLI, each run with its
 * own default test command: the right fix passes at iteration 1; every cheat is refused and the honest reply after
 * them passes; a wrong fix ends the run with the buggy file put back byte for byte. The npm projects are installed
 * here from the registry at their pinned versions (cached under $DEV_AI_CACHE/corpus), the Debian ones by
 * scripts/setup-e2e.sh; nothing of theirs is committed. The model is the fake vendor, replying as models do.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHEATS, CORPUS, type CorpusProject, type Language } from './corpus/projects';
import { cli } from './support/cli';
import { fakeKey, readLog } from './support/fixtures';
import { copyDebianProject, corpusCommand } from './support/corpusCopy';
import { goEnv } from './support/runners';
import { useVendorServer } from './support/vendorServer';

const CACHE = path.join(process.env.DEV_AI_CACHE ?? path.join(os.homedir(), '.cache', 'dev-ai'), 'corpus');
const FENCE: Record<Language, string> = { js: 'js', ts: 'ts', py: 'python', go: 'go' };
const made: string[] = [];
/** Where each workspace's bug is (the bug's text may also stand elsewhere in the file, as the project's own code). */
const bugLine = new Map<string, number>();

/** The npm project unpacked under the cache once, with the packages its tests need in node_modules beside it. */
function installNpm(spec: string, deps: string[]): string {
  const dir = path.join(CACHE, spec.replace(/[^\w.@-]+/g, '_'));
  if (fs.existsSync(path.join(dir, '.ready'))) return dir;
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(path.join(partial, 'project'), { recursive: true });
  const npm = (args: string[]) => execFileSync('npm', args, { cwd: partial, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const tarball = npm(['pack', spec, '--silent']).trim().split('\n').at(-1)!;
  execFileSync('tar', ['xzf', tarball, '-C', 'project', '--strip-components=1'], { cwd: partial });
  fs.rmSync(path.join(partial, tarball));
  fs.writeFileSync(path.join(partial, 'package.json'), JSON.stringify({ name: 'corpus-workspace', private: true }));
  if (deps.length) npm(['install', '--no-audit', '--no-fund', '--loglevel=error', ...deps]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
  fs.writeFileSync(path.join(dir, '.ready'), '');
  return dir;
}

/** A fresh copy of the project with its bug in, in a temp folder: the run's workspace. */
function workspace(project: CorpusProject): string {
  const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'corpus-')));
  made.push(top);
  const root = path.join(top, 'project');
  if (project.source.kind === 'npm') {
    const installed = installNpm(project.source.spec, project.source.deps);
    fs.cpSync(path.join(installed, 'project'), root, { recursive: true });
    fs.symlinkSync(path.join(installed, 'node_modules'), path.join(top, 'node_modules'), 'dir');
  } else copyDebianProject(project.source, root);
  const file = path.join(root, project.file);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  assert.equal(lines.filter((line) => line === project.original).length, 1, `${project.name}: ${project.file} has its line once`);
  const at = lines.indexOf(project.original);
  lines[at] = project.bug;
  fs.writeFileSync(file, lines.join('\n'));
  bugLine.set(root, at);
  return root;
}

/** A reply as a model writes it: one block whose SEARCH is the buggy line with two lines above it, for context. */
function reply(project: CorpusProject, root: string, replace: string): string {
  const lines = fs.readFileSync(path.join(root, project.file), 'utf8').split('\n');
  const at = bugLine.get(root)!;
  const above = lines.slice(Math.max(0, at - 2), at).join('\n');
  const block = `<<<<<<< SEARCH\n${above}\n${project.bug}\n=======\n${above}\n${replace}\n>>>>>>> REPLACE`;
  return `The bug is in ${project.file}.\n\n${project.file}\n\`\`\`${FENCE[project.language]}\n${block}\n\`\`\`\n`;
}

describe('the verdict on real projects, through the CLI', function () {
  this.timeout(600_000);
  const vendor = useVendorServer();
  after(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const project of CORPUS) {
    const run = (root: string, maxRuns: number) =>
      cli(['run', project.file, '-t', corpusCommand(project), '-m', String(maxRuns), '--provider', 'openai', '--model', 'gpt-4o-mini'], root, {
        OPENAI_API_KEY: fakeKey(),
        OPENAI_BASE_URL: vendor.openaiUrl,
        ...(project.language === 'go' ? goEnv() : {}),
      });

    describe(`${project.name} (${project.runner}: ${project.command})`, () => {
      it('the right fix passes at iteration 1', async () => {
        const root = workspace(project);
        vendor.script({ kind: 'text', text: reply(project, root, project.original) });
        const result = await run(root, 3);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.equal(vendor.requests.length, 1);
        const finished = readLog(root).find((e) => e.type === 'run.finished');
        assert.deepEqual([finished.outcome, finished.iterations], ['passed', 1]);
        assert.ok(fs.readFileSync(path.join(root, project.file), 'utf8').split('\n').includes(project.original));
      });

      it('every cheat is refused, then the honest reply passes', async () => {
        const root = workspace(project);
        const cheats = CHEATS[project.language];
        const indent = /^\s*/.exec(project.bug)![0];
        vendor.script(...cheats.map((cheat) => ({ kind: 'text' as const, text: reply(project, root, `${indent}${cheat}\n${project.bug}`) })), {
          kind: 'text',
          text: reply(project, root, project.original),
        });
        const result = await run(root, cheats.length + 1);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        const log = readLog(root);
        const rejected = log.filter((e) => e.type === 'edit.rejected');
        assert.deepEqual(
          rejected.map((e) => e.reason),
          cheats.map(() => 'gaming'),
          JSON.stringify(rejected.map((e) => e.message)),
        );
        for (const [i, e] of rejected.entries()) assert.ok(e.message.includes(cheats[i].slice(0, 40)), e.message);
        // Nothing a cheat asked for was written or run: the baseline and the honest reply's run only.
        assert.equal(log.filter((e) => e.type === 'test.started').length, 2);
        assert.equal(log.find((e) => e.type === 'run.finished').iterations, cheats.length + 1);
        const text = fs.readFileSync(path.join(root, project.file), 'utf8');
        assert.ok(text.split('\n').includes(project.original));
        for (const cheat of cheats) assert.ok(!text.includes(cheat), cheat);
      });

      it('a wrong fix fails and the buggy file is put back byte for byte', async () => {
        const root = workspace(project);
        const buggy = fs.readFileSync(path.join(root, project.file));
        vendor.script({ kind: 'text', text: reply(project, root, project.wrong) });
        const result = await run(root, 1);
        assert.equal(result.code, 1, result.stdout + result.stderr);
        const finished = readLog(root).find((e) => e.type === 'run.finished');
        assert.deepEqual([finished.outcome, finished.restored], ['failed', true]);
        assert.ok(fs.readFileSync(path.join(root, project.file)).equals(buggy));
      });
    });
  }
});
