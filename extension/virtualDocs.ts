import * as vscode from 'vscode';

/**
 * Read-only documents the diff editor needs that are not files: the empty left side of a file a run created,
 * and the model's draft of a test file before anything is written. `dev-ai:/empty/<name>` is always empty;
 * `dev-ai:/draft/<n>/<name>` holds a draft until it is replaced or disposed.
 */
export class VirtualDocs implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly scheme = 'dev-ai';
  private readonly drafts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(VirtualDocs.scheme, this);
  private next = 0;

  /** An empty document named like `file`, so the diff editor picks the file's language. */
  empty(file: string): vscode.Uri {
    return vscode.Uri.from({ scheme: VirtualDocs.scheme, path: `/empty/${file}` });
  }

  /** A new read-only document holding `contents`, named like `file`. */
  draft(file: string, contents: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: VirtualDocs.scheme, path: `/draft/${++this.next}/${file}` });
    this.drafts.set(uri.path, contents);
    return uri;
  }

  forget(uri: vscode.Uri): void {
    this.drafts.delete(uri.path);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.drafts.get(uri.path) ?? '';
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
    this.drafts.clear();
  }
}
