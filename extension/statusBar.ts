import * as vscode from 'vscode';
import { usd } from '../server/protocol/format';
import { SpendRequest } from '../server/protocol';
import { HostClient } from './hostClient';
import { RunsModel } from './runsModel';

/** Running runs and today's spend; a click opens the dev-ai view. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('devAi.status', vscode.StatusBarAlignment.Left, 10);
  private todayUsd = 0;
  private day = startOfToday();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly host: HostClient,
    private readonly runs: RunsModel,
  ) {
    this.item.name = 'dev-ai';
    this.item.command = 'workbench.view.extension.devAi';
    this.disposables.push(
      host.onReady(() => void this.refreshSpend()),
      host.onEvent((event) => {
        if (event.type === 'llm.response' && event.costUsd !== null) {
          if (startOfToday() !== this.day) return void this.refreshSpend();
          this.todayUsd += event.costUsd;
        }
        this.render();
      }),
      runs.onDidChange(() => this.render()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.render()),
    );
    this.render();
    this.item.show();
  }

  private async refreshSpend(): Promise<void> {
    this.day = startOfToday();
    const client = await this.host.get();
    this.todayUsd = (await client.sendRequest(SpendRequest.type, { sinceTs: this.day })).costUsd;
    this.render();
  }

  private render(): void {
    const running = this.runs.running().length;
    const spend = `${usd(this.todayUsd)} today`;
    if (!vscode.workspace.isTrusted) {
      this.item.text = `$(shield) dev-ai: limited`;
      this.item.tooltip = 'This workspace is not trusted: micro-agent runs no tests and writes no files.';
    } else {
      this.item.text = running > 0 ? `$(sync~spin) dev-ai: ${running} running · ${spend}` : `$(beaker) dev-ai · ${spend}`;
      this.item.tooltip = `micro-agent: ${running} run(s) going on; model calls today cost ${spend.replace(' today', '')}. Click to open dev-ai.`;
    }
  }

  dispose(): void {
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function startOfToday(): number {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
}
