/**
 * WebSocket over HTTP/2 (RFC 8441) for the tests: a node:http2 server that takes extended
 * CONNECT `:protocol websocket` and echoes WebSocket messages on the stream, an h2 client that
 * opens such a stream, and a `ws` echo server for HTTP/1.1. The WebSocket framing on an HTTP/2
 * stream is the `ws` library's own (its WebSocket runs on any duplex).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import crypto from 'node:crypto';
import type net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { TestLike } from './harness.js';

const MAX_PAYLOAD = 64 * 1024 * 1024;

/** The RFC 6455 accept value of a `sec-websocket-key`. */
export function acceptKey(key: string): string {
  return crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** A `ws` WebSocket running on a duplex (an HTTP/2 stream): `client` masks its frames. */
export function wsOnDuplex(stream: Duplex, client: boolean): WebSocket {
  const Ctor = WebSocket as unknown as new (address: null, protocols: undefined, options: object) => WebSocket;
  const ws = new Ctor(null, undefined, { autoPong: true });
  (ws as unknown as { _isServer: boolean })._isServer = !client;
  (ws as unknown as { setSocket(s: Duplex, head: Buffer, o: object): void }).setSocket(stream, Buffer.alloc(0), {
    maxPayload: MAX_PAYLOAD,
    skipUTF8Validation: false,
    allowSynchronousEvents: true,
  });
  return ws;
}

/** Echo behaviour shared by the servers: every message back as it came; `close-me` closes with 4001 'bye'. */
function echo(ws: WebSocket): void {
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!isBinary && data.toString() === 'close-me') ws.close(4001, 'bye');
    else ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
}

export interface H2WsServer {
  readonly port: number;
  /** The request headers of each extended CONNECT (pseudo-headers included). */
  readonly requests: IncomingHttpHeaders[];
}

/**
 * An HTTP/2 server taking WebSocket over extended CONNECT. `enableConnect` false: it does not
 * advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (nghttp2 then refuses `:protocol`). It answers
 * 200 with the accept value of the key it got (what a WebSocket server behind another hop
 * would have answered), then echoes; `refuseWith` > 0: it answers that status with a body instead.
 */
export async function startH2WsServer(t: TestLike, enableConnect = true, refuseWith = 0): Promise<H2WsServer> {
  const requests: IncomingHttpHeaders[] = [];
  const server = http2.createServer(enableConnect ? { settings: { enableConnectProtocol: true } } : {});
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {});
    requests.push(headers);
    if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
      stream.respond({ ':status': 400 }, { endStream: true });
      return;
    }
    if (refuseWith > 0) {
      stream.respond({ ':status': refuseWith, 'content-type': 'text/plain' });
      stream.end('no websocket here');
      return;
    }
    const key = headers['sec-websocket-key'];
    stream.respond({ ':status': 200, ...(typeof key === 'string' ? { 'sec-websocket-accept': acceptKey(key) } : {}) });
    echo(wsOnDuplex(stream, false));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, requests };
}

/** A `ws` echo server over HTTP/1.1; `headers` collects each handshake's request headers. */
export async function startWsEchoServer(t: TestLike): Promise<{ port: number; headers: Record<string, string | string[] | undefined>[] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_PAYLOAD });
  const headers: Record<string, string | string[] | undefined>[] = [];
  server.on('connection', (ws, req) => {
    headers.push(req.headers);
    echo(ws);
  });
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, headers };
}

/** An h2c session to `port`, after the server's SETTINGS arrived. */
export async function h2Session(t: TestLike, port: number): Promise<ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  await once(session, 'remoteSettings');
  return session;
}

export interface ExtendedConnect {
  readonly stream: ClientHttp2Stream;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

/** Sends an extended CONNECT `:protocol websocket` for `path` and waits for the response head. */
export async function extendedConnect(session: ClientHttp2Session, path = '/chat', key = crypto.randomBytes(16).toString('base64')): Promise<ExtendedConnect> {
  const stream = session.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'http',
    ':path': path,
    ':authority': 'ws.test',
    'sec-websocket-version': '13',
    'sec-websocket-key': key,
  });
  stream.on('error', () => {});
  const [headers] = (await Promise.race([
    once(stream, 'response'),
    once(stream, 'close').then(() => {
      throw new Error(`the stream closed without a response (RST_STREAM code ${stream.rstCode})`);
    }),
  ])) as [IncomingHttpHeaders];
  return { stream, status: Number(headers[':status']), headers };
}

/** The next message on `ws`, with whether it was binary. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: data as Buffer, isBinary })));
}

/** A `ws` client, open. */
export async function wsConnect(t: TestLike, port: number, path = '/chat'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { maxPayload: MAX_PAYLOAD });
  t.teardown(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** The assertions exerciseEcho makes (a tap Test has them). */
export interface Asserts {
  equal(a: unknown, b: unknown, m: string): unknown;
  ok(v: unknown, m: string): unknown;
  same(a: unknown, b: unknown, m: string): unknown;
}

/** Text, binary and a close code through `ws` (an echo server at the end): what every path must carry. */
export async function exerciseEcho(tt: Asserts, ws: WebSocket): Promise<void> {
  let m = nextMessage(ws);
  ws.send('hello over extended CONNECT');
  let got = await m;
  tt.equal(got.data.toString(), 'hello over extended CONNECT', 'text echoed');
  tt.ok(!got.isBinary, 'text stays text');
  const bin = Buffer.from([0, 1, 2, 127, 128, 254, 255]);
  m = nextMessage(ws);
  ws.send(bin, { binary: true });
  got = await m;
  tt.ok(got.isBinary, 'binary stays binary');
  tt.same([...got.data], [...bin], 'binary echoed');
  const big = crypto.randomBytes(300 * 1024);
  m = nextMessage(ws);
  ws.send(big, { binary: true });
  got = await m;
  tt.ok(got.data.equals(big), 'a 300 KiB message echoed whole');
  const closed = once(ws, 'close');
  ws.send('close-me');
  const [code, reason] = (await closed) as [number, Buffer];
  tt.equal(code, 4001, 'the close code came through');
  tt.equal(reason.toString(), 'bye', 'the close reason came through');
}
