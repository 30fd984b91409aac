/**
 * What a reply asks to change, or why none of it may be written. The edits are read (editBlocks.ts), each path is
 * resolved to the workspace file it means (replyPaths.ts) and checked against what the run may write, the edits are
 * placed (applyEdits.ts), and a whole file is written only when it is plainly a file: never one that still holds
 * edit markers, is a diff, or elides code the file has. All or nothing: one edit that does not apply refuses the
 * reply, and the message says what to change. Pure: the caller gives the workspace through `ReplyContext`.
 */
import type { MatchStep, RejectReason } from '../protocol/events';
import { applyEdits, type PlacedEdit } from './applyEdits';
import { type EditBlock, type FinishReason, parseEditBlocks, type WholeFile } from './editBlocks';
import { elidedWholeFileLine } from './elision';
import { judgeReply } from './prompt';
import { type PathContext, resolvePath } from './replyPaths';
import { looksLikeDiff } from './unifiedDiff';

export interface ReplyContext extends PathContext {
  /** The file the run fixes: an unnamed whole-file reply is its new text. */
  target: string;
  /** The model's view of a file (LF), or null when it does not exist or may not be read. */
  read(path: string): string | null;
  /** Why the model may not write a path, or undefined when it may. */
  forbidden(path: string): string | undefined;
}

export type Edits = { ok: true; files: { path: string; after: string; match?: MatchStep }[] } | { ok: false; reason: RejectReason; message: string };

/** Said after a diff that does not apply, so the next reply uses the format that does. */
const BLOCKS_INSTEAD =
  'Or send SEARCH/REPLACE blocks instead: the file path on a line, then <<<<<<< SEARCH, the exact current lines, =======, the new lines, >>>>>>> REPLACE.';

/** A line that is one of the edit format's markers (also indented, or quoted). */
const MARKER = /^[ \t>]*(?:<{5,9} SEARCH|={5,9}|>{5,9} REPLACE)\s*$/;

export function readEdits(reply: string, finishReason: FinishReason, context: ReplyContext): Edits {
  const parsed = parseEditBlocks(reply, finishReason);
  if (parsed.kind === 'error') return { ok: false, reason: parsed.reason, message: parsed.message };
  if (parsed.kind === 'none') {
    const current = context.read(context.target) ?? '';
    const verdict = judgeReply(reply, finishReason, current, context.target);
    if (!verdict.ok) return verdict;
    const refused = refuseWhole(context.target, current, verdict.code);
    return refused ?? { ok: true, files: [{ path: context.target, after: verdict.code }] };
  }

  const edits: PlacedEdit[] = [];
  for (const block of parsed.blocks) {
    const placed = placeBlock(block, context);
    if (!placed.ok) return placed;
    edits.push(placed.edit);
  }
  const wholes: WholeFile[] = [];
  for (const file of parsed.wholeFiles) {
    const resolved = resolvePath(file.path, context);
    const path = resolved.ok ? resolved.path : file.path;
    if (!resolved.ok && !resolved.missing) return { ok: false, reason: 'edit_mismatch', message: `the whole file ${file.path} ${resolved.message}` };
    const why = context.forbidden(path);
    if (why) return { ok: false, reason: 'forbidden_path', message: why };
    const refused = refuseWhole(path, context.read(path), file.code);
    if (refused) return refused;
    wholes.push({ path, code: file.code });
  }
  const both = edits.find((edit) => wholes.some((file) => file.path === edit.path));
  if (both)
    return {
      ok: false,
      reason: 'edit_conflict',
      message: `${both.what} edits a file the same reply also sends whole; send either the whole file or SEARCH/REPLACE blocks for it, not both`,
    };

  const applied = applyEdits(edits, (path) => context.read(path));
  if (!applied.ok) {
    const hunks = parsed.blocks.some((block) => block.kind === 'hunk');
    return hunks && applied.reason === 'edit_mismatch' ? { ...applied, message: `${applied.message}\n${BLOCKS_INSTEAD}` } : applied;
  }
  const changes = [
    ...applied.files.map((file) => ({ path: file.path, after: file.after, match: file.match })),
    ...wholes.map((file) => ({ path: file.path, after: file.code })),
  ];
  if (changes.every((change) => change.after === context.read(change.path)))
    return { ok: false, reason: 'unchanged', message: 'the edits change nothing: the files are as they were, and the tests failed with them' };
  return { ok: true, files: changes };
}

/** An edit with its path resolved and allowed, or why not. */
function placeBlock(block: EditBlock, context: ReplyContext): { ok: true; edit: PlacedEdit } | Extract<Edits, { ok: false }> {
  const label = `${block.kind} ${block.index}`;
  const named = block.path === null ? label : `${label} (${block.path})`;
  const resolved = resolvePath(block.path, context);
  let path: string;
  if (resolved.ok) path = resolved.path;
  else if (!resolved.missing) return { ok: false, reason: block.path === null ? 'malformed' : 'edit_mismatch', message: `${named} ${resolved.message}` };
  else if (block.search === '' && block.path !== null) path = block.path;
  else {
    const guess = resolved.suggestions.length > 0 ? `did you mean ${resolved.suggestions.map((p) => `\`${p}\``).join(' or ')}?` : 'name a file shown to you.';
    return {
      ok: false,
      reason: 'edit_mismatch',
      message: `${named}: no such file; ${guess} Only an empty SEARCH section creates a file.${block.kind === 'hunk' ? `\n${BLOCKS_INSTEAD}` : ''}`,
    };
  }
  const why = context.forbidden(path);
  if (why) return { ok: false, reason: 'forbidden_path', message: why };
  return { ok: true, edit: { path, search: block.search, replace: block.replace, what: `${label} (${path})` } };
}

/** Why a whole new file must not be written: it still holds edit markers, is a diff, or elides code the file has. */
function refuseWhole(path: string, current: string | null, code: string): Extract<Edits, { ok: false }> | null {
  const lines = code.split('\n');
  const present = new Set((current ?? '').split('\n'));
  const marker = lines.findIndex((line) => MARKER.test(line) && !present.has(line));
  if (marker !== -1)
    return {
      ok: false,
      reason: 'malformed',
      message:
        `the reply's code for ${path} holds an edit marker (${JSON.stringify(lines[marker].trim())}, line ${marker + 1}) but is no complete block, ` +
        'so it was not written; send each change as <<<<<<< SEARCH, the lines, =======, the new lines, >>>>>>> REPLACE, or the whole file without markers',
    };
  if (looksLikeDiff(lines))
    return { ok: false, reason: 'malformed', message: `the reply's code for ${path} is a diff, not the file, so it was not written. ${BLOCKS_INSTEAD}` };
  const elided = current === null ? null : elidedWholeFileLine(current, code);
  if (elided !== null)
    return {
      ok: false,
      reason: 'elided',
      message:
        `the whole ${path} sent has ${JSON.stringify(elided.trim())} where the file has code, so it was not written; ` +
        'send the complete file, or SEARCH/REPLACE blocks for the lines that change',
    };
  return null;
}
