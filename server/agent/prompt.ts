import * as path from 'node:path';
import type { RejectReason } from '../protocol/events';
import type { TestFailure, TestLocation, TestReport } from '../protocol/testReport';
import type { SplitMessage } from '../providers/types';
import { describeEditFormat } from './editBlocks';
import { tailOf } from './testRunner';

/** The test-output part of a prompt, failures first: it never grows past this however much the tests print. */
export const TEST_SECTION_CHARS = 8000;
/** The raw tail after the failures: the context around them (a crash, a log line), not the whole output. */
const TAIL_AFTER_FAILURES_CHARS = 2000;
const FAILURES_SHOWN = 10;
const MESSAGE_CHARS = 600;

/** Files under this size may be sent back whole; larger ones only by search/replace blocks. */
export const WHOLE_FILE_MAX_BYTES = 16 * 1024;

export const SYSTEM_PROMPT = [
  'You are micro-agent, an expert programmer. You change source files so that the tests pass.',
  describeEditFormat(WHOLE_FILE_MAX_BYTES),
  'Change the file to fix and, where the bug is there, the other files shown as editable. Never change test files.',
  'A sentence or two before the edits about what you changed is welcome.',
].join('\n');

/** What the model is told about an earlier iteration. */
export type Attempt =
  | { iteration: number; kind: 'tested'; exitCode: number | null; timedOut: boolean; summary: string }
  | { iteration: number; kind: 'rejected'; reason: RejectReason; message: string };

export interface PromptInput {
  file: string;
  contents: string;
  testCommand: string;
  goal: string | null;
  /** Test files to show (`-f`), read-only. */
  testFiles: readonly { path: string; contents: string }[];
  /** Files shown for context, nearest first; `editable` when the model may change them. */
  context: readonly { path: string; contents: string; editable: boolean }[];
  /** A short list of the workspace's files. */
  workspaceFiles: readonly string[];
  /** What the runner said in the latest failing run; its failures lead the test section. */
  report: TestReport;
  /** The latest failing test output (whole: the prompt takes what fits). */
  testOutput: string;
  testExitCode: number | null;
  attempts: readonly Attempt[];
}

/**
 * One user message holding everything the model needs. Each iteration sends a fresh message rather than a
 * growing conversation, so the prompt stays bounded however long the run; earlier attempts are summarised.
 * What does not change between iterations comes first (the goal, the test files, the context, the file list),
 * so that the vendors' prompt caches can reuse it; what changes (the file, the failures, the attempts) follows.
 */
export function buildPrompt(input: PromptInput): SplitMessage[] {
  const stable: string[] = [];
  if (input.goal) stable.push(`## What the code should do\n${input.goal.trim()}`);
  for (const file of input.testFiles) stable.push(`## Test file (read-only): ${file.path}\n${fence(file.contents, languageOf(file.path))}`);
  for (const file of input.context) {
    stable.push(`## ${file.editable ? 'Context file (editable)' : 'Context file (read-only)'}: ${file.path}\n${fence(file.contents, languageOf(file.path))}`);
  }
  if (input.workspaceFiles.length > 0) stable.push(`## Files in the workspace\n${input.workspaceFiles.join('\n')}`);
  const rest: string[] = [];
  rest.push(`## File to fix: ${input.file}\n${fence(input.contents, languageOf(input.file))}`);
  rest.push(`## Test command\n\`${input.testCommand}\` (exit code ${input.testExitCode ?? 'none: killed'}; it must exit 0)`);
  rest.push(testSection(input.report, input.testOutput));
  if (input.attempts.length > 0) rest.push(`## Earlier attempts in this run\n${input.attempts.map(describeAttempt).join('\n')}`);
  const whole = Buffer.byteLength(input.contents) < WHOLE_FILE_MAX_BYTES ? ` (or the whole corrected ${input.file} in one fenced code block)` : '';
  rest.push(`Reply with SEARCH/REPLACE blocks for the files to change${whole}.`);
  // The stable part ends with the separator, so stable + rest reads exactly as one message would.
  return [{ role: 'user', stable: stable.length ? `${stable.join('\n\n')}\n\n` : '', rest: rest.join('\n\n') }];
}

function describeAttempt(attempt: Attempt): string {
  if (attempt.kind === 'rejected') return `- Attempt ${attempt.iteration}: your reply was not used: ${attempt.message}`;
  const result = attempt.timedOut ? 'the tests timed out' : `the tests failed (exit ${attempt.exitCode ?? 'killed'})`;
  return `- Attempt ${attempt.iteration}: ${result}. Last output: ${attempt.summary}`;
}

/** The last few non-empty lines of test output, on one line, for the attempt history. */
export function summarize(output: string, maxChars = 300): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const text = lines.slice(-4).join(' | ');
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text || '(no output)';
}

/** A fenced block that cannot be closed early by backticks inside the text. */
export function fence(text: string, language: string): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`{3,}/g), (m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${language}\n${text}${text.endsWith('\n') ? '' : '\n'}${ticks}`;
}

function languageOf(file: string): string {
  return path.extname(file).slice(1);
}

export type Extraction = { ok: true; code: string } | { ok: false; reason: RejectReason; message: string };

const OPENING = /^[ \t]{0,3}(`{3,}|~{3,})([^\n`]*)$/;

