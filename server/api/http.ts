/** Plain HTTP for the live API: JSON in and out, bounded bodies, and the error every refusal becomes. */
import type * as http from 'node:http';
import type { ApiErrorBody } from '../protocol/api';

export const MAX_BODY_BYTES = 64 * 1024;

/** An answer with a status, for the client to read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, status: number, message: string, extra: { code?: number; files?: string[] } = {}): void {
  const body: ApiErrorBody = { error: { status, message, ...extra } };
  sendJson(res, status, body, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
}

/** The body as JSON, refused (413) past MAX_BODY_BYTES without reading the rest. */
export async function readJson(req: http.IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new ApiError(415, 'send JSON with content-type: application/json');
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw new ApiError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
}
