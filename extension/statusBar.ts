import * as vscode from 'vscode';
import { usd } from '../server/protocol/format';
import { SpendRequest } from '../server/protocol';
import { HostClient } from './hostClient';
import { RunsModel } from './runsModel';

/** How often today's spend is asked again: other processes on the log (a terminal's run) spend too. */
const DAILY_REFRESH_MS = 30_000;

/** Running runs and today's spend (against `devAi.dailyBudgetUsd` when set); a click opens the dev-ai view. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('devAi.status', vscode.StatusBarAlignment.Left, 10);
  private todayUsd = 0;
  /** The daily cap and today's spend by every process writing the log, from the host; null without a cap. */
  private daily: { spentUsd: number; capUsd: number } | null = null;
  private readonly timer = setInterval(() => void this.refreshSpend().catch(() => undefined), DAILY_REFRESH_MS);
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
          if (startOfToday() !== this.day || this.daily) return void this.refreshSpend().catch(() => undefined);
          this.todayUsd += event.costUsd;
        }
        this.render();
      }),
      runs.onDidChange(() => this.render()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.render()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        // After this event's other listeners: the language client's tells the host of the change first, and the
        // host answers a request sent after a change with the new settings.
        if (e.affectsConfiguration('devAi.dailyBudgetUsd')) setTimeout(() => void this.refreshSpend().catch(() => undefined), 0);
      }),
    );
    this.render();
    this.item.show();
  }

  private async refreshSpend(): Promise<void> {
    this.day = startOfToday();
    const client = await this.host.get();
    const spend = await client.sendRequest(SpendRequest.type, { sinceTs: this.day });
    this.todayUsd = spend.costUsd;
    this.daily = spend.daily ?? null;
    this.render();
  }

  private render(): void {
    const running = this.runs.running().length;
    const spend = this.daily ? `${usd(this.daily.spentUsd)} / ${usd(this.daily.capUsd)} today` : `${usd(this.todayUsd)} today`;
    if (!vscode.workspace.isTrusted) {
      this.item.text = `$(shield) dev-ai: limited`;
      this.item.tooltip = 'This workspace is not trusted: micro-agent runs no tests and writes no files.';
    } else {
      this.item.text = running > 0 ? `$(sync~spin) dev-ai: ${running} running · ${spend}` : `$(beaker) dev-ai · ${spend}`;
      const cap = this.daily
        ? ` of the ${usd(this.daily.capUsd)} daily budget${this.daily.spentUsd >= this.daily.capUsd ? ' (reached: no model calls until midnight)' : ''}`
        : '';
      const cost = usd(this.daily?.spentUsd ?? this.todayUsd);
      this.item.tooltip = `micro-agent: ${running} run(s) going on; model calls today cost ${cost}${cap}. Click to open dev-ai.`;
      this.item.backgroundColor =
        this.daily && this.daily.spentUsd >= this.daily.capUsd * 0.8 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function startOfToday(): number {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
}
