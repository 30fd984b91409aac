import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runGit } from '../server/foundation/git';
import { makeWorkspace } from './support/fixtures';

describe('runGit', function () {
  this.timeout(120_000);
  it("resolves with git's whole output every time, also when git exits before its output was read", async () => {
    const root = makeWorkspace({ 'a.txt': 'a\n' });
    const env = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };
    execFileSync('git', ['init', '-q'], { cwd: root });
    execFileSync('git', ['add', '-A'], { cwd: root });
    execFileSync('git', ['commit', '-q', '-m', 'one'], { cwd: root, env });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    // Small outputs, many at once: the exits race the reads (one in a few dozen lost its output on a busy machine).
    const answers: string[] = [];
    for (let batch = 0; batch < 20; batch++)
      answers.push(...(await Promise.all(Array.from({ length: 16 }, () => runGit(root, ['rev-parse', 'HEAD'], { env, timeoutMs: 60_000 })))));
    assert.deepEqual(
      answers.filter((answer) => answer !== head),
      [],
    );
  });
});
