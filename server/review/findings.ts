/** The review prompt and the validation of what the model answers: pure functions. */
import type { Finding, FindingSeverity } from '../protocol';

/** Part of the cache key: bump it when the prompt changes, so old cached reviews are not reused. */
export const PROMPT_VERSION = 1;

export const REVIEW_SYSTEM_PROMPT = [
  'You are a meticulous code reviewer. Report real bugs, likely errors and clear improvements; no style nits.',
  'Answer with JSON only, in this shape:',
  '{ "findings": [{ "line": 3, "endLine": 4, "severity": "error", "message": "what is wrong and why", ' +
    '"fix": { "replacement": "the new text of lines 3..4" } }] }',
  'Lines are 1-based, as numbered in the listing. A fix replaces lines line..endLine whole (without the line numbers);',
  'leave "fix" out when you are not sure. severity is one of error, warning, info, hint. No findings: { "findings": [] }.',
].join('\n');

/** The file with line numbers, so the model can name lines exactly. */
export function numberedListing(file: string, text: string): string {
  const lines = text.split('\n');
  const width = String(lines.length).length;
  return `File: ${file}\n\n${lines.map((line, i) => `${String(i + 1).padStart(width)}| ${line}`).join('\n')}`;
}

const SEVERITIES: readonly FindingSeverity[] = ['error', 'warning', 'info', 'hint'];

export type ParsedReview = { ok: true; findings: Finding[]; dropped: string[] } | { ok: false; error: string };

/**
 * Reads the model's answer (bare JSON or in a fenced block) and keeps only findings that fit the document:
 * whole numbers inside 1..lineCount with line ≤ endLine, a known severity, a message, and a fix that does not
 * overlap another fix. Everything dropped is described, for the log.
 */
export function parseFindings(reply: string, lineCount: number): ParsedReview {
  const json = extractJson(reply);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { ok: false, error: `the review was not valid JSON (${(err as Error).message})` };
  }
  const list = (value as { findings?: unknown })?.findings;
  if (!Array.isArray(list)) return { ok: false, error: 'the review JSON has no "findings" array' };

  const findings: Finding[] = [];
  const dropped: string[] = [];
  const fixed: Array<[number, number]> = [];
  list.forEach((raw: unknown, i) => {
    const f = raw as Record<string, unknown>;
    const what = `finding ${i + 1}`;
    const rawLine = f?.line;
    const rawEndLine = f?.endLine ?? f?.line;
    if (!Number.isInteger(rawLine) || !Number.isInteger(rawEndLine)) return void dropped.push(`${what}: line and endLine must be whole numbers`);
    const line = rawLine as number;
    const endLine = rawEndLine as number;
    if (line < 1 || endLine > lineCount || line > endLine) {
      return void dropped.push(`${what}: lines ${line}-${endLine} are outside 1-${lineCount}`);
    }
    if (!SEVERITIES.includes(f.severity as FindingSeverity)) return void dropped.push(`${what}: unknown severity ${JSON.stringify(f.severity)}`);
    if (typeof f.message !== 'string' || !f.message.trim()) return void dropped.push(`${what}: no message`);
    const finding: Finding = { line, endLine, severity: f.severity as FindingSeverity, message: f.message.trim() };
    const fix = f.fix as { replacement?: unknown } | undefined;
    if (fix !== undefined && fix !== null) {
      if (typeof fix.replacement !== 'string') {
        dropped.push(`${what}: fix without a replacement text (finding kept, fix dropped)`);
      } else if (fixed.some(([a, b]) => finding.line <= b && a <= finding.endLine)) {
        dropped.push(`${what}: its fix overlaps another fix (finding kept, fix dropped)`);
      } else {
        finding.fix = { replacement: fix.replacement };
        fixed.push([finding.line, finding.endLine]);
      }
    }
    findings.push(finding);
  });
  return { ok: true, findings, dropped };
}

/** The JSON in a reply: the first fenced block if there is one, else from the first `{` to the last `}`. */
function extractJson(reply: string): string {
  const fenced = /```(?:json)?[^\n]*\n([\s\S]*?)```/.exec(reply);
  if (fenced) return fenced[1];
  const start = reply.indexOf('{');
  const end = reply.lastIndexOf('}');
  return start !== -1 && end > start ? reply.slice(start, end + 1) : reply;
}
