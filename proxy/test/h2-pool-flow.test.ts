/**
 * The HTTP/2 upstream pool moving bodies: large bodies both ways, flow control with slow
 * readers on either side (the pool's buffers stay bounded by the windows), trailers both ways,
 * informational responses, cancellation, and the pool options a cluster config gives.
 */
import t from 'tap';
import crypto from 'node:crypto';
import http2, { type ServerHttp2Stream } from 'node:http2';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { H2UpstreamPool, h2PoolOptionsFromCluster } from '../src/upstream/h2/index.js';
import { call, head, sleep, startH2Server, until } from './helpers/h2.js';

const MiB = 1024 * 1024;

function newPool(t: { teardown(fn: () => unknown): void }, o: ConstructorParameters<typeof H2UpstreamPool>[0] = {}): H2UpstreamPool {
  const pool = new H2UpstreamPool(o);
  t.teardown(() => pool.destroy());
  return pool;
}

/** Writes `total` bytes of a repeating pattern to `w` honouring backpressure; `written` counts what was handed over. */
function pump(w: { write(b: Buffer): boolean }, total: number, onDrain: (fn: () => void) => void, end: () => void, progress: { written: number }): void {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const go = (): void => {
    while (progress.written < total) {
      const n = Math.min(chunk.length, total - progress.written);
      progress.written += n;
      if (!w.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return onDrain(go);
    }
    end();
  };
  go();
}

t.test('20 MiB each way: upload hashed by the server, download checked by the client', async (t) => {
  const size = 20 * MiB;
  const download = crypto.randomBytes(size);
  const srv = await startH2Server(t, (stream, h) => {
    if (h[':path'] === '/upload') {
      const hash = crypto.createHash('sha256');
      let n = 0;
      stream.on('data', (d: Buffer) => (hash.update(d), (n += d.length)));
      stream.on('end', () => (stream.respond({ ':status': 200 }), stream.end(`${n} ${hash.digest('hex')}`)));
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end(download);
  });
  const pool = newPool(t);
  const up = call(pool, srv.port, head('/upload', [], 'POST'), {});
  const expected = crypto.createHash('sha256');
  const progress = { written: 0 };
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let i = 0; i < size / chunk.length; i++) expected.update(chunk);
  pump(up.stream, size, (fn) => (up.onDrain = fn), () => up.stream.end(), progress);
  const r = await up.done;
  t.equal(r.body.toString(), `${size} ${expected.digest('hex')}`, 'the server got every byte, in order');
  t.ok(up.drains > 0, 'the writer was told to wait and then to go on');
  const down = await call(pool, srv.port, head('/download')).done;
  t.equal(down.body.length, size);
  t.ok(down.body.equals(download), 'the client got every byte, in order');
});

t.test('a slow reader does not make the pool buffer the response: the window stops the server', async (t) => {
  const total = 50 * MiB;
  const progress = { written: 0 };
  const srv = await startH2Server(t, (stream) => {
    stream.respond({ ':status': 200 });
    pump(stream, total, (fn) => stream.once('drain', fn), () => stream.end(), progress);
  });
  const window = 256 * 1024;
  const pool = newPool(t, { initialStreamWindowSize: window, initialConnectionWindowSize: 4 * MiB });
  const c = call(pool, srv.port, head('/big'));
  c.stream.pause();
  await c.headers;
  await sleep(500);
  t.ok(c.stream.bufferedResponseBytes <= window, `the pool holds at most the stream window (${c.stream.bufferedResponseBytes} <= ${window})`);
  t.ok(progress.written < 2 * MiB, `the server could hand over only ${progress.written} of ${total} bytes`);
  const rss = process.memoryUsage().rss;
  await sleep(300);
  t.ok(process.memoryUsage().rss - rss < 16 * MiB, 'memory does not grow while nobody reads');
  c.stream.resume();
  const r = await c.done;
  t.equal(r.body.length, total, 'everything arrives once the reader resumes');
});

t.test('a slow upstream reader holds the request body back: write() says wait, the pool keeps little', async (t) => {
  let serverStream: ServerHttp2Stream | undefined;
  let received = 0;
  const srv = await startH2Server(t, (stream) => {
    serverStream = stream;
    stream.pause();
    stream.on('data', (d: Buffer) => (received += d.length));
    stream.on('end', () => (stream.respond({ ':status': 200 }), stream.end(String(received))));
  });
  const pool = newPool(t);
  const c = call(pool, srv.port, head('/slow-upload', [], 'PUT'), {});
  const total = 30 * MiB;
  const progress = { written: 0 };
  pump(c.stream, total, (fn) => (c.onDrain = fn), () => c.stream.end(), progress);
  await until(() => serverStream !== undefined, 3000, 'the server stream');
  await sleep(500);
  t.ok(progress.written < 2 * MiB, `the writer could hand over only ${progress.written} of ${total} bytes`);
  t.ok(c.stream.bufferedRequestBytes <= 256 * 1024, `the pool holds ${c.stream.bufferedRequestBytes} bytes`);
  serverStream!.resume();
  const r = await c.done;
  t.equal(r.body.toString(), String(total), 'the whole body arrives once the server reads');
});

t.test('a body written while the request waits for a session is held, then sent', async (t) => {
  const srv = await startH2Server(t, (stream) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => (stream.respond({ ':status': 200 }), stream.end(Buffer.concat(parts))));
  });
  const pool = newPool(t);
  const c = call(pool, srv.port, head('/early', [], 'POST'), {});
  t.ok(c.stream.isQueued, 'no session yet');
  t.equal(c.stream.write(Buffer.from('hello ')), false, 'queued: write says wait');
  t.equal(c.stream.bufferedRequestBytes, 6);
  await new Promise<void>((r) => (c.onDrain = r));
  t.equal(c.stream.write(Buffer.from('world')), true);
  c.stream.end();
  t.equal((await c.done).body.toString(), 'hello world');
});

