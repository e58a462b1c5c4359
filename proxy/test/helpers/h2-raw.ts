/**
 * A raw HTTP/2 client for hostile-input tests: it writes exact frames (the preface,
 * SETTINGS, HEADERS with a literal HPACK block, DATA, RST_STREAM) on a plain socket and
 * reads back the frames the server sends, so a test can break the protocol on purpose
 * and see the RST_STREAM or GOAWAY it gets. Not a test file.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestLike } from './harness.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A header block of literal fields without indexing, no Huffman (RFC 7541 6.2.2). */
export function hpack(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of headers) {
    parts.push(Buffer.from([0x00]), hpackInt(n.length, 7, 0), Buffer.from(n, 'latin1'), hpackInt(v.length, 7, 0), Buffer.from(v, 'latin1'));
  }
  return Buffer.concat(parts);
}

export function headersFrame(stream: number, headers: readonly (readonly [string, string])[], endStream: boolean): Buffer {
  return frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), stream, hpack(headers));
}

export function rstFrame(stream: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, p);
}

export function getRequest(authority: string, path = '/'): [string, string][] {
  return [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
  ];
}

export interface RawH2 {
  readonly socket: net.Socket;
  readonly frames: Frame[];
  closed: boolean;
  write(b: Buffer): void;
  /** Waits until `pred` holds for a received frame (or the connection closed, or the timeout): the frame or undefined. */
  waitFrame(pred: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame | undefined>;
}

/** Connects, sends the preface and an empty SETTINGS, acknowledges the server's SETTINGS. */
export async function rawH2(t: TestLike, port: number): Promise<RawH2> {
  const socket = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const c: RawH2 = {
    socket,
    frames: [],
    closed: false,
    write: (b) => void socket.write(b),
    waitFrame: async (pred, timeoutMs = 2000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const f = c.frames.find(pred);
        if (f !== undefined) return f;
        if (c.closed || Date.now() > deadline) return undefined;
        await sleep(5);
      }
    },
  };
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const f: Frame = { type: buf[3], flags: buf[4], stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
      buf = buf.subarray(9 + len);
      c.frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    }
  });
  socket.on('close', () => (c.closed = true));
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  return c;
}

/** The error code of a RST_STREAM or GOAWAY frame. */
export function errorCode(f: Frame): number {
  return f.type === FRAME.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}
