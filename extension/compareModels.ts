/**
 * dev-ai: Compare Models on This Repository…: `micro-agent eval` from the palette. Asks where the tasks come
 * from, which models and what budget; starts the eval in the host (`microAgent/startEval`); shows cells done
 * out of all as the host's `eval.cell` events arrive, with a Cancel that cancels the eval; when it ends, opens
 * the dashboard's Models view on it.
 */
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import type { AgentEvent } from '../server/protocol/events';
import type { EvalReport, StartEvalParams } from '../server/protocol/eval';
import { CancelEvalRequest, EvalRequest, StartEvalRequest } from '../server/protocol/lsp';
import { isProviderName, PROVIDER_INFO, ProviderName, PROVIDERS, unknownProviderMessage } from '../server/protocol/providers';
import { percent } from '../server/protocol/format';
import { Dashboard } from './dashboard';
import { HostClient } from './hostClient';
import { ensureTrusted, testCommandFor } from './runInputs';
import { registerCommand, UserError } from './userErrors';

export const COMPARE_MODELS_COMMAND = 'devAi.compareModels';
const TITLE = 'Compare models on this repository';
/** Remembered per workspace: the last answers are the next defaults. */
const LAST_MODELS = 'devAi.compareModels.models';
const LAST_RANGE = 'devAi.compareModels.range';

type Source = { kind: 'git'; range: string } | { kind: 'mutants'; n: number } | { kind: 'file'; path: string };

export function registerCompareModels(context: vscode.ExtensionContext, host: HostClient, dashboard: Dashboard, log: vscode.LogOutputChannel): void {
  registerCommand(context, log, COMPARE_MODELS_COMMAND, async () => {
    // An eval runs the tests on copies of the code, as a run does: only in a trusted workspace.
    if (!(await ensureTrusted())) return;
    const source = await askSource(context);
    if (!source) return;
    // A tasks file names each task's test command; the other sources use the workspace's.
    const testCommand = source.kind === 'file' ? undefined : await testCommandFor(context);
    if (source.kind !== 'file' && !testCommand) return;
    const models = await askModels(context);
    if (!models) return;
    const budgetUsd = await askBudget();
    if (budgetUsd === undefined) return;
    const params: StartEvalParams = {
      ...(source.kind === 'git' ? { fromGit: source.range } : source.kind === 'mutants' ? { mutants: source.n } : { tasks: source.path }),
      models,
      ...(testCommand ? { testCommand } : {}),
      ...(budgetUsd === null ? {} : { budgetUsd }),
    };
    const client = await host.get();
    const ended = await followEval(client, host, params, log);
    if (!ended) return;
    const { evalId, outcome, done } = ended;
    const report = await client.sendRequest(EvalRequest.type, { evalId });
    dashboard.showEval(evalId);
    void vscode.window.showInformationMessage(summary(report, outcome, done));
  });
}

/** Where the tasks come from: the repository's fixed bugs, seeded mutants, or a hand-picked JSONL file. */
async function askSource(context: vscode.ExtensionContext): Promise<Source | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      {
        label: '$(git-commit) Bugs fixed in the git history',
        detail: 'Each commit in a range that fixed a bug its tests catch: the bug put back, the tests to pass again.',
        source: 'git' as const,
      },
      {
        label: '$(beaker) Seeded mutants',
        detail: 'Small mutations (flipped comparisons, off-by-one…) in the code the tests import, kept when they catch them.',
        source: 'mutants' as const,
      },
      { label: '$(file) Tasks from a file', detail: 'A JSONL file of { file, testCommand, prompt?, setup? }, one task a line.', source: 'file' as const },
    ],
    { title: `${TITLE} (1/3): tasks` },
  );
  if (!picked) return undefined;
  if (picked.source === 'git') {
    const range = await vscode.window.showInputBox({
      title: `${TITLE}: commits to mine`,
      prompt: 'A git revision range; the commits in it that fixed a bug the tests catch become tasks.',
      value: context.workspaceState.get<string>(LAST_RANGE) ?? 'HEAD~20..HEAD',
      ignoreFocusOut: true,
      validateInput: (v) => (/^[^\s-][^\s]*$/.test(v.trim()) ? undefined : 'A revision range such as HEAD~20..HEAD'),
    });
    if (!range) return undefined;
    await context.workspaceState.update(LAST_RANGE, range.trim());
    return { kind: 'git', range: range.trim() };
  }
  if (picked.source === 'mutants') {
    const n = await vscode.window.showInputBox({
      title: `${TITLE}: how many mutants`,
      prompt: 'At most this many; fewer when the tests catch fewer.',
      value: '10',
      ignoreFocusOut: true,
      validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 1000 ? undefined : 'A whole number from 1 to 1000'),
    });
    return n ? { kind: 'mutants', n: Number(n.trim()) } : undefined;
  }
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  const [file] =
    (await vscode.window.showOpenDialog({ title: `${TITLE}: tasks file`, defaultUri: root, canSelectMany: false, filters: { 'Tasks (JSONL)': ['jsonl'] } })) ??
    [];
  if (!file) return undefined;
  const relative = vscode.workspace.asRelativePath(file, false);
  if (relative === file.fsPath) throw new UserError('Pick a tasks file inside the workspace.');
  return { kind: 'file', path: relative };
}

/**
 * Which models: every provider's suggested ones (those of the last comparison, else the configured model,
 * ticked), and "Other models…" for any `provider:model`.
 */
