import * as vscode from 'vscode';

/**
 * The file the user is working on: the active editor's, or the last one when something without a text
 * editor has focus (the dashboard panel, the output channel). "Fix" then still means that file.
 */
export class ActiveFile implements vscode.Disposable {
  private last: vscode.Uri | undefined;
  private readonly changed = new vscode.EventEmitter<vscode.Uri | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.remember(vscode.window.activeTextEditor);
    this.subscription = vscode.window.onDidChangeActiveTextEditor((editor) => this.remember(editor));
  }

  get uri(): vscode.Uri | undefined {
    return this.last;
  }

  private remember(editor: vscode.TextEditor | undefined): void {
    const uri = editor?.document.uri;
    if (uri?.scheme !== 'file' || uri.toString() === this.last?.toString()) return;
    this.last = uri;
    this.changed.fire(uri);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
