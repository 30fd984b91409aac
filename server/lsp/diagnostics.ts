/** Findings and test failures as LSP diagnostics, merged per document. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodeAction, CodeActionKind, Diagnostic, DiagnosticSeverity, Range } from 'vscode-languageserver';
import { Finding, IGNORE_FINDING_COMMAND } from '../protocol';

export const SOURCE = 'dev-ai';

const SEVERITY: Record<Finding['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/**
 * What every dev-ai diagnostic carries: `anchor` is the text of its lines when it was published, so it can
 * follow edits elsewhere in the document and go away once its own lines change (a fix was applied).
 */
export type DiagnosticData = { anchor: string } & ({ kind: 'finding'; fingerprint: string; replacement?: string } | { kind: 'test' });
type FindingData = Extract<DiagnosticData, { kind: 'finding' }>;

/** The finding's message and the text it points at: stable across edits elsewhere in the file. */
export function fingerprint(message: string, lines: readonly string[], finding: Pick<Finding, 'line' | 'endLine'>): string {
  return createHash('sha1')
    .update(
      `${message}\0${lines
        .slice(finding.line - 1, finding.endLine)
        .join('\n')
        .trim()}`,
    )
    .digest('hex')
    .slice(0, 16);
}

/** Whole lines line..endLine (1-based) of a document. */
export function linesRange(lines: readonly string[], line: number, endLine: number): Range {
  return { start: { line: line - 1, character: 0 }, end: { line: endLine - 1, character: lines[endLine - 1]?.length ?? 0 } };
}

/** The text of lines line..endLine (1-based), which a diagnostic on them is anchored to. */
export function anchorText(lines: readonly string[], line: number, endLine: number): string {
  return lines.slice(line - 1, endLine).join('\n');
}

/**
 * Where a dev-ai diagnostic belongs after an edit: the nearest lines that still read as its anchor (the
 * same place when the edit was elsewhere), or nowhere when its text changed.
 */
export function relocate(diagnostic: Diagnostic, lines: readonly string[]): Diagnostic | undefined {
  const { anchor } = diagnostic.data as DiagnosticData;
  const wanted = anchor.split('\n');
  const at = (start: number) => start >= 0 && start + wanted.length <= lines.length && wanted.every((text, i) => lines[start + i] === text);
  const from = diagnostic.range.start.line;
  for (let distance = 0; distance <= Math.max(from, lines.length); distance++) {
    for (const start of distance === 0 ? [from] : [from - distance, from + distance]) {
      if (!at(start)) continue;
      if (start === from) return diagnostic;
      return { ...diagnostic, range: linesRange(lines, start + 1, start + wanted.length) };
    }
  }
  return undefined;
}

export function findingDiagnostics(findings: readonly Finding[], lines: readonly string[], ignored: ReadonlySet<string>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const f of findings) {
    const print = fingerprint(f.message, lines, f);
    if (ignored.has(print)) continue;
    const data: FindingData = {
      kind: 'finding',
      fingerprint: print,
      anchor: anchorText(lines, f.line, f.endLine),
      ...(f.fix ? { replacement: f.fix.replacement } : {}),
    };
    out.push({ range: linesRange(lines, f.line, f.endLine), severity: SEVERITY[f.severity], source: SOURCE, message: f.message, data });
  }
  return out;
}

/** Quick fixes for dev-ai diagnostics: apply the model's fix, fix with micro-agent, ignore the finding. */
export function codeActions(uri: string, lines: readonly string[], diagnostics: readonly Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const diagnostic of diagnostics) {
    if (diagnostic.source !== SOURCE) continue;
    const data = diagnostic.data as DiagnosticData | undefined;
    if (data?.kind === 'finding' && data.replacement !== undefined) {
      const { start, end } = diagnostic.range;
      // Only when the lines still read as they did when reviewed: an old fix must not land on new text.
      if (
        typeof diagnostic.message === 'string' &&
        fingerprint(diagnostic.message, lines, { line: start.line + 1, endLine: end.line + 1 }) === data.fingerprint
      ) {
        const newText = data.replacement.replace(/\n$/, '');
        actions.push({
          title: 'Apply dev-ai fix',
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: true,
          edit: { changes: { [uri]: [{ range: linesRange(lines, start.line + 1, end.line + 1), newText }] } },
        });
      }
    }
    actions.push({
      title: 'Fix with micro-agent',
      kind: CodeActionKind.QuickFix,
      diagnostics: [diagnostic],
      command: { title: 'Fix with micro-agent', command: 'devAi.fixFile', arguments: [uri] },
    });
    if (data?.kind === 'finding') {
      actions.push({
        title: 'Ignore this dev-ai finding',
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        command: { title: 'Ignore', command: IGNORE_FINDING_COMMAND, arguments: [uri, data.fingerprint] },
      });
    }
  }
  return actions;
}

/**
 * The diagnostics of each document from both sources, published together (publishDiagnostics replaces a
 * document's whole set): review findings per document, test failures from the latest test run.
 */
export class DiagnosticsBook {
  private readonly review = new Map<string, Diagnostic[]>();
  private tests = new Map<string, Diagnostic[]>();

  constructor(private readonly publish: (uri: string, diagnostics: Diagnostic[]) => void) {}

  setReview(uri: string, diagnostics: Diagnostic[]): void {
    this.review.set(uri, diagnostics);
    this.flush(uri);
  }

  /** The document's text changed: move its diagnostics with their lines, drop those whose lines changed. */
  documentChanged(uri: string, text: () => string): void {
    const review = this.review.get(uri);
    const tests = this.tests.get(uri);
    if (!review?.length && !tests?.length) return;
    const lines = text().split('\n');
    let moved = false;
    const follow = (diagnostics: Diagnostic[] | undefined) => {
      const next = (diagnostics ?? []).flatMap((d) => relocate(d, lines) ?? []);
      moved ||= next.length !== diagnostics?.length || next.some((d, i) => d !== diagnostics[i]);
      return next;
    };
    const nextReview = follow(review);
    const nextTests = follow(tests);
    if (!moved) return;
    this.review.set(uri, nextReview);
    this.tests.set(uri, nextTests);
    this.flush(uri);
  }

  /** Replaces every test-failure diagnostic: documents no longer failing are cleared. */
  setTests(next: Map<string, Diagnostic[]>): void {
    const touched = new Set([...this.tests.keys(), ...next.keys()]);
    this.tests = next;
    for (const uri of touched) this.flush(uri);
  }

  private flush(uri: string): void {
    this.publish(uri, [...(this.review.get(uri) ?? []), ...(this.tests.get(uri) ?? [])]);
  }
}

/** Findings the user chose to ignore, kept in `.micro-agent/review-ignored.json` across restarts. */
export class IgnoredFindings {
  private readonly set: Set<string>;
  constructor(private readonly file: string | undefined) {
    let saved: unknown = [];
    try {
      if (file) saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // none yet, or unreadable: start empty rather than fail
    }
    this.set = new Set(Array.isArray(saved) ? saved.filter((s): s is string => typeof s === 'string') : []);
  }

  get values(): ReadonlySet<string> {
    return this.set;
  }

  add(fingerprint: string): void {
    this.set.add(fingerprint);
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify([...this.set]));
  }
}
