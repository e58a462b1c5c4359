/**
 * Test harness for the proxy's behaviour tests: everything runs on real sockets on
 * loopback. A bootstrap is built from a small options object, written to a temp dir and
 * started in-process with `startProxy`; upstreams are raw `net` servers that record the
 * exact bytes they receive and answer (or fail) as each test says; clients are
 * `node:http` requests or raw sockets that send exact bytes.
 *
 * Not a test file (tap only runs `*.test.js`).
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProxy, type RunningProxy } from '../../src/main.js';
import { log } from '../../src/log.js';

log.level = 'warn';

/** The part of tap's Test this harness uses (keeps the harness free of tap's types). */
export interface TestLike {
  teardown(fn: () => unknown): void;
}

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'minimesh-test-'));
}

// ---------------------------------------------------------------------------------------
// Bootstrap

export interface ClusterSpec {
  /** Endpoint ports on 127.0.0.1 (or full addresses). */
  endpoints: (number | { address: string; port: number })[];
  /** Default 0.25s. */
  connect_timeout?: string;
  /** More Envoy Cluster fields (lb_policy, per_connection_buffer_limit_bytes, ...). */
  extra?: Record<string, unknown>;
}

export interface ProxySpec {
  /** Envoy virtual_hosts (JSON form). Default: one vhost `*` with `routes`. */
  virtualHosts?: unknown[];
  /** Routes of the default `*` virtual host. */
  routes?: unknown[];
  /** Cluster name -> endpoint ports, or a full spec. */
  clusters?: Record<string, number[] | ClusterSpec>;
  /** More HttpConnectionManager fields (use_remote_address, server_name, ...). */
  hcm?: Record<string, unknown>;
  /** Route configuration level fields (request_headers_to_add, ...). */
  routeConfig?: Record<string, unknown>;
  /** Access log to a file in the temp dir (default true). */
  accessLog?: boolean;
  /** Start the health server on a free port. */
  health?: boolean;
  drainTimeMs?: number;
  /** The bootstrap's node (default: a sidecar `test.default`). */
  node?: Record<string, unknown>;
  /** More Listener fields (traffic_direction, ...). */
  listener?: Record<string, unknown>;
}

/** A route to a cluster: `route('/a', 'a', { timeout: '1s' })`. */
export function route(prefix: string, cluster: string, action: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { match: { prefix }, route: { cluster, timeout: '2s', ...action }, ...extra };
}

/** Builds the bootstrap as an object (JSON is YAML, so it is written as is). */
export function buildBootstrap(spec: ProxySpec, accessLogPath: string | undefined, listenerPort = 0, adminPort = 0): Record<string, unknown> {
  const virtual_hosts = spec.virtualHosts ?? [{ name: 'default', domains: ['*'], routes: spec.routes ?? [] }];
  const hcm: Record<string, unknown> = {
    '@type': HCM_TYPE,
    stat_prefix: 'test',
    route_config: { name: 'test_routes', virtual_hosts, ...spec.routeConfig },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    ...spec.hcm,
  };
  if (accessLogPath !== undefined) {
    hcm.access_log = [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path: accessLogPath } }];
  }
  const clusters = Object.entries(spec.clusters ?? {}).map(([name, c]) => {
    const cs: ClusterSpec = Array.isArray(c) ? { endpoints: c } : c;
    return {
      name,
      type: 'STATIC',
      connect_timeout: cs.connect_timeout ?? '0.25s',
      lb_policy: 'ROUND_ROBIN',
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: cs.endpoints.map((e) => {
              const a = typeof e === 'number' ? { address: '127.0.0.1', port: e } : e;
              return { endpoint: { address: { socket_address: { address: a.address, port_value: a.port } } } };
            }),
          },
        ],
      },
      ...cs.extra,
    };
  });
  return {
    node: spec.node ?? { id: 'sidecar~127.0.0.1~test.default~default.svc.cluster.local', cluster: 'test' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'listener_test',
          address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
          ...spec.listener,
        },
      ],
      clusters,
    },
  };
}

/** Writes a bootstrap to a temp dir and returns its path. */
export function writeBootstrap(dir: string, bootstrap: unknown, name = 'bootstrap.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, typeof bootstrap === 'string' ? bootstrap : JSON.stringify(bootstrap, null, 2));
  return file;
}

/** One line of the default JSON access log. */
export interface AccessLine {
  method: string;
  path: string;
  response_code: number;
  response_flags: string;
  response_code_details: string;
  upstream_service_time: string;
  upstream_host: string;
  upstream_cluster: string;
  request_id: string;
  [k: string]: unknown;
}

export interface TestProxy {
  readonly running: RunningProxy;
  readonly port: number;
  readonly adminPort: number;
  readonly healthPort: number | undefined;
  readonly dir: string;
  /** Waits until the access log has at least `n` lines and returns them all. */
  accessLog(n?: number, timeoutMs?: number): Promise<AccessLine[]>;
  request(opts?: RequestOpts): Promise<Resp>;
  raw(bytes: string | Buffer, opts?: RawOpts): Promise<RawResult>;
}