async function askModels(context: vscode.ExtensionContext): Promise<string[] | undefined> {
  const config = vscode.workspace.getConfiguration('devAi');
  const configured = config.get<string>('provider');
  const provider = isProviderName(configured) ? configured : 'openai';
  const last = context.workspaceState.get<string[]>(LAST_MODELS) ?? [`${provider}:${config.get<string>('model') || PROVIDER_INFO[provider].defaultModel}`];
  const suggested = PROVIDERS.flatMap((provider) => PROVIDER_INFO[provider].suggestedModels.map((model) => `${provider}:${model}`));
  const other = { label: '$(edit) Other models…', description: 'type provider:model ids', id: null };
  const items = [...new Set([...suggested, ...last])].map((id) => ({
    label: id,
    description: PROVIDER_INFO[id.split(':')[0] as ProviderName]?.label,
    picked: last.includes(id),
    id,
  }));
  const picked = await vscode.window.showQuickPick([...items, other], {
    title: `${TITLE} (2/3): models (every model gets every task)`,
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  const models = picked.flatMap((item) => (item.id ? [item.id] : []));
  if (picked.some((item) => item.id === null)) {
    const typed = await vscode.window.showInputBox({
      title: `${TITLE}: other models`,
      prompt: 'provider:model ids, separated by commas, e.g. openai:gpt-4.1, ollama:qwen2.5-coder',
      ignoreFocusOut: true,
      validateInput: (v) => modelsProblem(v),
    });
    if (typed === undefined) return undefined;
    models.push(...splitModels(typed));
  }
  const unique = [...new Set(models)];
  if (unique.length === 0) throw new UserError('Pick at least one model to compare.');
  await context.workspaceState.update(LAST_MODELS, unique);
  return unique;
}

const splitModels = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Why typed model ids cannot be used, or undefined when they can. */
export function modelsProblem(text: string): string | undefined {
  for (const id of splitModels(text)) {
    const [provider, ...rest] = id.split(':');
    if (!isProviderName(provider)) return unknownProviderMessage(provider);
    if (!rest.join(':').trim() || /\s/.test(id)) return `${id}: write provider:model, e.g. openai:gpt-4.1`;
  }
  return undefined;
}

/** The total budget in USD; null for none, undefined when dismissed. */
async function askBudget(): Promise<number | null | undefined> {
  const text = await vscode.window.showInputBox({
    title: `${TITLE} (3/3): total budget in USD`,
    prompt: 'The eval stops starting cells once this much is spent (the daily cap applies too). Empty: no total budget.',
    value: '',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' || (Number.isFinite(Number(v)) && Number(v) > 0) ? undefined : 'A positive amount, e.g. 2.50, or empty'),
  });
  if (text === undefined) return undefined;
  return text.trim() === '' ? null : Number(text);
}

/**
 * Starts the eval and shows its progress until `eval.finished`; Cancel cancels it (the host stops its cells and
 * removes their copies, then finishes it as cancelled). Undefined when the host went away meanwhile.
 */
async function followEval(
  client: LanguageClient,
  host: HostClient,
  params: StartEvalParams,
  log: vscode.LogOutputChannel,
): Promise<{ evalId: string; outcome: 'finished' | 'cancelled'; done: number } | undefined> {
  // Listening before the start: its first events can arrive before its answer.
  const early: AgentEvent[] = [];
  let onEvent: (event: AgentEvent) => void = (event) => void early.push(event);
  let onRestart: () => void = () => undefined;
  const subscriptions = [host.onEvent((event) => onEvent(event)), host.onReady(() => onRestart())];
  try {
    const { evalId } = await client.sendRequest(StartEvalRequest.type, params);
    log.info(`eval ${evalId} started: ${JSON.stringify(params)}`);
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'dev-ai: comparing models', cancellable: true },
      (progress, cancel) =>
        new Promise((resolve) => {
          let total: number | null = null;
          let done = 0;
          cancel.onCancellationRequested(() => {
            progress.report({ message: 'cancelling…' });
            client.sendRequest(CancelEvalRequest.type, { evalId }).then(
              ({ cancelled }) => cancelled || resolve(undefined),
              (err: Error) => (log.error(`cancelling eval ${evalId}: ${err.message}`), resolve(undefined)),
            );
          });
          onRestart = () => {
            void vscode.window.showWarningMessage(
              `dev-ai: the agent host restarted, which stopped eval ${evalId}. Run micro-agent eval --resume ${evalId} to finish its cells.`,
            );
            resolve(undefined);
          };
          onEvent = (event) => {
            if (event.evalId !== evalId) return;
            if (event.type === 'eval.started') {
              total = event.cells;
              progress.report({ message: `0 of ${total} cells · ${event.tasks} tasks × ${event.models.length} models` });
            } else if (event.type === 'eval.cell') {
              done++;
              progress.report({
                message: `${done} of ${total ?? '?'} cells · ${event.task} × ${event.model}: ${event.outcome}`,
                increment: total ? 100 / total : undefined,
              });
            } else if (event.type === 'eval.finished') {
              resolve({ evalId, outcome: event.outcome, done: event.cells });
            }
          };
          for (const event of early.splice(0)) onEvent(event);
        }),
    );
  } finally {
    for (const s of subscriptions) s.dispose();
  }
}

/** The message an ended eval leaves: the leader and its interval, or how far a cancelled one got. */
function summary(report: EvalReport, outcome: 'finished' | 'cancelled', done: number): string {
  const [best] = report.models;
  if (outcome === 'cancelled') return `dev-ai: eval cancelled after ${done} cells. Resume it with micro-agent eval --resume ${report.evalId}.`;
  if (!best) return `dev-ai: the eval finished with no results (${report.tasks} tasks). ${report.notes.join(' ')}`;
  return (
    `dev-ai: compared ${report.models.length} models on ${report.tasks} tasks. ${best.model} passed ${best.passed} of ${best.tasks} ` +
    `(${percent(best.passRate)}, 95% interval ${percent(best.passRateLow)}–${percent(best.passRateHigh)}).`
  );
}
