/** Starting the live API beside an engine, for `micro-agent serve` and for the agent host (`devAi.api.enabled`). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../agent/workspace';
import type { Engine } from '../engine';
import type { ApiInfo } from '../protocol';
import { ApiServer } from './server';
import { TokenStore, tokensFile, writePrivate } from './tokens';

export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

export interface RunningApi {
  url: string;
  /** Opens the dashboard in a browser, signed in; the code in it works once, for 10 minutes. */
  dashboardUrl: string;
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
  const dir = stateDir(options.engine.root);
  const tokens = new TokenStore(tokensFile(dir));
  const server = new ApiServer({ engine: options.engine, tokens, pageDir: options.pageDir, log: options.log });
  const url = await server.listen(options.port, options.host);
  const { full, read } = tokens.current();
  const info: ApiInfo = { url, token: full, readToken: read, pid: process.pid };
  const infoFile = path.join(dir, 'api.json');
  writePrivate(infoFile, JSON.stringify(info, null, 2) + '\n');
  return {
    url,
    dashboardUrl: `${url}/#code=${server.mintLoginCode()}`,
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
