/**
 * MCP over stdio with a bound on each message. The SDK's own `StdioServerTransport` closes itself when a line
 * grows past its buffer (10 MB), which ended `micro-agent mcp` with exit 0, nothing said, and a run in flight
 * cancelled. This transport reads lines the same way but never holds more than `MAX_MCP_MESSAGE_BYTES` of one:
 * a longer line is skipped to its end, answered with a JSON-RPC error (to its request id when the line's first
 * or last bytes show it), said on stderr, and the server goes on serving. One bad message costs one request.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { JSONRPCMessageSchema } from './mcpSdk';

/** The largest message read: a tool call's arguments are far smaller (a prompt is at most 100,000 characters). */
export const MAX_MCP_MESSAGE_BYTES = 4 * 1024 * 1024;

/** JSON-RPC's "Invalid Request": the message was not taken. */
const INVALID_REQUEST = -32600;
/** Bytes kept from each end of a skipped line, to find its request id. */
const EDGE_BYTES = 512;

/** A request id at the start (`{"jsonrpc":"2.0","id":…`) or the end (`…,"id":…}`, as the SDK's clients write it) of a line. */
const ID_FIRST = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")/;
const ID_LAST = /"id"\s*:\s*(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")\s*\}\s*$/;

export class BoundedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Set while skipping a line over the bound: its size so far and its first and last bytes. */
  private skipping: { size: number; head: Buffer; tail: Buffer } | undefined;
  private closed = false;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
    private readonly say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly maxBytes = MAX_MCP_MESSAGE_BYTES,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('error', this.onStreamError);
    // The client went away mid-write (EPIPE): that ends the session, as closing stdin does, never the process.
    this.output.on('error', this.onStreamError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      if (this.output.write(JSON.stringify(message) + '\n')) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('error', this.onStreamError);
    this.output.off('error', this.onStreamError);
    this.chunks = [];
    this.onclose?.();
  }

  private readonly onStreamError = (error: Error) => {
    this.onerror?.(error);
    void this.close();
  };

  private readonly onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
      this.take(bytes.subarray(start, newline));
      this.endLine();
      start = newline + 1;
    }
    this.take(bytes.subarray(start));
  };

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipping) {
      this.skipping.size += piece.length;
      this.skipping.tail = Buffer.concat([this.skipping.tail, piece]).subarray(-EDGE_BYTES);
      return;
    }
    if (this.size + piece.length <= this.maxBytes) {
      this.chunks.push(piece);
      this.size += piece.length;
      return;
    }
    const held = Buffer.concat([...this.chunks, piece]);
    this.skipping = { size: held.length, head: held.subarray(0, EDGE_BYTES), tail: held.subarray(-EDGE_BYTES) };
    this.chunks = [];
    this.size = 0;
  }

  private endLine(): void {
    const skipped = this.skipping;
    this.skipping = undefined;
    if (skipped) return this.refuse(skipped);
    const line = Buffer.concat(this.chunks).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.size = 0;
    if (!line.trim()) return;
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(line));
    } catch (err) {
      // As the SDK's transport does: a line that is no JSON-RPC message is reported, and reading goes on.
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.onmessage?.(message);
  }

  private refuse({ size, head, tail }: { size: number; head: Buffer; tail: Buffer }): void {
    const found = ID_FIRST.exec(head.toString('utf8')) ?? ID_LAST.exec(tail.toString('utf8'));
    const id = found ? (JSON.parse(found[1]) as string | number) : undefined;
    const limit = `${this.maxBytes / 1024 / 1024} MB`;
    const message = `message of ${size.toLocaleString('en-US')} bytes refused: micro-agent reads MCP messages of up to ${limit}`;
    this.say(`micro-agent: MCP: ${message}${id === undefined ? '' : ` (request ${id})`}; still serving`);
    void this.send({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), error: { code: INVALID_REQUEST, message } });
  }
}