/** Names a fence's info string may give a file's language, by extension; an extension not listed is its own name. */
const LANGUAGES: readonly (readonly string[])[] = [
  ['js', 'javascript', 'mjs', 'cjs', 'jsx'],
  ['ts', 'typescript', 'tsx', 'mts', 'cts'],
  ['py', 'python', 'python3', 'pyw', 'pyi'],
  ['go', 'golang'],
  ['rs', 'rust'],
  ['rb', 'ruby'],
  ['java'],
  ['kt', 'kotlin', 'kts'],
  ['c', 'h'],
  ['cpp', 'c++', 'cc', 'cxx', 'hpp', 'hh', 'hxx'],
  ['cs', 'csharp', 'c#'],
  ['php'],
  ['swift'],
  ['scala', 'sc'],
  ['sh', 'bash', 'shell', 'zsh'],
  ['ps1', 'powershell', 'pwsh'],
  ['md', 'markdown'],
  ['yml', 'yaml'],
  ['html', 'htm'],
];

/** The info-string names that mean a file's language, from its extension; empty when it has none. */
export function languageNames(file: string): ReadonlySet<string> {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (!ext) return new Set();
  return new Set(LANGUAGES.find((names) => names.includes(ext)) ?? [ext]);
}

interface Block {
  /** The info string's first word, lower case (`js` in ```js title="a.js"`, `ts` in ```ts:src/a.ts`). */
  language: string;
  /** Null when the block is never closed. */
  code: string | null;
}

/** Every fenced block of a reply, in order; an unclosed one is the last. Fences inside a longer fence are its text. */
function fencedBlocks(lines: readonly string[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const opening = OPENING.exec(lines[i]);
    if (!opening) continue;
    const marker = opening[1];
    const language = (opening[2].trim().split(/[\s:{]/)[0] ?? '').toLowerCase();
    const closing = new RegExp(`^[ \\t]{0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
    const end = lines.findIndex((line, j) => j > i && closing.test(line));
    if (end === -1) {
      blocks.push({ language, code: null });
      break;
    }
    blocks.push({ language, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/**
 * The whole new file from a reply's fenced code block: the first block tagged with the target file's language
 * when `file` is given and a block is so tagged (a reply often shows the test command in a ```bash block before
 * the file), otherwise the first block. A reply without a block, with an empty block, or cut off before the
 * block closes (or by the token limit) is rejected with a reason the model is told; the file is never written from it.
 */
export function extractCode(reply: string, finishReason: 'stop' | 'length' | 'other' | null, file?: string): Extraction {
  const blocks = fencedBlocks(reply.split(/\r?\n/));
  if (blocks.length === 0) {
    if (finishReason === 'length') return { ok: false, reason: 'truncated', message: 'the reply was cut off by the token limit before any code block' };
    return { ok: false, reason: 'no_code_block', message: 'the reply had no fenced code block; put the whole file in one ``` block' };
  }
  const names = file === undefined ? new Set<string>() : languageNames(file);
  const tagged = blocks.filter((block) => names.has(block.language));
  const chosen = tagged.find((block) => block.code !== null && block.code.trim() !== '') ?? tagged[0] ?? blocks[0];
  if (chosen.code === null)
    return { ok: false, reason: 'truncated', message: 'the code block was never closed: the reply was cut off; send the whole file again' };
  if (chosen.code.trim() === '') return { ok: false, reason: 'empty', message: 'the code block was empty; send the whole file' };
  return { ok: true, code: chosen.code + '\n' };
}

/**
 * A reply's code, or why it must not be written: the extraction's verdict (the block in `file`'s language when
 * given), plus "it changed nothing".
 */
export function judgeReply(reply: string, finishReason: 'stop' | 'length' | 'other' | null, current: string, file?: string): Extraction {
  const extracted = extractCode(reply, finishReason, file);
  if (extracted.ok && extracted.code === current)
    return { ok: false, reason: 'unchanged', message: 'the code was identical to the current file; change it so the tests pass' };
  return extracted;
}

/**
 * The failing tests by name, where they failed, why, expected against actual and a short stack, then the
 * output's tail; together at most TEST_SECTION_CHARS. Output the engine cannot read gets the plain tail.
 */
function testSection(report: TestReport, output: string): string {
  const failures = report.runner === 'unknown' ? [] : report.failures;
  if (failures.length === 0) return `## Test output (tail)\n${fence(tailOf(output, TEST_SECTION_CHARS) || '(no output)', '')}`;
  const shown = failures.slice(0, FAILURES_SHOWN).map(describeFailure);
  const more = failures.length > shown.length ? `\n(and ${failures.length - shown.length} more failing)` : '';
  const head = `## Failing tests (${report.runner})\n${shown.join('\n')}${more}`;
  const listed = head.length > TEST_SECTION_CHARS - TAIL_AFTER_FAILURES_CHARS ? `${head.slice(0, TEST_SECTION_CHARS - TAIL_AFTER_FAILURES_CHARS)}…` : head;
  const tail = tailOf(output, Math.max(TAIL_AFTER_FAILURES_CHARS, TEST_SECTION_CHARS - listed.length - 100));
  return `${listed}\n\n## Test output (tail)\n${fence(tail || '(no output)', '')}`;
}

function describeFailure(failure: TestFailure): string {
  const where = [failure.test && `test ${at(failure.test)}`, failure.source && `code ${at(failure.source)}`].filter(Boolean).join(', ');
  const lines = [`- ${failure.name}${where ? ` (${where})` : ''}`, indent(clip(failure.message, MESSAGE_CHARS))];
  if (failure.expected !== undefined || failure.actual !== undefined) {
    lines.push(indent(`expected: ${clip(failure.expected ?? '?', 300)}`), indent(`actual:   ${clip(failure.actual ?? '?', 300)}`));
  }
  if (failure.stack) lines.push(indent(clip(failure.stack, 400)));
  return lines.join('\n');
}

function at(location: TestLocation): string {
  return `${location.file}:${location.line}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