t.test('trailers: response trailers, trailers-only responses, request trailers, 1xx', async (t) => {
  let requestTrailers: unknown;
  const srv = await startH2Server(t, (stream, h) => {
    const path = String(h[':path']);
    if (path === '/grpc') {
      stream.additionalHeaders({ ':status': 103, link: '</a.css>; rel=preload' });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(Buffer.from([0, 0, 0, 0, 1, 42]));
    } else if (path === '/unavailable') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'no healthy upstream' }, { endStream: true });
    } else {
      stream.on('trailers', (tr) => (requestTrailers = tr));
      stream.resume();
      stream.on('end', () => (stream.respond({ ':status': 200 }), stream.end('got it')));
    }
  });
  const pool = newPool(t);
  const g = await call(pool, srv.port, head('/grpc', [['te', 'trailers'], ['content-type', 'application/grpc']], 'POST')).done;
  t.equal(g.status, 200);
  t.same(g.informational, [103], 'the 103 came through onInformational');
  t.same([...g.body], [0, 0, 0, 0, 1, 42]);
  t.same(g.trailers, { 'grpc-status': '0', 'grpc-message': 'fine' }, 'trailers received');
  t.equal(srv.requests[0].headers.te, 'trailers', 'te: trailers reached the gRPC server');
  const u = await call(pool, srv.port, head('/unavailable', [], 'POST')).done;
  t.equal(u.endStreamOnHeaders, true, 'trailers-only: END_STREAM on the headers');
  t.equal(u.headers['grpc-status'], '14');
  t.equal(u.body.length, 0);
  t.equal(u.ended, 'end');
  const c = call(pool, srv.port, head('/upload', [], 'POST'), {});
  c.stream.write(Buffer.from('payload'));
  c.stream.end({ 'x-checksum': 'abc123' });
  t.equal((await c.done).body.toString(), 'got it');
  t.match(requestTrailers, { 'x-checksum': 'abc123' }, 'request trailers reached the server');
});

