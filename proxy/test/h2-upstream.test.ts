/**
 * HTTP/2 upstream through the router, on a plain Envoy bootstrap whose cluster carries
 * `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`: h1→h2 and h2→h2 (`:authority`, no
 * connection-specific header, `te: trailers` kept, trailers both ways), the client's protocol
 * with `use_downstream_protocol_config`, streams multiplexed on one session, retries on
 * refused and reset streams, the response flags of failures (UF, UC, UR, UO), and flow control
 * both ways (gRPC: h2-upstream-grpc.test.ts).
 */
import t from 'tap';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { closedPort, route, startTestProxy } from './helpers/harness.js';
import { h2Connect, h2PostWithTrailers, h2Request } from './helpers/h2-client.js';
import { h2ClusterExtra, h2Ok, startH2Upstream, until } from './helpers/h2-upstream-server.js';

const run = promisify(execFile);
const noCurl = spawnSync('curl', ['--version']).error === undefined ? false : 'curl is not installed (Debian: apt-get install curl)';
if (noCurl && process.env.CI === 'true') t.fail(noCurl);

const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'x-hop'];

/** A plain HTTP/1.1 request with its own connection. */
function h1Get(port: number, path = '/', headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('h1 → h2: curl over HTTP/1.1, the upstream sees :authority and no connection-specific header', { skip: noCurl }, async (t) => {
  const up = await startH2Upstream(t, (stream) => {
    stream.respond({ ':status': 200, 'x-up': 'h2' });
    stream.end('hello from h2');
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } } });
  const args = ['-sS', '--http1.1', '-D', '-', '-H', 'Connection: keep-alive, x-hop', '-H', 'x-hop: 1', '-H', 'keep-alive: timeout=5', '-H', 'te: deflate;q=0.5, trailers', '-H', 'x-client: yes', '--data-binary', 'payload', `http://127.0.0.1:${p.port}/a/b?q=1`];
  const out = (await run('curl', args)).stdout;
  t.match(out, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(out, /\r\nx-up: h2\r\n/i);
  t.match(out, /\r\n\r\nhello from h2$/);
  const s = up.streams[0];
  t.equal(s.headers[':authority'], `127.0.0.1:${p.port}`, 'the Host became :authority');
  t.equal(s.headers[':method'], 'POST');
  t.equal(s.headers[':path'], '/a/b?q=1');
  t.equal(s.headers[':scheme'], 'http');
  t.equal(s.headers['x-client'], 'yes');
  t.equal(s.headers['x-forwarded-proto'], 'http');
  t.equal(s.headers.te, 'trailers', 'te is kept as trailers only');
  const names = s.rawHeaders.filter((_, i) => i % 2 === 0);
  for (const n of CONNECTION_SPECIFIC) t.notOk(names.includes(n), `${n} not sent`);
  t.equal(s.body.toString(), 'payload');
  const [line] = await p.accessLog(1);
  t.equal(line.protocol, 'HTTP/1.1');
  t.equal(line.response_code, 200);
  t.equal(line.response_flags, '-');
});

t.test('h2 → h2: curl --http2-prior-knowledge, and trailers both ways', { skip: noCurl }, async (t) => {
  const up = await startH2Upstream(t, (stream, rec) => {
    if (rec.headers[':path'] !== '/trailers') {
      stream.respond({ ':status': 200 });
      stream.end('h2 all the way');
      return;
    }
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(`got ${rec.body.toString()}`);
    });
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } } });
  const out = (await run('curl', ['-sS', '--http2-prior-knowledge', '-D', '-', `http://127.0.0.1:${p.port}/plain`])).stdout;
  t.match(out, /^HTTP\/2 200 ?\r\n/);
  t.match(out, /\r\n\r\nh2 all the way$/);
  t.equal(up.streams[0].headers[':authority'], `127.0.0.1:${p.port}`);

  const s = h2Connect(t, p.port);
  const r = await h2PostWithTrailers(s, '/trailers', 'ping');
  t.equal(r.status, 200);
  t.equal(r.body, 'got ping');
  t.equal(r.trailers['grpc-status'], '0', 'response trailers reach the client');
  t.equal(r.trailers['grpc-message'], 'fine');
  const rec = up.streams[1];
  t.equal(rec.trailers?.['x-req-trailer'], 'sent', 'request trailers reach the upstream');
  t.equal(rec.headers.te, 'trailers');
  t.equal(up.sessions, 1, 'both requests on one upstream session');
});

