/**
 * Upstreams for the proxy's behaviour tests: raw `net` servers that record the exact bytes
 * they receive and answer (or fail) as each test says. Not a test file.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestLike } from './test-like.js';

// ---------------------------------------------------------------------------------------
// Upstreams

export interface UpConn {
  readonly id: number;
  readonly socket: net.Socket;
  /** Every byte received on this connection. */
  data: Buffer;
  /** Closed (by either side). */
  closed: boolean;
  /** Requests parsed on this connection. */
  requests: UpRequest[];
}

export interface UpRequest {
  method: string;
  path: string;
  version: string;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Header names as received, in order (lower case). */
  headerNames: string[];
  body: Buffer;
  /** The request's exact bytes (head and body framing). */
  raw: Buffer;
  /** 0-based index of this request on this upstream. */
  index: number;
  conn: UpConn;
  /** When the request was complete (performance.now()). */
  at: number;
}

export interface UpResponder {
  readonly socket: net.Socket;
  /** Writes a whole response with content-length (unless headers give framing). */
  send(status: number, headers?: Record<string, string>, body?: string | Buffer): void;
}

export type UpHandler = (req: UpRequest, res: UpResponder) => void;

export interface Upstream {
  readonly port: number;
  readonly requests: UpRequest[];
  readonly connections: UpConn[];
  /** Every byte received, all connections. */
  received(): Buffer;
  /** Replaces the behaviour. */
  handler: UpHandler;
}

const REASONS: Record<number, string> = { 200: 'OK', 409: 'Conflict', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** A raw HTTP/1.1 upstream on 127.0.0.1:0, closed at teardown. */
export async function startUpstream(t: TestLike, handler: UpHandler = ok()): Promise<Upstream> {
  const connections: UpConn[] = [];
  const requests: UpRequest[] = [];
  let nextConn = 0;
  const up: Upstream = {
    port: 0,
    requests,
    connections,
    received: () => Buffer.concat(connections.map((c) => c.data)),
    handler,
  };
  const server = net.createServer((socket) => {
    const conn: UpConn = { id: nextConn++, socket, data: Buffer.alloc(0), closed: false, requests: [] };
    connections.push(conn);
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.closed = true;
    });
    socket.on('data', (d: Buffer) => {
      conn.data = Buffer.concat([conn.data, d]);
      pending = Buffer.concat([pending, d]);
      for (;;) {
        const parsed = parseRequest(pending);
        if (parsed === undefined) return;
        pending = pending.subarray(parsed.length);
        const req: UpRequest = { ...parsed.req, index: requests.length, conn, at: performance.now() };
        requests.push(req);
        conn.requests.push(req);
        const res: UpResponder = {
          socket,
          send(status, headers = {}, body = '') {
            let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n`;
            const lower = Object.keys(headers).map((k) => k.toLowerCase());
            for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
            if (!lower.includes('content-length') && !lower.includes('transfer-encoding')) head += `content-length: ${Buffer.byteLength(body)}\r\n`;
            if (!socket.destroyed) socket.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), Buffer.from(body)]));
          },
        };
        up.handler(req, res);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (up as { port: number }).port = (server.address() as net.AddressInfo).port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  );
  return up;
}

/** Parses one complete request at the start of `buf`, or undefined if incomplete. */
function parseRequest(buf: Buffer): { req: Omit<UpRequest, 'index' | 'conn' | 'at'>; length: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const [method, path, version] = lines[0].split(' ');
  const headers: Record<string, string> = {};
  const headerNames: string[] = [];
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const n = l.slice(0, i).toLowerCase();
    const v = l.slice(i + 1).trim();
    headerNames.push(n);
    headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`;
  }
  let pos = end + 4;
  let body: Buffer;
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol === -1) return undefined;
      const size = parseInt(buf.toString('latin1', pos, eol).split(';')[0], 16);
      pos = eol + 2;
      if (size === 0) {
        // trailers, then the final CRLF
        for (;;) {
          const e = buf.indexOf('\r\n', pos);
          if (e === -1) return undefined;
          const empty = e === pos;
          pos = e + 2;
          if (empty) break;
        }
        break;
      }
      if (buf.length < pos + size + 2) return undefined;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const cl = Number(headers['content-length'] ?? '0');
    if (buf.length < pos + cl) return undefined;
    body = Buffer.from(buf.subarray(pos, pos + cl));
    pos += cl;
  }
  return { req: { method, path, version, headers, headerNames, body, raw: Buffer.from(buf.subarray(0, pos)) }, length: pos };
}

// Behaviours

/** Answers 200 with `body` (and headers), after `delayMs` if given. */
export function ok(body = 'ok', headers: Record<string, string> = {}, delayMs = 0): UpHandler {
  return (_req, res) => {
    if (delayMs > 0) setTimeout(() => res.send(200, headers, body), delayMs);
    else res.send(200, headers, body);
  };
}

/** Answers `status` with `body`. */
export function status(code: number, body = '', headers: Record<string, string> = {}): UpHandler {
  return (_req, res) => res.send(code, headers, body);
}

/** Resets the connection (RST) when the request arrives. */
export const reset: UpHandler = (_req, res) => {
  res.socket.resetAndDestroy();
};

/** Never answers. */
export const hang: UpHandler = () => {};

/** Closes the connection (FIN) before sending any response byte. */
export const closeBeforeHeaders: UpHandler = (_req, res) => {
  res.socket.end();
};

/** Sends a malformed status line. */
export const badStatusLine: UpHandler = (_req, res) => {
  res.socket.write('HTTP/1.1 2OO OK\r\ncontent-length: 0\r\n\r\n');
};

/** Fails with `fail` for the first `n` requests, then behaves as `then`. */
export function failFirst(n: number, fail: UpHandler, then: UpHandler = ok()): UpHandler {
  return (req, res) => (req.index < n ? fail(req, res) : then(req, res));
}

/** Answers 200 echoing the request: its body, and what it received as JSON headers. */
export const echo: UpHandler = (req, res) => res.send(200, { 'content-type': 'application/octet-stream' }, req.body);

/**
 * A port nothing listens on, for "connection refused". It is picked below the kernel's
 * ephemeral range (32768 and up), which is where listen(0) and outgoing connections take
 * their ports: a port freed there could be handed to another test's server or proxy before
 * the test connects to it.
 */
export async function closedPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const s = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  }
}
