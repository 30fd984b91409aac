/**
 * A Debian corpus project (test/corpus/projects.ts) copied into a folder, and the command that runs its tests
 * here: shared by the verdict corpus (realProjects.test.ts) and the mutants on real projects.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CorpusProject, DebianSource } from '../corpus/projects';
import { findPytest } from './runners';

/** Copies the package's installed folders into `root` (a `.` folder's contents straight into it). */
export function copyDebianProject(source: DebianSource, root: string): void {
  fs.mkdirSync(root, { recursive: true });
  for (const from of source.copy) {
    if (!fs.existsSync(from)) throw new Error(`${from} is missing: run scripts/setup-e2e.sh (it installs ${source.package})`);
    const into = path.basename(from) === '.' ? root : path.join(root, path.basename(from));
    fs.cpSync(from, into, { recursive: true, dereference: true });
  }
}

/** The project's test command, with the Python that has pytest. */
export function corpusCommand(project: CorpusProject): string {
  return project.language === 'py' ? project.command.replace(/^python3\b/, findPytest()) : project.command;
}
