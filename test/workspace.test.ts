import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureStateDir, MAX_FILE_BYTES, readSource, resolveInWorkspace, statePaths, writeAtomic } from '../server/foundation/workspace';
import { makeWorkspace } from './support/fixtures';

describe('workspace paths and writes', () => {
  it('resolves relative and absolute paths inside the workspace', () => {
    const root = makeWorkspace({ 'src/a.js': 'a' });
    assert.deepEqual(resolveInWorkspace(root, 'src/a.js'), { abs: path.join(root, 'src/a.js'), rel: 'src/a.js' });
    assert.equal(resolveInWorkspace(root, path.join(root, 'src/a.js')).rel, 'src/a.js');
    assert.equal(resolveInWorkspace(root, 'src/../src/a.js').rel, 'src/a.js');
  });

  it('refuses .., absolute paths elsewhere, symlink escapes, directories, NUL bytes and missing files', () => {
    const root = makeWorkspace({ 'a.js': 'a' });
    const outside = makeWorkspace({ 'secret.js': 'secret' });
    fs.symlinkSync(path.join(outside, 'secret.js'), path.join(root, 'link.js'));
    fs.symlinkSync(outside, path.join(root, 'linkdir'));
    const refuse = (p: string, why: RegExp) => assert.throws(() => resolveInWorkspace(root, p), why);
    refuse('../' + path.basename(outside) + '/secret.js', /outside the workspace/);
    refuse(path.join(outside, 'secret.js'), /outside the workspace/);
    refuse('link.js', /symlink/);
    refuse('linkdir/secret.js', /symlink/);
    refuse('.', /outside the workspace/);
    refuse('a.js\0.txt', /invalid/);
    refuse('missing.js', /does not exist/);
    fs.mkdirSync(path.join(root, 'dir'));
    refuse('dir', /not a regular file/);
  });

  it('refuses files in .micro-agent/ and .git/, as written or through a symlink, at any depth', () => {
    const root = makeWorkspace({
      'a.js': 'a',
      '.micro-agent/api-tokens.json': '{}',
      '.git/config': '[core]',
      'vendor/lib/.git/hooks/pre-commit': '#!/bin/sh',
      '.gitignore': 'node_modules',
      '.github/ci.yml': 'on: push',
      'src/.micro-agent.js': 'x',
    });
    fs.symlinkSync('.micro-agent/api-tokens.json', path.join(root, 'tokens.js'));
    fs.symlinkSync('.git', path.join(root, 'repo'));
    const refuse = (p: string, why: RegExp) => assert.throws(() => resolveInWorkspace(root, p), why);
    refuse('.micro-agent/api-tokens.json', /\.micro-agent\/api-tokens\.json is inside \.micro-agent\/, micro-agent's own state/);
    refuse('./src/../.micro-agent/api-tokens.json', /is inside \.micro-agent\//);
    refuse(path.join(root, '.git', 'config'), /is inside \.git\/, git's own data/);
    refuse('vendor/lib/.git/hooks/pre-commit', /is inside \.git\//);
    refuse('tokens.js', /tokens\.js resolves into \.micro-agent\//);
    refuse('repo/config', /resolves into \.git\//);
    // Refused before "does not exist": a path there is never a run's, whatever it names.
    refuse('.micro-agent/events.jsonl', /is inside \.micro-agent\//);
    for (const allowed of ['.gitignore', '.github/ci.yml', 'src/.micro-agent.js']) assert.equal(resolveInWorkspace(root, allowed).rel, allowed);
  });

  it('refuses a state folder that is a symlink, lies outside or links its files outside, and writes nothing through it', () => {
    const outside = makeWorkspace({});
    const linked = makeWorkspace({});
    fs.symlinkSync(outside, path.join(linked, '.micro-agent'));
    assert.throws(() => ensureStateDir(linked), /\.micro-agent is a symlink/);
    const notAFolder = makeWorkspace({ '.micro-agent': 'a file' });
    assert.throws(() => ensureStateDir(notAFolder), /\.micro-agent is not a folder/);
    for (const entry of ['events', 'apiTokens', 'runs', 'locks'] as const) {
      const root = makeWorkspace({});
      fs.mkdirSync(path.join(root, '.micro-agent'));
      fs.symlinkSync(path.join(outside, entry), statePaths(root)[entry]);
      assert.throws(() => ensureStateDir(root), /is a symlink; micro-agent does not write through links in its state folder/);
    }
    assert.deepEqual(fs.readdirSync(outside), []);
  });

  it('refuses huge and binary files instead of truncating them', () => {
    const root = makeWorkspace({ 'big.js': 'x'.repeat(MAX_FILE_BYTES + 1), 'bin.dat': 'a\0b' });
    assert.throws(() => readSource(path.join(root, 'big.js'), 'big.js'), new RegExp(`up to ${MAX_FILE_BYTES / 1024} KB`));
    assert.throws(() => readSource(path.join(root, 'bin.dat'), 'bin.dat'), /binary/);
  });

  it('writes atomically, keeping the mode and leaving no temp files', () => {
    const root = makeWorkspace({ 'run.sh': 'old' });
    const file = path.join(root, 'run.sh');
    fs.chmodSync(file, 0o755);
    writeAtomic(file, 'new contents');
    assert.equal(fs.readFileSync(file, 'utf8'), 'new contents');
    assert.equal(fs.statSync(file).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(root), ['run.sh']);
  });

  it('keeps its state folder out of git', () => {
    const root = makeWorkspace({});
    assert.equal(fs.readFileSync(path.join(ensureStateDir(root), '.gitignore'), 'utf8'), '*\n');
  });
});
