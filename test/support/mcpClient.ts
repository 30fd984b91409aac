/** `micro-agent mcp` as an MCP client (Claude Code, Cline, VS Code) runs it, for the tests. */
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { DIST, TEST_COMMAND } from './fixtures';

export interface McpProcess {
  client: Client;
  transport: StdioClientTransport;
  stderr(): string;
  /** Anything on the server's stdout that is not a JSON-RPC message surfaces here. */
  protocolErrors: Error[];
}

/** `micro-agent mcp` on `root`, connected as an MCP client (Claude Code, Cline, VS Code) runs it. */
export async function connectMcp(root: string, env: Record<string, string>): Promise<McpProcess> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(DIST, 'cli.js'), 'mcp', '--workspace', root, '-t', TEST_COMMAND],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const client = new Client({ name: 'dev-ai-test', version: '1.0.0' });
  const protocolErrors: Error[] = [];
  client.onerror = (err) => protocolErrors.push(err);
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, protocolErrors };
}
