import * as path from 'node:path';
import type { RejectReason } from '../protocol';
import type { ChatMessage } from '../providers/types';

export const SYSTEM_PROMPT = [
  'You are micro-agent, an expert programmer. You change one source file so that its tests pass.',
  'Answer with the complete new contents of the file in one fenced code block (```), and nothing after it.',
  'Write the whole file: no diffs, no placeholders, no "rest unchanged" comments. Do not change the tests.',
  'A sentence or two before the block about what you changed is welcome.',
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
  testFile: { path: string; contents: string } | null;
  /** The latest failing test output, already cut to its tail. */
  testOutput: string;
  testExitCode: number | null;
  attempts: readonly Attempt[];
}

/**
 * One user message holding everything the model needs. Each iteration sends a fresh message rather than a
 * growing conversation, so the prompt stays bounded however long the run; earlier attempts are summarised.
 */
export function buildPrompt(input: PromptInput): ChatMessage[] {
  const parts: string[] = [];
  if (input.goal) parts.push(`## What the code should do\n${input.goal.trim()}`);
  parts.push(`## File to fix: ${input.file}\n${fence(input.contents, languageOf(input.file))}`);
  if (input.testFile) parts.push(`## Test file: ${input.testFile.path}\n${fence(input.testFile.contents, languageOf(input.testFile.path))}`);
  parts.push(`## Test command\n\`${input.testCommand}\` (exit code ${input.testExitCode ?? 'none: killed'}; it must exit 0)`);
  parts.push(`## Test output (tail)\n${fence(input.testOutput || '(no output)', '')}`);
  if (input.attempts.length > 0) parts.push(`## Earlier attempts in this run\n${input.attempts.map(describeAttempt).join('\n')}`);
  parts.push(`Reply with the whole corrected ${input.file} in one fenced code block.`);
  return [{ role: 'user', content: parts.join('\n\n') }];
}

function describeAttempt(attempt: Attempt): string {
  if (attempt.kind === 'rejected') return `- Attempt ${attempt.iteration}: your reply was not used: ${attempt.message}`;
  const result = attempt.timedOut ? 'the tests timed out' : `the tests failed (exit ${attempt.exitCode ?? 'killed'})`;
  return `- Attempt ${attempt.iteration}: ${result}. Last output: ${attempt.summary}`;
}

/** The last few non-empty lines of test output, on one line, for the attempt history. */
export function summarize(output: string, maxChars = 300): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
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

const OPENING = /^[ \t]{0,3}(`{3,}|~{3,})[^\n`]*$/;

/**
 * The whole new file from the first fenced code block of a reply. A reply without a block, with an empty
 * block, or cut off before the block closes (or by the token limit) is rejected with a reason the model is
 * told; the file is never written from it.
 */
export function extractCode(reply: string, finishReason: 'stop' | 'length' | 'other' | null): Extraction {
  const lines = reply.split(/\r?\n/);
  const start = lines.findIndex((line) => OPENING.test(line));
  if (start === -1) {
    if (finishReason === 'length') return { ok: false, reason: 'truncated', message: 'the reply was cut off by the token limit before any code block' };
    return { ok: false, reason: 'no_code_block', message: 'the reply had no fenced code block; put the whole file in one ``` block' };
  }
  const marker = OPENING.exec(lines[start])![1];
  const closing = new RegExp(`^[ \\t]{0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
  const end = lines.findIndex((line, i) => i > start && closing.test(line));
  if (end === -1) return { ok: false, reason: 'truncated', message: 'the code block was never closed: the reply was cut off; send the whole file again' };
  const code = lines.slice(start + 1, end).join('\n');
  if (code.trim() === '') return { ok: false, reason: 'empty', message: 'the code block was empty; send the whole file' };
  return { ok: true, code: code + '\n' };
}

/** A reply's code, or why it must not be written: the extraction's verdict, plus "it changed nothing". */
export function judgeReply(reply: string, finishReason: 'stop' | 'length' | 'other' | null, current: string): Extraction {
  const extracted = extractCode(reply, finishReason);
  if (extracted.ok && extracted.code === current) return { ok: false, reason: 'unchanged', message: 'the code was identical to the current file; change it so the tests pass' };
  return extracted;
}