/** Starts a proxy on the spec; stopped (drained) at teardown. */
export async function startTestProxy(t: TestLike, spec: ProxySpec): Promise<TestProxy> {
  const dir = tempDir();
  const logPath = spec.accessLog === false ? undefined : join(dir, 'access.log');
  const file = writeBootstrap(dir, buildBootstrap(spec, logPath));
  const running = await startProxy({ bootstrap: file, healthPort: spec.health ? 0 : undefined, healthAddress: '127.0.0.1', drainTimeMs: spec.drainTimeMs ?? 200 });
  t.teardown(() => running.stop());
  const port = running.proxy.listeners.values().next().value!.port;
  return {
    running,
    port,
    adminPort: running.adminPort!,
    healthPort: running.healthPort,
    dir,
    accessLog: async (n = 1, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = logPath !== undefined && existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
        const lines = text.split('\n').filter((l) => l !== '');
        if (lines.length >= n || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as AccessLine);
        await sleep(20);
      }
    },
    request: (opts) => request(port, opts),
    raw: (bytes, opts) => rawExchange(t, port, bytes, opts),
  };
}

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

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------
// Clients

export interface RequestOpts {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names as received, lower case. */
  headerNames: string[];
  body: string;
}

/** One HTTP request with node:http (no keep-alive unless an agent is given). */
export function request(port: number, opts: RequestOpts = {}): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headerNames: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) headerNames.push(res.rawHeaders[i].toLowerCase());
        resolve({ status: res.statusCode!, headers: res.headers, headerNames, body: Buffer.concat(chunks).toString('latin1') });
      });
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface RawOpts {
  /** Stop reading when this is true of what was read (default: wait for close). */
  until?: (text: string) => boolean;
  /** Give up after this long (default 2000 ms); the result says `closed: false`. */
  timeoutMs?: number;
}

export interface RawResult {
  text: string;
  /** The proxy closed the connection. */
  closed: boolean;
}

/** Connects, writes exact bytes, reads until close / `until` / timeout. */
export function rawExchange(t: TestLike | undefined, port: number, bytes: string | Buffer, opts: RawOpts = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    t?.teardown(() => socket.destroy());
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 2000);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('connect', () => socket.write(bytes));
  });
}

/** A raw client socket to drive step by step. */
export interface RawClient {
  readonly socket: net.Socket;
  text: string;
  closed: Promise<void>;
  isClosed: boolean;
  write(b: string | Buffer): void;
  /** Waits until `pred(text)` (or rejects after `timeoutMs`). */
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<string>;
}

export async function rawClient(t: TestLike, port: number): Promise<RawClient> {
  const socket = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const c: RawClient = {
    socket,
    text: '',
    isClosed: false,
    closed: new Promise<void>((resolve) =>
      socket.on('close', () => {
        c.isClosed = true;
        resolve();
      }),
    ),
    write: (b) => void socket.write(b),
    waitFor: async (pred, timeoutMs = 2000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pred(c.text)) {
        if (Date.now() > deadline || c.isClosed) {
          if (pred(c.text)) break;
          throw new Error(`timed out waiting; read so far: ${JSON.stringify(c.text)}`);
        }
        await sleep(5);
      }
      return c.text;
    },
  };
  socket.on('data', (d: Buffer) => (c.text += d.toString('latin1')));
  return c;
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  headerNames: string[];
  body: string;
}

/** Parses consecutive HTTP/1.1 responses out of raw text (content-length, chunked, or to the end). */
export function parseResponses(text: string, headRequests = 0): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\r\n\r\n', pos);
    if (end === -1) break;
    const lines = text.slice(pos, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    const headerNames: string[] = [];
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const n = l.slice(0, i).toLowerCase();
      headerNames.push(n);
      headers[n] = l.slice(i + 1).trim();
    }
    pos = end + 4;
    let body = '';
    if (out.length < headRequests) {
      // HEAD: no body whatever the headers say
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const eol = text.indexOf('\r\n', pos);
        if (eol === -1) break;
        const size = parseInt(text.slice(pos, eol), 16);
        pos = eol + 2;
        if (size === 0) {
          pos += 2;
          break;
        }
        body += text.slice(pos, pos + size);
        pos += size + 2;
      }
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = text.slice(pos, pos + n);
      pos += n;
    } else {
      body = text.slice(pos);
      pos = text.length;
    }
    out.push({ status, headers, headerNames, body });
  }
  return out;
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export { sleep };

/**
 * An address whose connects hang (SYN dropped): a child process listens with backlog 1 and
 * blocks its event loop; the accept queue is filled first. Killed at teardown.
 */
export async function blackhole(t: TestLike): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);setTimeout(()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,30000),50)})"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => void child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  await sleep(100);
  const fillers: net.Socket[] = [];
  t.teardown(() => fillers.forEach((s) => s.destroy()));
  for (let i = 0; i < 16; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    const connected = await Promise.race([new Promise<boolean>((r) => s.once('connect', () => r(true))), sleep(150).then(() => false)]);
    if (!connected) return port;
  }
  throw new Error('could not fill the accept queue');
}
