/**
 * The API edge's entry: starting the live API beside an engine, for `micro-agent serve` and for the agent host
 * (`devAi.api.enabled`). Another edge imports the API through this module only (eslint.config.mjs).
 */
import * as fs from 'node:fs';
import type { Engine } from '../engine/engine';
import type { ApiInfo } from '../protocol/api';
import { ensureStateDir, statePaths } from '../foundation/workspace';
import { ApiServer } from './server';
import { TokenStore, writePrivate } from './tokens';

/** What `micro-agent serve` and `micro-agent token rotate` need besides: the CLI reaches the API through this module only. */
export { LOOPBACK_HOSTS } from './auth';
export { rotateTokens, writePrivate } from './tokens';

export interface RunningApi {
  url: string;
  /** Opens the dashboard in a browser, signed in; each call mints a code that works once, for 10 minutes. */
  dashboardUrl(): string;
  info: ApiInfo;
  infoFile: string;
  close(): Promise<void>;
}

export interface StartApiOptions {
  engine: Engine;
  port: number;
  host: string;
  /** dist/webview: the dashboard page's files. */
  pageDir?: string;
  log?: (message: string) => void;
}

/**
 * Listens, then writes `<workspace>/.micro-agent/api.json` (0600) `{ url, token, readToken, pid }` for
 * scripts on this machine; removes it again on close.
 */
export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  ensureStateDir(options.engine.root);
  const paths = statePaths(options.engine.root);
  // The tokens are secrets like the keys: redacted from the log and prompts, kept from code under test.
  const tokens = new TokenStore(paths.apiTokens, ({ full, read }) => options.engine.log.setSecrets([full, read], 'api'));
  const server = new ApiServer({ engine: options.engine, tokens, pageDir: options.pageDir, log: options.log });
  const url = await server.listen(options.port, options.host);
  const { full, read } = tokens.current();
  const info: ApiInfo = { url, token: full, readToken: read, pid: process.pid };
  const infoFile = paths.apiInfo;
  writePrivate(infoFile, JSON.stringify(info, null, 2) + '\n');
  return {
    url,
    dashboardUrl: () => `${url}/#code=${server.mintLoginCode()}`,
    info,
    infoFile,
    async close() {
      await server.close();
      try {
        const current = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as ApiInfo;
        if (current.pid === process.pid) fs.rmSync(infoFile);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * The host's API, following `devAi.api.enabled` and `devAi.api.port` as they change: started, stopped, or
 * restarted on a new port. Changes are applied one at a time, in order, so quick toggles cannot leave two
 * servers or a stale api.json behind.
 */
export class ApiSwitch {
  private running: { port: number; api: RunningApi } | undefined;
  private queue = Promise.resolve();

  constructor(
    private readonly start: (port: number) => Promise<RunningApi>,
    private readonly report: (level: 'info' | 'error', message: string) => void,
  ) {}

  /** The running API once the changes asked for so far took effect. */
  async current(): Promise<RunningApi | undefined> {
    await this.queue;
    return this.running?.api;
  }

  /** `port` undefined: off. Resolves once this change (and those before it) took effect. */
  apply(port: number | undefined): Promise<void> {
    this.queue = this.queue.then(() => this.switchTo(port)).catch((err: Error) => this.report('error', `micro-agent: the live API: ${err.message}`));
    return this.queue;
  }

  private async switchTo(port: number | undefined): Promise<void> {
    // Port 0 means "any", so whatever port the running server got already satisfies it.
    if (this.running && port !== undefined && (port === 0 || port === this.running.port)) return;
    if (!this.running && port === undefined) return;
    if (this.running) {
      const { api } = this.running;
      this.running = undefined;
      await api.close();
      this.report('info', `micro-agent: live API at ${api.url} stopped`);
    }
    if (port === undefined) return;
    try {
      const api = await this.start(port);
      this.running = { port, api };
      this.report('info', `micro-agent: live API listening ${api.url}; tokens in ${api.infoFile}`);
    } catch (err) {
      this.report('error', `micro-agent: the live API could not listen on 127.0.0.1:${port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
