/**
 * The CLI's tests-first step: the model drafts the test file, the terminal shows it and asks accept / edit /
 * feedback (feedback → a revised draft) until the user accepts or quits; `--yes` accepts the first draft
 * without asking (CI). Nothing is written here: the run writes the accepted file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Engine } from '../engine/engine';
import type { GeneratedTests, WriteTestsParams } from '../protocol/methods';

export class TestsDeclined extends Error {}

export interface TestsFirstOptions {
  request: WriteTestsParams & { file: string };
  yes: boolean;
  /** Where the draft is shown and the question asked (stderr, so stdout stays the run's record). */
  out: NodeJS.WritableStream;
}

export async function writeTestsFirst(engine: Engine, options: TestsFirstOptions): Promise<GeneratedTests> {
  const { request, out } = options;
  if (!options.yes && !process.stdin.isTTY)
    throw new TestsDeclined(`${request.testFile} does not exist and stdin is not a terminal to ask about the model's draft; pass --yes to accept it unseen`);
  out.write(`${request.testFile} does not exist: asking the model to write it first…\n`);
  let draft = await engine.writeTests(request);
  for (;;) {
    out.write(`\n──── ${draft.testFile} (draft) ────\n${draft.contents}────\n`);
    if (options.yes) return draft;
    const answer = (await ask(out, '[a]ccept, [e]dit, [f]eedback for the model, [q]uit? ')).toLowerCase();
    if (answer === 'a' || answer === 'accept' || answer === 'y') return draft;
    if (answer === 'q' || answer === 'quit') throw new TestsDeclined('tests not accepted: nothing was written');
    if (answer === 'e' || answer === 'edit') draft = { ...draft, contents: editInEditor(draft) };
    else if (answer === 'f' || answer === 'feedback') {
      const feedback = await ask(out, 'What should change? ');
      if (feedback) draft = await engine.writeTests({ ...request, draft: draft.contents, feedback });
    }
  }
}

async function ask(out: NodeJS.WritableStream, question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** The draft in $VISUAL / $EDITOR (vi when neither is set), in a private temporary copy with the file's extension. */
function editInEditor(draft: GeneratedTests): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-tests-'));
  const file = path.join(dir, path.basename(draft.testFile));
  try {
    fs.writeFileSync(file, draft.contents, { mode: 0o600 });
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    const result = spawnSync(editor, [file], { stdio: 'inherit', shell: process.platform === 'win32' });
    if (result.error) throw new TestsDeclined(`could not start the editor ${editor}: ${result.error.message}`);
    return fs.readFileSync(file, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