t.test('use_downstream_protocol_config: h1 client → h1 upstream, h2 client → h2 upstream, one cluster', async (t) => {
  const up = await startH2Upstream(t, h2Ok('via h2'), true);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('downstream') } } });
  const r1 = await h1Get(p.port, '/one');
  t.equal(r1.status, 200);
  t.equal(r1.headers['x-up'], 'h1', 'HTTP/1.1 upstream for an HTTP/1.1 client');
  t.equal(up.h1Requests.length, 1);
  t.equal(up.h1Requests[0].httpVersion, '1.1');
  const r2 = await h2Request(h2Connect(t, p.port), { path: '/two' });
  t.equal(r2.status, 200);
  t.equal(r2.headers['x-up'], 'h2', 'HTTP/2 upstream for an HTTP/2 client');
  t.equal(r2.body.toString(), 'via h2');
  t.equal(up.streams.length, 1);
  t.equal(up.streams[0].headers[':path'], '/two');
});

t.test('concurrent requests share one upstream session (multiplexed)', async (t) => {
  const held: (() => void)[] = [];
  const up = await startH2Upstream(t, (stream, rec) => {
    held.push(() => {
      stream.respond({ ':status': 200 });
      stream.end(`n=${rec.headers[':path']}`);
    });
    // Answer once all five are open at once on the upstream (later ones at once).
    if (up.streams.length >= 5) for (const f of held.splice(0)) f();
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } } });
  const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => h1Get(p.port, `/${i}`)));
  t.same(
    rs.map((r) => r.body),
    [1, 2, 3, 4, 5].map((i) => `n=/${i}`),
  );
  t.equal(up.sessions, 1, 'one session');
  t.same(new Set(up.streams.map((s) => s.session)).size, 1, 'every stream on it');
  const r = await h1Get(p.port, '/6');
  t.equal(r.status, 200);
  t.equal(up.sessions, 1, 'the session is reused');
  const stats = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats`)).text();
  t.match(stats, /^cluster\.c\.upstream_cx_total: 1$/m, 'one upstream connection counted');
  t.match(stats, /^cluster\.c\.upstream_cx_http2_total: 1$/m, 'an HTTP/2 one (upstream_cx_http2_total)');
  t.match(stats, /^cluster\.c\.upstream_cx_http1_total: 0$/m);
  t.match(stats, /^cluster\.c\.upstream_cx_active: 1$/m);
  t.match(stats, /^cluster\.c\.upstream_rq_total: 6$/m, 'six requests');
  t.match(stats, /^cluster\.c\.upstream_rq_pending_active: 0$/m, 'none left pending');
});

t.test('a refused stream is retried on refused-stream; a reset stream on reset; else UR', async (t) => {
  const up = await startH2Upstream(t, (stream, rec) => {
    const path = rec.headers[':path'] ?? '';
    const failures = up.streams.filter((s) => s.headers[':path'] === path).length;
    if (path.startsWith('/refuse') && failures === 1) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else if (path.startsWith('/reset') && (failures === 1 || path === '/reset-always')) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else {
      stream.respond({ ':status': 200 });
      stream.end(`ok ${failures}`);
    }
  });
  const p = await startTestProxy(t, {
    routes: [
      route('/refuse', 'c', { retry_policy: { retry_on: 'refused-stream', num_retries: 1 } }),
      route('/reset-always', 'c'),
      route('/reset', 'c', { retry_policy: { retry_on: 'reset', num_retries: 1 } }),
    ],
    clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } },
  });
  const refused = await h1Get(p.port, '/refuse');
  t.equal(refused.status, 200, 'retried after REFUSED_STREAM');
  t.equal(refused.body, 'ok 2');
  const reset = await h1Get(p.port, '/reset');
  t.equal(reset.status, 200, 'retried after RST_STREAM');
  t.equal(reset.body, 'ok 2');
  const failed = await h1Get(p.port, '/reset-always');
  t.equal(failed.status, 503);
  t.match(failed.body, /reset reason: remote reset/);
  const lines = await p.accessLog(3);
  t.same(
    lines.map((l) => l.response_flags),
    ['-', '-', 'UR'],
  );
  t.equal(lines[2].response_code_details, 'upstream_reset_before_response_started{remote_reset}');
});

t.test('connect refused: 503 UF; retried on connect-failure to a live host', async (t) => {
  const dead = await closedPort();
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [dead], extra: h2ClusterExtra('http2') } } });
  const r = await h1Get(p.port);
  t.equal(r.status, 503);
  t.match(r.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure, transport failure reason: ECONNREFUSED/);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'UF');

  const up = await startH2Upstream(t, h2Ok('alive'));
  const p2 = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: 'connect-failure', num_retries: 2 } })],
    clusters: { c: { endpoints: [dead, up.port], extra: h2ClusterExtra('http2') } },
  });
  for (let i = 0; i < 2; i++) {
    const ok = await h1Get(p2.port);
    t.equal(ok.status, 200, `request ${i + 1} reaches the live host`);
    t.equal(ok.body, 'alive');
  }
});

t.test('a session that dies under a request: UC; reset-before-request retries what never went out', async (t) => {
  const up = await startH2Upstream(t, (stream) => stream.session?.destroy());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } } });
  const r = await h1Get(p.port);
  t.equal(r.status, 503);
  t.match(r.body, /reset reason: connection termination/);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'UC');

  const dead = await closedPort();
  const live = await startH2Upstream(t, h2Ok('second try'));
  const p2 = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: 'reset-before-request', num_retries: 1 } })],
    clusters: { c: { endpoints: [dead, live.port], extra: h2ClusterExtra('http2') } },
  });
  for (let i = 0; i < 2; i++) t.equal((await h1Get(p2.port)).body, 'second try', 'a connect failure is retried: the request was never sent');
  // A reset after the request went out is not retried on reset-before-request.
  const p3 = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: 'reset-before-request', num_retries: 1 } })],
    clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } },
  });
  t.equal((await h1Get(p3.port)).status, 503);
  t.equal(up.streams.length, 2, 'one stream each, no retry after the request was sent');
});

t.test('the per-try timeout starts when the stream does, not while the session connects', async (t) => {
  const up = await startH2Upstream(t, h2Ok('late but fine'));
  // A slow path to the upstream: the session's SETTINGS arrive 700 ms after the connect.
  const slow = net.createServer((sock) => {
    sock.pause();
    setTimeout(() => {
      const c = net.connect(up.port, '127.0.0.1');
      c.on('error', () => sock.destroy());
      sock.on('error', () => c.destroy());
      sock.pipe(c);
      c.pipe(sock);
    }, 700);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  t.teardown(() => slow.close());
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.2s' } })],
    clusters: { c: { endpoints: [(slow.address() as net.AddressInfo).port], connect_timeout: '2s', extra: h2ClusterExtra('http2') } },
  });
  const r = await h1Get(p.port);
  t.equal(r.status, 200, 'no per-try timeout while waiting for the session');
  t.equal(r.body, 'late but fine');
  t.equal(up.streams.length, 1, 'one try');
});

t.test('circuit breakers count streams: one session, one waiting request, the next overflows (UO)', async (t) => {
  const held: (() => void)[] = [];
  const up = await startH2Upstream(t, (stream) => {
    held.push(() => {
      stream.respond({ ':status': 200 });
      stream.end('done');
    });
  });
  const p = await startTestProxy(t, {
    routes: [route('/', 'c')],
    clusters: {
      c: { endpoints: [up.port], extra: { ...h2ClusterExtra('http2', { max_concurrent_streams: 1 }), circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } } },
    },
  });
  const first = h1Get(p.port, '/1');
  await until(() => up.streams.length === 1);
  const second = h1Get(p.port, '/2');
  await new Promise((r) => setTimeout(r, 150));
  const third = await h1Get(p.port, '/3');
  t.equal(third.status, 503, 'the pending queue is full');
  t.match(third.body, /reset reason: overflow/);
  t.equal(up.streams.length, 1, 'the waiting request has no stream yet (max_concurrent_streams 1)');
  held.shift()!();
  await until(() => up.streams.length === 2);
  held.shift()!();
  t.equal((await first).status, 200);
  t.equal((await second).status, 200);
  t.equal(up.sessions, 1, 'max_connections 1: one session');
  const lines = await p.accessLog(3);
  t.same(lines.map((l) => l.response_flags).sort(), ['-', '-', 'UO']);
});

t.test('max_requests counts streams, not sessions: two open on one session, the third overflows', async (t) => {
  const held: (() => void)[] = [];
  const up = await startH2Upstream(t, (stream) => held.push(() => (stream.respond({ ':status': 200 }), stream.end('ok'))));
  const cb = { circuit_breakers: { thresholds: [{ max_requests: 2 }] } };
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: { ...h2ClusterExtra('http2'), ...cb } } } });
  const two = [h1Get(p.port, '/1'), h1Get(p.port, '/2')];
  await until(() => up.streams.length === 2);
  const third = await h1Get(p.port, '/3');
  t.equal(third.status, 503, 'over max_requests');
  t.equal(up.sessions, 1, 'with a single session open');
  for (const f of held) f();
  t.same((await Promise.all(two)).map((r) => r.status), [200, 200]);
});

t.test('a slow h1 client holds the h2 upstream back (window), and gets every byte', async (t) => {
  const TOTAL = 32 * 1024 * 1024;
  const CHUNK = Buffer.alloc(64 * 1024, 'x');
  let accepted = 0;
  const up = await startH2Upstream(t, (stream) => {
    stream.respond({ ':status': 200 });
    const pump = (): void => {
      while (accepted < TOTAL) {
        accepted += CHUNK.length;
        if (!stream.write(CHUNK)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '0s' })], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } } });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: p.port, path: '/big', agent: false }, resolve).on('error', reject));
  res.pause();
  await new Promise((r) => setTimeout(r, 600));
  t.ok(accepted < TOTAL / 2, `the upstream is held back while the client reads nothing (${accepted} of ${TOTAL} bytes written)`);
  let got = 0;
  res.on('data', (d: Buffer) => (got += d.length));
  res.resume();
  await new Promise((r) => res.on('end', r));
  t.equal(got, TOTAL, 'every byte arrives once the client reads');
});

t.test('a request body to an h2 upstream that does not read is held back, then arrives whole', async (t) => {
  const TOTAL = 32 * 1024 * 1024;
  const CHUNK = Buffer.alloc(64 * 1024, 'y');
  let paused: http2.ServerHttp2Stream | undefined;
  const up = await startH2Upstream(t, (stream, rec) => {
    stream.pause();
    paused = stream;
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(`got ${rec.bytes}`);
    });
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '0s' })], clusters: { c: { endpoints: [up.port], extra: h2ClusterExtra('http2') } } });
  let written = 0;
  const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/upload', agent: false, headers: { 'content-length': String(TOTAL) } });
  const response = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
  const pump = (): void => {
    while (written < TOTAL) {
      written += CHUNK.length;
      if (!req.write(CHUNK)) {
        req.once('drain', pump);
        return;
      }
    }
    req.end();
  };
  pump();
  await until(() => up.streams.length === 1);
  await new Promise((r) => setTimeout(r, 600));
  t.ok(written < TOTAL / 2, `the client is held back while the upstream reads nothing (${written} of ${TOTAL} bytes written)`);
  const stream = up.streams[0];
  t.ok(stream.bytes < TOTAL / 4, 'the upstream received no more than its windows allow');
  paused!.resume();
  t.equal(await response, `got ${TOTAL}`, 'every byte arrives once the upstream reads');
});
