/**
 * `--tasks <file.jsonl>`: hand-picked tasks, one JSON object a line: `{ file, testCommand, prompt?, setup? }`. The
 * file as it is in the working tree is the task (the tests fail on it); `setup` runs in the copy before the loop.
 */
import * as fs from 'node:fs';
import { PathError, readSource, resolveInWorkspace } from '../foundation/workspace';
import type { EvalTaskSpec } from '../protocol/eval';

export class TasksFileError extends Error {}

export function tasksFromFile(root: string, tasksFile: string): EvalTaskSpec[] {
  let text: string;
  try {
    text = fs.readFileSync(resolveInWorkspace(root, tasksFile, { mayBeMissing: true }).abs, 'utf8');
  } catch (err) {
    throw new TasksFileError(`--tasks ${tasksFile}: ${(err as Error).message}`);
  }
  return text.split('\n').flatMap((line, index) => {
    if (!line.trim()) return [];
    const where = `--tasks ${tasksFile} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new TasksFileError(`${where} is not JSON`);
    }
    const task = value as Record<string, unknown>;
    if (typeof task !== 'object' || task === null || typeof task.file !== 'string' || typeof task.testCommand !== 'string' || !task.testCommand.trim())
      throw new TasksFileError(`${where}: each line is { "file": "…", "testCommand": "…", "prompt"?: "…", "setup"?: "…" }`);
    for (const key of ['prompt', 'setup'] as const) {
      if (task[key] !== undefined && typeof task[key] !== 'string') throw new TasksFileError(`${where}: ${key} must be a string`);
    }
    let target: { abs: string; rel: string };
    try {
      target = resolveInWorkspace(root, task.file);
    } catch (err) {
      if (err instanceof PathError) throw new TasksFileError(`${where}: ${err.message}`);
      throw err;
    }
    const spec: EvalTaskSpec = {
      id: `task-${index + 1}`,
      source: 'file',
      baseRev: null,
      files: { [target.rel]: readSource(target.abs, target.rel) },
      target: target.rel,
      testCommand: task.testCommand,
      prompt: typeof task.prompt === 'string' && task.prompt.trim() ? task.prompt : null,
      setup: typeof task.setup === 'string' && task.setup.trim() ? task.setup : null,
      origin: `${tasksFile}:${index + 1} ${target.rel}`,
      referenceDiffLines: null,
    };
    return [spec];
  });
}
