/**
 * The MCP SDK and zod, for `mcp.ts`: only `micro-agent mcp` needs them (~800 KB bundled), so the product build
 * makes this its own file, loaded when `mcp.ts` is (see LAZY in esbuild.mjs). One module for both, so the schemas
 * `mcp.ts` writes are made by the same zod the SDK reads them with.
 */
export { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
export { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
export { z } from 'zod';
