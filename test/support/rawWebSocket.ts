/**
 * A WebSocket client at the byte level, over a plain TCP socket: it upgrades like a browser, then sends
 * whatever bytes a test wants (unmasked frames, lying lengths) and reads back the server's close frame.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';

export interface RawSocket {
  send(bytes: Buffer): void;
  /** Resolves with the close code the server sent (null if it just dropped the connection). */
  closed: Promise<number | null>;
  destroy(): void;
}

export async function rawUpgrade(baseUrl: string, token: string): Promise<RawSocket> {
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    [
      'GET /v1/ws HTTP/1.1',
      `Host: ${url.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Protocol: micro-agent.v1, ${token}`,
      '',
      '',
    ].join('\r\n'),
  );
  let received = Buffer.alloc(0);
  let upgraded: () => void;
  const ready = new Promise<void>((resolve) => (upgraded = resolve));
  const closed = new Promise<number | null>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headerEnd = received.indexOf('\r\n\r\n');
      if (headerEnd !== -1 && received.subarray(0, 12).toString() === 'HTTP/1.1 101') upgraded();
      const code = closeCode(headerEnd === -1 ? Buffer.alloc(0) : received.subarray(headerEnd + 4));
      if (code !== undefined) resolve(code);
    });
    socket.on('close', () => resolve(null));
  });
  await Promise.race([ready, closed.then(() => Promise.reject(new Error(`upgrade refused: ${received.toString().split('\r\n')[0]}`)))]);
  return { send: (bytes) => socket.write(bytes), closed, destroy: () => socket.destroy() };
}

/** Walks the server's (unmasked) frames and returns the close frame's code, if one arrived whole. */
function closeCode(frames: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = frames[at] & 0x0f;
    let length = frames[at + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > frames.length) return undefined;
      length = frames.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (at + 10 > frames.length) return undefined;
      length = Number(frames.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (at + header + length > frames.length) return undefined;
    if (opcode === 0x8) return length >= 2 ? frames.readUInt16BE(at + header) : 1005;
    at += header + length;
  }
  return undefined;
}

/** A client frame as the protocol wants it (FIN, text, masked), with any payload length. */
export function maskedTextFrame(payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x81, 0x80 | length]) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126 && length < 65536) {
    header[0] = 0x81;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else if (length >= 65536) {
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}

/** Only the header of a masked text frame that claims `length` bytes (which never follow). */
export function lyingFrameHeader(length: number): Buffer {
  const header = Buffer.alloc(14);
  header[0] = 0x81;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  randomBytes(4).copy(header, 10);
  return header;
}
