/**
 * Upstream servers for the HTTP/2 upstream tests: a node:http2 h2c server that records every
 * stream (headers as received, body, trailers) and its sessions, and a server that speaks
 * HTTP/1.1 or h2c on one port (by the first bytes), as a `use_downstream_protocol_config`
 * cluster's endpoint must. Not a test file.
 */
import http from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { TestLike } from './harness.js';

export interface H2UpStream {
  readonly index: number;
  readonly headers: IncomingHttpHeaders;
  /** The raw header list as received (name, value, name, value, ...). */
  readonly rawHeaders: string[];
  /** The request body received so far. */
  readonly body: Buffer;
  /** Its length. */
  bytes: number;
  trailers: IncomingHttpHeaders | undefined;
  /** The request ended (END_STREAM). */
  ended: boolean;
  readonly session: number;
}

export interface H2Upstream {
  readonly port: number;
  readonly streams: H2UpStream[];
  /** Sessions opened by clients. */
  sessions: number;
  /** Requests over HTTP/1.1 (the dual server only). */
  readonly h1Requests: http.IncomingMessage[];
}

export type H2StreamHandler = (stream: ServerHttp2Stream, rec: H2UpStream) => void;

/** Answers 200 with `body`, header `x-up: h2`. */
export const h2Ok =
  (body = 'ok'): H2StreamHandler =>
  (stream) => {
    stream.respond({ ':status': 200, 'x-up': 'h2' });
    stream.end(body);
  };

/** An h2c server on 127.0.0.1:0 (or an HTTP/1.1-or-h2c one with `dual`), closed at teardown. */
export async function startH2Upstream(t: TestLike, handler: H2StreamHandler = h2Ok(), dual = false): Promise<H2Upstream> {
  const up = { port: 0, streams: [] as H2UpStream[], sessions: 0, h1Requests: [] as http.IncomingMessage[] };
  const h2 = http2.createServer();
  const sockets = new Set<net.Socket>();
  h2.on('session', (s) => {
    const id = up.sessions++;
    (s as unknown as { testId: number }).testId = id;
    s.on('error', () => {});
  });
  h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    const chunks: Buffer[] = [];
    const rec: H2UpStream = {
      index: up.streams.length,
      headers,
      rawHeaders,
      get body() {
        return Buffer.concat(chunks);
      },
      bytes: 0,
      trailers: undefined,
      ended: false,
      session: (stream.session as unknown as { testId: number }).testId,
    };
    up.streams.push(rec);
    stream.on('error', () => {});
    stream.on('data', (d: Buffer) => {
      chunks.push(d);
      rec.bytes += d.length;
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => (rec.trailers = h));
    stream.on('end', () => (rec.ended = true));
    handler(stream, rec);
  });
  const h1 = http.createServer((req, res) => {
    up.h1Requests.push(req);
    req.resume();
    req.on('end', () => {
      res.setHeader('x-up', 'h1');
      res.end('ok');
    });
  });
  // The h2c server on a port of its own; the dual server hands h2 connections to it byte for byte
  // (node's HTTP/2 session reads the socket's handle, so bytes already read cannot be put back).
  const inner = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    h2.emit('connection', sock);
  });
  await new Promise<void>((r) => inner.listen(0, '127.0.0.1', r));
  const innerPort = (inner.address() as net.AddressInfo).port;
  const server = !dual
    ? inner
    : net.createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
        sock.once('data', (d: Buffer) => {
          if (d.toString('latin1', 0, 3) !== 'PRI') {
            sock.pause();
            sock.unshift(d);
            h1.emit('connection', sock);
            sock.resume();
            return;
          }
          const c = net.connect(innerPort, '127.0.0.1');
          sockets.add(c);
          c.on('error', () => sock.destroy());
          c.on('close', () => sock.destroy());
          sock.on('close', () => c.destroy());
          c.write(d);
          sock.pipe(c);
          c.pipe(sock);
        });
      });
  if (dual) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.port = (server.address() as net.AddressInfo).port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (dual) server.close();
        inner.close(() => resolve());
      }),
  );
  return up;
}

/** The Envoy cluster fields that make a cluster speak HTTP/2 upstream (or follow the client with `downstream`). */
const HPO = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export function h2ClusterExtra(mode: 'http2' | 'downstream', h2: Record<string, unknown> = {}): Record<string, unknown> {
  const opts =
    mode === 'http2' ? { explicit_http_config: { http2_protocol_options: h2 } } : { use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: h2 } };
  return { typed_extension_protocol_options: { [HPO]: { '@type': `type.googleapis.com/${HPO}`, ...opts } } };
}

/** Waits until `cond` holds (polling), or throws after `ms`. */
export async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