t.test('cancel: RST_STREAM(CANCEL) upstream, no handler afterwards, the session stays', async (t) => {
  let closedWith: number | undefined;
  const srv = await startH2Server(t, (stream) => {
    stream.respond({ ':status': 200 });
    stream.write('first');
    stream.on('close', () => (closedWith = stream.rstCode));
  });
  const pool = newPool(t);
  let after = 0;
  const st = pool.request({ address: '127.0.0.1', port: srv.port }, head('/long'), {
    onHeaders: () => undefined,
    onData: () => st.cancel(),
    onEnd: () => after++,
    onError: () => after++,
  }, { endStream: true });
  await until(() => closedWith !== undefined, 3000, 'the server to see the stream close');
  t.equal(closedWith, http2.constants.NGHTTP2_CANCEL);
  await sleep(50);
  t.equal(after, 0, 'neither onEnd nor onError after cancel');
  t.same(pool.stats(), { endpoints: 1, sessions: 1, activeStreams: 0, pending: 0 }, 'the session is kept for the next request');
});

t.test('extended CONNECT (RFC 8441) when the server allows it; a clear failure when it does not', async (t) => {
  const tunnel = await startH2Server(
    t,
    (stream, h) => {
      stream.respond({ ':status': 200 });
      stream.write(`${String(h[':protocol'])} ${String(h[':path'])}:`);
      stream.on('data', (d: Buffer) => stream.write(d)); // echo both ways
      stream.on('end', () => stream.end());
    },
    { enableConnectProtocol: true },
  );
  const pool = newPool(t);
  const c = call(pool, tunnel.port, { method: 'CONNECT', protocol: 'websocket', path: '/chat', authority: 'chat.test', scheme: 'http', headers: [['sec-websocket-version', '13']] }, {});
  await c.headers;
  c.stream.write(Buffer.from('ping'));
  c.stream.end();
  const r = await c.done;
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'websocket /chat:ping', 'bytes relayed both ways in the stream');
  t.match(tunnel.requests[0].headers, { ':method': 'CONNECT', ':protocol': 'websocket', ':authority': 'chat.test', 'sec-websocket-version': '13' });
  const plain = await startH2Server(t, () => undefined);
  const refused = await call(newPool(t), plain.port, { method: 'CONNECT', protocol: 'websocket', path: '/chat', authority: 'chat.test', scheme: 'http', headers: [] }).done;
  t.equal(refused.error?.reason, 'protocol-error');
  t.match(refused.error?.message, /does not accept extended CONNECT/);
  t.equal(plain.requests.length, 0, 'nothing was sent');
});

t.test('pool options from a cluster config', async (t) => {
  const yaml = `
static_resources:
  clusters:
  - name: grpc
    connect_timeout: 0.5s
    per_connection_buffer_limit_bytes: 65536
    circuit_breakers: { thresholds: [{ max_connections: 3, max_pending_requests: 7 }] }
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        common_http_protocol_options: { idle_timeout: 9s, max_requests_per_connection: 100 }
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 50, initial_stream_window_size: 1048576, hpack_table_size: 0 } }
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
`;
  const p = parseBootstrap(yaml, 'b.yaml');
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  const c = compileBootstrap(p.value);
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  t.same(h2PoolOptionsFromCluster(c.value.clusters.get('grpc')!), {
    maxConcurrentStreams: 50,
    maxSessionsPerEndpoint: 3,
    maxPendingPerEndpoint: 7,
    maxRequestsPerSession: 100,
    connectTimeoutMs: 500,
    idleTimeoutMs: 9000,
    initialStreamWindowSize: 65536,
    initialConnectionWindowSize: 16 * MiB,
    headerTableSize: 0,
  }, 'the stream window is capped by per_connection_buffer_limit_bytes, the connection window at 16 MiB');
});
