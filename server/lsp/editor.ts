import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CancellationToken, CodeAction, CodeActionParams, Diagnostic, DiagnosticSeverity, TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Engine } from '../engine/engine';
import type { AgentEvent } from '../protocol/events';
import type { Finding } from '../protocol/methods';
import type { DevAiSettings } from '../protocol/settings';
import type { TestFailure } from '../protocol/testReport';
import { Reviewer } from '../review/reviewer';
import { isInside, resolveInWorkspace, statePaths } from '../foundation/workspace';
import { anchorText, codeActions, DiagnosticData, DiagnosticsBook, findingDiagnostics, IgnoredFindings, linesRange, SOURCE } from './diagnostics';

/** Saves closer together than this trigger one review / one auto-fix check. */
const SAVE_DEBOUNCE_MS = 800;

export interface EditorFeaturesDeps {
  engine: Engine;
  documents: TextDocuments<TextDocument>;
  settings: () => DevAiSettings;
  trusted: boolean;
  publish: (uri: string, diagnostics: Diagnostic[]) => void;
  log: (message: string) => void;
}

/**
 * The host's editor features: reviews as diagnostics with quick fixes (on request and, when enabled, on
 * save), failing tests as diagnostics where the output says they failed, and auto-fix after a save. LSP
 * only: the reviewer and the engine it drives know nothing of documents or diagnostics.
 */
export class EditorFeatures {
  private readonly reviewer: Reviewer;
  private readonly book: DiagnosticsBook;
  private readonly ignored: IgnoredFindings;
  /** The review in flight per document, cancelled when the document changes. */
  private readonly inFlight = new Map<string, AbortController>();
  private readonly saveTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: EditorFeaturesDeps) {
    const { engine } = deps;
    this.book = new DiagnosticsBook(deps.publish);
    this.ignored = new IgnoredFindings(deps.trusted ? statePaths(engine.root).reviewIgnored : undefined);
    this.reviewer = new Reviewer({
      emit: (e) => engine.log.append(e),
      settings: () => deps.settings().review ?? {},
      model: () => engine.modelClient(),
      beforeCall: () => engine.checkDailyBudget(),
    });
  }

  /** The document changed: a review of the old text is stale, and diagnostics follow their lines. */
  documentChanged(document: TextDocument): void {
    this.cancelReview(document.uri);
    this.book.documentChanged(document.uri, () => document.getText());
  }

  /** The document closed or changed: a review of the old text is stale, so cancel it. */
  cancelReview(uri: string): void {
    this.inFlight.get(uri)?.abort();
  }

  /** Reviews a document (open, or read from disk) and publishes its findings. */
  async review(uri: string, token?: CancellationToken): Promise<{ findings: Finding[]; cached: boolean }> {
    const file = this.workspaceFile(uri);
    const text = this.deps.documents.get(uri)?.getText() ?? fs.readFileSync(file.abs, 'utf8');
    this.inFlight.get(uri)?.abort();
    const controller = new AbortController();
    this.inFlight.set(uri, controller);
    const cancellation = token?.onCancellationRequested(() => controller.abort());
    try {
      const result = await this.reviewer.review(file.rel, text, controller.signal);
      for (const reason of result.dropped) this.deps.log(`review of ${file.rel}: dropped ${reason}`);
      this.book.setReview(uri, findingDiagnostics(result.findings, text.split('\n'), this.ignored.values));
      return { findings: result.findings, cached: result.cached };
    } finally {
      cancellation?.dispose();
      if (this.inFlight.get(uri) === controller) this.inFlight.delete(uri);
    }
  }

  codeActions(params: CodeActionParams): CodeAction[] {
    const document = this.deps.documents.get(params.textDocument.uri);
    if (!document) return [];
    return codeActions(params.textDocument.uri, document.getText().split('\n'), params.context.diagnostics);
  }

  /** "Ignore this finding": remembered, and the diagnostic goes away now. */
  async ignore(uri: string, fingerprint: string): Promise<void> {
    this.ignored.add(fingerprint);
    if (this.deps.documents.get(uri) || fs.existsSync(fileURLToPath(uri))) await this.review(uri).catch(() => undefined);
  }

  /** Test results become diagnostics where each failure happened, from the runner's report; a pass clears them. */
  observe(event: AgentEvent): void {
    if (event.type === 'test.finished' && !event.cancelled) this.publishTestFailures(event.passed ? [] : (event.report?.failures ?? []));
  }

  /** One diagnostic per failure on its test's line and one on the source line it failed in, each with its own message. */
  private publishTestFailures(failures: TestFailure[]): void {
    const byUri = new Map<string, Diagnostic[]>();
    for (const failure of failures) {
      const firstLine = failure.message.split('\n').find((line) => line.trim()) ?? '';
      const message = `test failed: ${failure.name}${firstLine ? ` — ${firstLine.trim()}` : ''}`;
      for (const location of [failure.test, failure.source]) {
        if (!location) continue;
        const abs = path.resolve(this.deps.engine.root, location.file);
        if (!isInside(this.deps.engine.root, abs) || !fs.existsSync(abs)) continue;
        const uri = pathToFileURL(abs).toString();
        const lines = (this.deps.documents.get(uri)?.getText() ?? fs.readFileSync(abs, 'utf8')).split('\n');
        if (location.line < 1 || location.line > lines.length) continue;
        const data: DiagnosticData = { kind: 'test', anchor: anchorText(lines, location.line, location.line) };
        const diagnostic: Diagnostic = {
          range: linesRange(lines, location.line, location.line),
          severity: DiagnosticSeverity.Error,
          source: SOURCE,
          message,
          data,
        };
        byUri.set(uri, [...(byUri.get(uri) ?? []), diagnostic]);
      }
    }
    this.book.setTests(byUri);
  }

  onSave(uri: string): void {
    clearTimeout(this.saveTimers.get(uri));
    this.saveTimers.set(
      uri,
      setTimeout(() => {
        this.saveTimers.delete(uri);
        const settings = this.deps.settings();
        if (settings.review?.onSave) this.review(uri).catch((err: Error) => this.deps.log(`review on save: ${err.message}`));
        if (settings.autoFix) void this.autoFix(uri, settings);
      }, SAVE_DEBOUNCE_MS),
    );
  }

  /**
   * Auto-fix, only when the user turned it on, only in a trusted workspace, only with the test command from
   * their settings (never one a model proposed). The engine runs the tests (logged, without API keys, with
   * the timeout setting, cancelled at shutdown) and starts micro-agent on the file when they fail.
   */
  private async autoFix(uri: string, settings: DevAiSettings): Promise<void> {
    if (!this.deps.trusted || !settings.testCommand?.trim()) {
      this.deps.log(`auto-fix skipped: ${!this.deps.trusted ? 'the workspace is not trusted' : 'devAi.testCommand is not set'}`);
      return;
    }
    const file = this.workspaceFile(uri);
    try {
      const result = await this.deps.engine.autoFix(file.abs);
      if (result.started) this.deps.log(`auto-fix: tests failed after saving ${file.rel}; started run ${result.runId}`);
    } catch (err) {
      this.deps.log(`auto-fix: ${(err as Error).message}`);
    }
  }

  private workspaceFile(uri: string): { abs: string; rel: string } {
    return resolveInWorkspace(this.deps.engine.root, fileURLToPath(uri));
  }
}
