import * as vscode from 'vscode';
import { LSPErrorCodes, ResponseError } from 'vscode-languageclient/node';
import { ApiStatusRequest, CancelRunRequest, ReviewRequest, StartRunRequest } from '../server/protocol/lsp';
import { DEFAULT_OLLAMA_URL, PROVIDER_INFO, ProviderName } from '../server/protocol/providers';
import { ActiveFile } from './activeFile';
import { HostClient } from './hostClient';
import { ADMIN_KEYED_PROVIDERS, ApiKeys, KEYED_PROVIDERS } from './keys';
import { RunsModel } from './runsModel';
import { ensureTrusted, givenOrAsked, saveIfDirty, testCommandFor } from './runInputs';
import { registerCommand, UserError } from './userErrors';

export function registerCommands(
  context: vscode.ExtensionContext,
  host: HostClient,
  keys: ApiKeys,
  runs: RunsModel,
  activeFile: ActiveFile,
  log: vscode.LogOutputChannel,
): void {
  const register = <A extends unknown[]>(id: string, run: (...args: A) => unknown) => registerCommand(context, log, id, run);

  // Arguments: the explorer/editor passes the file's URI; keybindings and scripts may pass options too, e.g.
  // { "prompt": "" } to skip the question.
  register('devAi.fixFile', async (resource?: vscode.Uri, options?: { prompt?: string }) => {
    if (!(await ensureTrusted())) return;
    const uri = resource instanceof vscode.Uri ? resource : activeFile.uri;
    if (!uri || uri.scheme !== 'file') throw new UserError('Open the file to fix (or pick it in the explorer) first.');
    await saveIfDirty(uri);

    const testCommand = await testCommandFor(context);
    if (!testCommand) return;
    const prompt = await givenOrAsked(options?.prompt, {
      title: 'micro-agent: what should the code do? (optional)',
      prompt: 'Describe the goal, or press Enter to let the failing tests speak for themselves.',
    });
    if (prompt === undefined) return;
    const client = await host.get();
    const { runId } = await client.sendRequest(StartRunRequest.type, { uri: uri.toString(), testCommand, ...(prompt.trim() ? { prompt } : {}) });
    log.info(`run ${runId} started on ${vscode.workspace.asRelativePath(uri)} (tests: ${testCommand})`);
  });

  register('devAi.reviewFile', async (resource?: vscode.Uri) => {
    const uri = resource instanceof vscode.Uri ? resource : activeFile.uri;
    if (!uri || uri.scheme !== 'file') throw new UserError('Open the file to review first.');
    const client = await host.get();
    const name = vscode.workspace.asRelativePath(uri);
    let result;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `dev-ai: reviewing ${name}`, cancellable: true },
        (_progress, token) => client.sendRequest(ReviewRequest.type, { uri: uri.toString() }, token),
      );
    } catch (err) {
      if (err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled) return;
      if (!(err instanceof ResponseError && err.code === LSPErrorCodes.ContentModified)) throw err;
      void vscode.window.showInformationMessage(`dev-ai: ${name} changed during the review, so the review was stopped. Review it again when you are ready.`);
      return;
    }
    const { findings, cached } = result;
    const summary = findings.length === 0 ? 'no findings' : `${findings.length} finding${findings.length === 1 ? '' : 's'} in the Problems panel`;
    const choice = await vscode.window.showInformationMessage(
      `dev-ai review of ${name}: ${summary}${cached ? ' (unchanged since the last review)' : ''}.`,
      ...(findings.length ? ['Show Problems'] : []),
    );
    if (choice) await vscode.commands.executeCommand('workbench.actions.view.problems');
  });

  register('devAi.cancelRun', async (item?: { runId?: string }) => {
    const running = runs.running();
    let runId = item?.runId;
    if (!runId) {
      if (running.length === 0) return void vscode.window.showInformationMessage('No micro-agent run is going on.');
      runId =
        running.length === 1
          ? running[0].runId
          : (
              await vscode.window.showQuickPick(
                running.map((run) => ({ label: run.file, description: `${run.provider} ${run.model}`, runId: run.runId })),
                { title: 'Cancel which run?' },
              )
            )?.runId;
    }
    if (!runId) return;
    const client = await host.get();
    const { cancelled } = await client.sendRequest(CancelRunRequest.type, { runId });
    if (!cancelled) void vscode.window.showInformationMessage('That run had already finished.');
  });

  register('devAi.selectModel', async () => {
    const config = vscode.workspace.getConfiguration('devAi');
    const current = config.get<ProviderName>('provider');
    const picked = await vscode.window.showQuickPick(
      [
        {
          label: PROVIDER_INFO.openai.label,
          provider: 'openai' as const,
          detail: 'OPENAI_API_KEY or a key set with dev-ai: Set API Key; OPENAI_BASE_URL for OpenAI-compatible servers (vLLM)',
        },
        { label: PROVIDER_INFO.anthropic.label, provider: 'anthropic' as const, detail: 'ANTHROPIC_API_KEY or a key set with dev-ai: Set API Key' },
        {
          label: PROVIDER_INFO.ollama.label,
          provider: 'ollama' as const,
          detail: `local models, no key (devAi.ollamaUrl: ${config.get<string>('ollamaUrl') || DEFAULT_OLLAMA_URL})`,
        },
      ].map((item) => ({ ...item, description: item.provider === current ? 'current' : undefined })),
      { title: 'micro-agent provider (1/2)' },
    );
    if (!picked) return;
    const other = '$(edit) Other model…';
    const choice = await vscode.window.showQuickPick([...PROVIDER_INFO[picked.provider].suggestedModels, other], { title: `${picked.label} model (2/2)` });
    if (!choice) return;
    const model =
      choice === other
        ? await vscode.window.showInputBox({ title: `${picked.label} model id`, validateInput: (v) => (v.trim() ? undefined : 'Enter a model id') })
        : choice;
    if (!model) return;
    await config.update('provider', picked.provider, vscode.ConfigurationTarget.Global);
    await config.update('model', model.trim(), vscode.ConfigurationTarget.Global);
    void vscode.window.showInformationMessage(`micro-agent will use ${picked.label} ${model.trim()}.`);
  });

  register('devAi.setApiKey', async () => {
    const picked = await pickKeyedProvider('Set the API key for');
    if (!picked) return;
    const key = await vscode.window.showInputBox({
      title: `${picked.label} API key`,
      prompt: `Stored in VS Code's secret storage, passed to the micro-agent host as ${picked.variable}; never in settings or logs.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim().length < 8 ? 'That does not look like an API key' : undefined),
    });
    if (!key) return;
    await keys.store(picked.provider, key.trim());
    void vscode.window.showInformationMessage(`${picked.label} API key saved.`);
  });

  register('devAi.clearApiKey', async () => {
    const picked = await pickKeyedProvider('Clear the API key of');
    if (!picked) return;
    await keys.delete(picked.provider);
    void vscode.window.showInformationMessage(`${picked.label} API key removed from secret storage.`);
  });

  // The org admin key reads usage and cost reports (micro-agent usage, the Providers tab); it never calls a model.
  register('devAi.setAdminKey', async () => {
    const picked = await vscode.window.showQuickPick(
      ADMIN_KEYED_PROVIDERS.map((p) => ({ label: p.label, description: p.variable, entry: p })),
      { title: 'Set the organization admin key of…' },
    );
    if (!picked) return;
    const { label, provider, variable } = picked.entry;
    const key = await vscode.window.showInputBox({
      title: `${label} admin key (empty to remove)`,
      prompt:
        `For the org's usage and cost reports. Stored in VS Code's secret storage, passed to the micro-agent host as ${variable}; ` +
        `never in settings, logs or a test's environment.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() === '' || value.trim().length >= 8 ? undefined : 'That does not look like an admin key'),
    });
    if (key === undefined) return;
    await keys.storeAdmin(provider, key.trim());
    void vscode.window.showInformationMessage(key.trim() ? `${label} admin key saved.` : `${label} admin key removed.`);
  });

  register('devAi.setAlertWebhook', async () => {
    const url = await vscode.window.showInputBox({
      title: 'Alert webhook URL (empty to remove)',
      prompt: 'Each dev-ai alert is POSTed there as { text, alert } (a Slack incoming webhook works). Kept in secret storage, never in settings or logs.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() === '' || /^https?:\/\/\S+$/.test(value.trim()) ? undefined : 'An http(s) URL, or empty to remove it'),
    });
    if (url === undefined) return;
    await keys.storeWebhook(url.trim());
    void vscode.window.showInformationMessage(url.trim() ? 'Alert webhook saved.' : 'Alert webhook removed.');
  });

  // The dashboard page of the live API, signed in by a one-time code: for a second screen or a teammate's view
  // of this machine's agents, without VS Code in between.
  register('devAi.openApiDashboard', async () => {
    const client = await host.get();
    const status = await client.sendRequest(ApiStatusRequest.type);
    if (!status) {
      const choice = await vscode.window.showInformationMessage(
        'The live API is off. Turn on devAi.api.enabled to serve the dashboard to a browser.',
        'Open Settings',
      );
      if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', 'devAi.api');
      return;
    }
    if (vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName) {
      if (!(await vscode.env.openExternal(vscode.Uri.parse(status.dashboardUrl)))) throw new UserError(`Could not open a browser; the API is at ${status.url}`);
      return;
    }
    // A web or remote window would route a loopback link through the editor's port forwarding, under another
    // Host, which the API refuses (its DNS-rebinding guard). The link works on the machine running the host.
    const choice = await vscode.window.showInformationMessage(
      `The live API listens on ${status.url} on the machine running the agent host. ` +
        'Open the dashboard link in a browser there, or through a port forwarded to the same port number; it signs in once, within 10 minutes.',
      'Copy Link',
    );
    if (choice) await vscode.env.clipboard.writeText(status.dashboardUrl);
  });

  register('devAi.showLog', () => log.show());
  register('devAi.restartHost', () => host.restart('requested by the user'));
  register('devAi.openView', () => vscode.commands.executeCommand('workbench.view.extension.devAi'));
}

async function pickKeyedProvider(title: string): Promise<(typeof KEYED_PROVIDERS)[number] | undefined> {
  const picked = await vscode.window.showQuickPick(
    KEYED_PROVIDERS.map((p) => ({ label: p.label, description: p.variable, entry: p })),
    { title: `${title}…` },
  );
  return picked?.entry;
}
