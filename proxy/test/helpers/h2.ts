/**
 * Helpers for the HTTP/2 pool tests: real `node:http2` servers on loopback that record their
 * sessions and streams, and a request helper that collects what the pool's handlers hear.
 * Not a test file.
 */
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream, type Settings } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { H2RequestHead, H2RequestOptions, H2ResponseHeaders, H2UpstreamError, H2UpstreamPool, H2UpstreamStream } from '../../src/upstream/h2/index.js';
import type { TestLike } from './harness.js';

export interface H2TestServer {
  readonly port: number;
  readonly server: http2.Http2Server;
  /** Every session the server accepted, in order. */
  readonly sessions: Http2Session[];
  /** The TCP connections under the sessions, in order (to kill one abruptly). */
  readonly sockets: Socket[];
  /** Every request the server saw. */
  readonly requests: { headers: IncomingHttpHeaders; stream: ServerHttp2Stream; session: Http2Session }[];
}

export type H2Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, srv: H2TestServer) => void;

export async function startH2Server(t: TestLike, handler: H2Handler, settings: Settings = {}): Promise<H2TestServer> {
  const server = http2.createServer({ settings });
  const srv = { port: 0, server, sessions: [] as Http2Session[], sockets: [] as Socket[], requests: [] as H2TestServer['requests'] };
  server.on('connection', (sock: Socket) => srv.sockets.push(sock));
  server.on('session', (s) => {
    srv.sessions.push(s);
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    srv.requests.push({ headers, stream, session: stream.session! });
    handler(stream, headers, srv);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  srv.port = (server.address() as AddressInfo).port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of srv.sessions) s.destroy();
        server.close(() => resolve());
      }),
  );
  return srv;
}

/** Answers 200 with `body` (default: the path). */
export function reply(body?: string): H2Handler {
  return (stream, headers) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(body ?? String(headers[':path']));
  };
}

export interface H2Result {
  status: number;
  headers: H2ResponseHeaders;
  endStreamOnHeaders: boolean;
  informational: number[];
  body: Buffer;
  trailers: H2ResponseHeaders | undefined;
  error: H2UpstreamError | undefined;
  /** Which handler ended it: 'end' or 'error'; a second terminal call would be recorded as 'twice'. */
  ended: string;
}

export interface H2Call {
  readonly stream: H2UpstreamStream;
  readonly done: Promise<H2Result>;
  /** Resolves when response headers arrive. */
  readonly headers: Promise<void>;
  /** Drain notifications so far. */
  drains: number;
  onDrain?: () => void;
}

export function head(path: string, extra: [string, string][] = [], method = 'GET'): H2RequestHead {
  return { method, path, authority: 'upstream.test', scheme: 'http', headers: extra };
}

/** Sends a request through the pool and collects everything its handlers hear. */
export function call(pool: H2UpstreamPool, port: number, h: H2RequestHead, opts: H2RequestOptions = { endStream: true }): H2Call {
  const r: H2Result = { status: 0, headers: {}, endStreamOnHeaders: false, informational: [], body: Buffer.alloc(0), trailers: undefined, error: undefined, ended: '' };
  const chunks: Buffer[] = [];
  let resolveDone!: (x: H2Result) => void;
  let resolveHeaders!: () => void;
  const done = new Promise<H2Result>((res) => (resolveDone = res));
  const headers = new Promise<void>((res) => (resolveHeaders = res));
  const finish = (how: string) => {
    r.ended = r.ended ? 'twice' : how;
    r.body = Buffer.concat(chunks);
    resolveDone(r);
    resolveHeaders();
  };
  const c: { stream?: H2UpstreamStream; drains: number; onDrain?: () => void } = { drains: 0 };
  c.stream = pool.request({ address: '127.0.0.1', port }, h, {
    onHeaders: (status, hs, endStream) => {
      r.status = status;
      r.headers = hs;
      r.endStreamOnHeaders = endStream;
      resolveHeaders();
    },
    onInformational: (status) => r.informational.push(status),
    onData: (chunk) => chunks.push(chunk),
    onTrailers: (tr) => (r.trailers = tr),
    onEnd: () => finish('end'),
    onError: (e) => {
      r.error = e;
      finish('error');
    },
    onDrain: () => {
      c.drains++;
      c.onDrain?.();
    },
  }, opts);
  return Object.assign(c as H2Call, { done, headers });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond()` holds (polling), or fails after `ms`. */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
