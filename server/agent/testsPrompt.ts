/**
 * Tests first: what the model is asked for when it writes the test file before any code. Pure. The reply is
 * one fenced block with the whole test file, read like any whole-file reply (`extractCode`).
 */
import type { ChatMessage } from '../providers/types';
import { fence, languageNames } from './prompt';

export const TESTS_SYSTEM_PROMPT = [
  'You write automated tests before the code exists (test-driven development).',
  'Answer with the whole test file in one fenced code block tagged with its language, and nothing after it.',
  "Use the project's test framework and style as the command and the files shown suggest; import the code under test from its path relative to the test file.",
  'Test the behaviour described: normal cases, edge cases and errors.',
  'Keep each test small, named for what it checks, and deterministic (no network, no clock, no randomness).',
].join('\n');

export interface TestsPromptInput {
  /** Workspace-relative path of the file the tests are for. */
  file: string;
  /** Its current text, or null when it does not exist yet. */
  contents: string | null;
  testFile: string;
  goal: string;
  testCommand: string | null;
  /** Revising: the previous draft and what the user wants changed. */
  draft?: string;
  feedback?: string;
}

export function buildTestsPrompt(input: TestsPromptInput): ChatMessage[] {
  const language = [...languageNames(input.testFile)][0] ?? '';
  const parts = [
    `Write the test file ${input.testFile} for ${input.file}.`,
    `## What the code should do\n${input.goal}`,
    input.testCommand ? `## The test command\n${fence(input.testCommand, 'sh')}` : '',
    input.contents === null ? `${input.file} does not exist yet: the tests define it.` : `## ${input.file} now\n${fence(input.contents, language)}`,
    input.draft !== undefined ? `## Your previous draft of ${input.testFile}\n${fence(input.draft, language)}` : '',
    input.feedback ? `## What the user wants changed in it\n${input.feedback}` : '',
    `Answer with the whole of ${input.testFile} in one \`\`\`${language} block.`,
  ];
  return [{ role: 'user', content: parts.filter(Boolean).join('\n\n') }];
}
