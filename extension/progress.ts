import * as vscode from 'vscode';
import {
  LanguageClient,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';

/**
 * Shows the host's work-done progress as a notification with a Cancel button (vscode-languageclient's own
 * handler puts it in the status bar, where it cannot be cancelled). Cancel sends the standard
 * `window/workDoneProgress/cancel`, which the host turns into a cancelled run.
 * Must be installed after every (re)start: the client's progress feature registers its handler on start.
 * Disposing it (at the next restart) closes the notifications still open: a host that died never ends them.
 */
export function showProgressAsNotifications(client: LanguageClient): vscode.Disposable {
  const open = new Set<() => void>();
  const handler = client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
    let report: ((value: WorkDoneProgressBegin | WorkDoneProgressReport) => void) | undefined;
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    open.add(finish);
    let last = 0;
    const subscription = client.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === 'begin') {
        void vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: value.title, cancellable: value.cancellable },
          (progress, cancel) => {
            cancel.onCancellationRequested(() => void client.sendNotification(WorkDoneProgressCancelNotification.type, { token }));
            report = (update) => {
              // withProgress wants increments; the host sends absolute percentages.
              const increment = update.percentage === undefined ? undefined : Math.max(0, update.percentage - last);
              if (update.percentage !== undefined) last = update.percentage;
              progress.report({ message: update.message, increment });
            };
            report(value);
            return finished;
          },
        );
      } else if (value.kind === 'report') {
        report?.(value);
      } else {
        subscription.dispose();
        open.delete(finish);
        finish();
      }
    });
  });
  return new vscode.Disposable(() => {
    handler.dispose();
    for (const close of open) close();
    open.clear();
  });
}
