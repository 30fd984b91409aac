/** Test helpers that make the same thing every time: a seeded random generator and a git repository. */
import { execFileSync } from 'node:child_process';

/** A seeded generator (mulberry32), so a failing fuzz case can be replayed from its seed. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Makes `root` a git repository with everything in it committed once; returns git run there. */
export function gitRepo(root: string): (...args: string[]) => string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('config', 'user.email', 'dev@example.com');
  git('config', 'user.name', 'Dev');
  git('add', '.');
  git('commit', '-qm', 'initial');
  return git;
}
