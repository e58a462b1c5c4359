/**
 * The HTTP/2 upstream pool against real node:http2 servers: multiplexing, the server's
 * max_concurrent_streams, the session cap and the pending queue, GOAWAY, RST_STREAM and
 * connection failures classified as Envoy's reset reasons, headers made HTTP/2-clean, idle and
 * per-session request limits. Bodies, flow control and trailers: h2-pool-flow.test.ts.
 */
import t from 'tap';
import http2, { type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import { H2UpstreamPool, retryOnConditions, toH2RequestHeaders } from '../src/upstream/h2/index.js';
import { closedPort } from './helpers/harness.js';
import { call, head, reply, sleep, startH2Server, until } from './helpers/h2.js';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

function newPool(t: { teardown(fn: () => unknown): void }, o: ConstructorParameters<typeof H2UpstreamPool>[0] = {}): H2UpstreamPool {
  const pool = new H2UpstreamPool(o);
  t.teardown(() => pool.destroy());
  return pool;
}

t.test('N concurrent streams share one session', async (t) => {
  const held: ServerHttp2Stream[] = [];
  const srv = await startH2Server(t, (stream) => {
    held.push(stream);
    if (held.length === 10) for (const s of held) (s.respond({ ':status': 200 }), s.end(`stream ${s.id}`));
  });
  const pool = newPool(t);
  const calls = Array.from({ length: 10 }, (_, i) => call(pool, srv.port, head(`/r${i}`)));
  const results = await Promise.all(calls.map((c) => c.done));
  t.same(results.map((r) => r.status), Array(10).fill(200), 'every request answered');
  t.equal(new Set(results.map((r) => r.body.toString())).size, 10, 'ten distinct streams');
  t.equal(srv.sessions.length, 1, 'the server saw one connection');
  t.equal(new Set(calls.map((c) => c.stream.sessionId)).size, 1, 'one pooled session');
  t.equal(held.length, 10, 'all ten were open at once (the server answered only when it had ten)');
  t.same(pool.sessions({ address: '127.0.0.1', port: srv.port }).map((s) => s.streamsOpened), [10]);
  t.same(
    results.map((r) => r.ended),
    Array(10).fill('end'),
    'each ends exactly once',
  );
});

t.test("the server's SETTINGS_MAX_CONCURRENT_STREAMS=2 makes a second session", async (t) => {
  const held: ServerHttp2Stream[] = [];
  const srv = await startH2Server(t, (stream) => held.push(stream), { maxConcurrentStreams: 2 });
  const pool = newPool(t);
  const calls = Array.from({ length: 4 }, (_, i) => call(pool, srv.port, head(`/r${i}`)));
  await until(() => held.length === 4, 3000, 'four streams at the server');
  t.equal(srv.sessions.length, 2, 'two sessions');
  const ep = { address: '127.0.0.1', port: srv.port };
  t.same(pool.sessions(ep).map((s) => [s.activeStreams, s.remoteMaxConcurrentStreams]), [[2, 2], [2, 2]], 'two streams on each');
  for (const s of held) (s.respond({ ':status': 200 }), s.end());
  t.same((await Promise.all(calls.map((c) => c.done))).map((r) => r.status), [200, 200, 200, 200]);
  await until(() => pool.stats().activeStreams === 0, 3000, 'the streams to close');
  // Slots are reused: four more requests need no third session.
  const more = Array.from({ length: 4 }, () => call(pool, srv.port, head('/again')));
  await until(() => held.length === 8, 3000, 'four more streams');
  for (const s of held.slice(4)) (s.respond({ ':status': 200 }), s.end());
  await Promise.all(more.map((c) => c.done));
  t.equal(srv.sessions.length, 2, 'still two sessions');
});

t.test("the cluster's max_concurrent_streams limits streams per session too", async (t) => {
  const held: ServerHttp2Stream[] = [];
  const srv = await startH2Server(t, (stream) => held.push(stream));
  const pool = newPool(t, { maxConcurrentStreams: 1 });
  const calls = [call(pool, srv.port, head('/a')), call(pool, srv.port, head('/b'))];
  await until(() => held.length === 2, 3000, 'two streams');
  t.equal(srv.sessions.length, 2, 'one stream per session');
  for (const s of held) (s.respond({ ':status': 204 }), s.end());
  await Promise.all(calls.map((c) => c.done));
});

t.test('at the session cap requests wait in a bounded queue; beyond it they overflow', async (t) => {
  const held: ServerHttp2Stream[] = [];
  const srv = await startH2Server(t, (stream, h) => (h[':path'] === '/warm' ? (stream.respond({ ':status': 200 }), stream.end()) : held.push(stream)), { maxConcurrentStreams: 2 });
  const pool = newPool(t, { maxSessionsPerEndpoint: 1, maxPendingPerEndpoint: 1 });
  // Requests waiting for a session being set up count as pending too (as in Envoy): warm up first.
  await call(pool, srv.port, head('/warm')).done;
  await until(() => pool.stats().activeStreams === 0, 3000, 'the warm-up stream to close');
  const calls = Array.from({ length: 4 }, (_, i) => call(pool, srv.port, head(`/q${i}`)));
  const overflow = await calls[3].done;
  t.equal(overflow.error?.reason, 'overflow', 'the fourth request overflows');
  t.match(overflow.error?.message, /upstream overflow: 1 requests already wait .*max_pending_requests 1/);
  t.same(retryOnConditions(overflow.error!), [], 'an overflow is never retried');
  await until(() => held.length === 2, 3000, 'two streams');
  t.equal(pool.stats().pending, 1, 'the third waits');
  t.equal(srv.sessions.length, 1);
  held[0].respond({ ':status': 200 });
  held[0].end();
  await until(() => held.length === 3, 3000, 'the waiting request gets the freed slot');
  for (const s of held.slice(1)) (s.respond({ ':status': 200 }), s.end());
  t.same((await Promise.all(calls.slice(0, 3).map((c) => c.done))).map((r) => r.status), [200, 200, 200]);
  t.equal(srv.sessions.length, 1, 'never a second session');
});

t.test('GOAWAY mid-flight: the stream under lastStreamID finishes, those above are refused, new ones go to a new session', async (t) => {
  const perSession = new Map<unknown, ServerHttp2Stream[]>();
  const srv = await startH2Server(t, (stream) => {
    const list = perSession.get(stream.session) ?? [];
    list.push(stream);
    perSession.set(stream.session, list);
    if (perSession.size > 1) return void (stream.respond({ ':status': 200 }), stream.end('new session'));
    if (list.length === 3) {
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, list[0].id!);
      setTimeout(() => (list[0].respond({ ':status': 200 }), list[0].end('finished after GOAWAY')), 300);
    }
  });
  const pool = newPool(t);
  const first = [call(pool, srv.port, head('/1')), call(pool, srv.port, head('/2')), call(pool, srv.port, head('/3'))];
  const refused = await Promise.all([first[1].done, first[2].done]);
  for (const r of refused) {
    t.equal(r.error?.reason, 'refused-stream', 'above lastStreamID: refused');
    t.equal(r.error?.requestSent, true);
    t.equal(r.error?.responseStarted, false);
    t.ok(retryOnConditions(r.error!).includes('refused-stream'), 'retriable under retry_on refused-stream');
  }
  const ep = { address: '127.0.0.1', port: srv.port };
  t.same(pool.sessions(ep).map((s) => [s.state, s.activeStreams]), [['draining', 1]], 'the old session drains, no new streams');
  const after = await call(pool, srv.port, head('/after')).done;
  t.equal(after.body.toString(), 'new session', 'a request after the GOAWAY goes to a new session');
  const ok = await first[0].done;
  t.equal(ok.status, 200);
  t.equal(ok.body.toString(), 'finished after GOAWAY', 'the in-flight stream under lastStreamID completes');
  await until(() => pool.sessions(ep).length === 1, 3000, 'the drained session closes');
  t.equal(srv.sessions.length, 2);
});

t.test('RST_STREAM and session failures are classified as Envoy reset reasons', async (t) => {
  const srv = await startH2Server(t, (stream, h, self) => {
    const path = String(h[':path']);
    if (path === '/refused') return stream.close(NGHTTP2_REFUSED_STREAM);
    if (path === '/internal') return stream.close(NGHTTP2_INTERNAL_ERROR);
    if (path === '/protocol') return stream.close(NGHTTP2_PROTOCOL_ERROR);
    stream.respond({ ':status': 200 });
    stream.write('partial');
    // close() would end the stream first; destroy() resets it mid-body (RST_STREAM INTERNAL_ERROR).
    if (path === '/reset-mid-body') setTimeout(() => stream.destroy(new Error('boom')), 50);
    if (path === '/socket-dies') setTimeout(() => self.sockets[self.sockets.length - 1].destroy(), 50);
    else if (path === '/goaway-error') setTimeout(() => stream.session!.goaway(NGHTTP2_ENHANCE_YOUR_CALM, stream.id!), 50);
    else if (path !== '/reset-mid-body') stream.end(' and the rest');
  });
  const pool = newPool(t);
  const cases: [string, string, number | undefined, boolean][] = [
    ['/refused', 'refused-stream', NGHTTP2_REFUSED_STREAM, false],
    ['/internal', 'remote-reset', NGHTTP2_INTERNAL_ERROR, false],
    ['/protocol', 'protocol-error', NGHTTP2_PROTOCOL_ERROR, false],
    ['/reset-mid-body', 'remote-reset', NGHTTP2_INTERNAL_ERROR, true],
  ];
  for (const [path, reason, code, started] of cases) {
    const r = await call(pool, srv.port, head(path)).done;
    t.equal(r.error?.reason, reason, `${path}: ${reason}`);
    t.equal(r.error?.h2Code, code, `${path}: error code ${code}`);
    t.equal(r.error?.responseStarted, started, `${path}: response started ${started}`);
    t.equal(r.ended, 'error', `${path}: one terminal callback`);
  }
  const reset = await call(pool, srv.port, head('/internal')).done;
  t.same(retryOnConditions(reset.error!), ['reset'], 'a remote reset after the request was sent: retry_on reset');
  const dies = await call(pool, srv.port, head('/socket-dies')).done;
  t.equal(dies.error?.reason, 'connection-termination', 'the connection dies under an open stream');
  t.equal(dies.body.toString(), 'partial');
  const calm = await call(pool, srv.port, head('/goaway-error')).done;
  t.equal(calm.error?.reason, 'connection-termination', 'GOAWAY with an error code ends the session');
  t.equal(calm.error?.h2Code, NGHTTP2_ENHANCE_YOUR_CALM);
  const fine = await call(pool, srv.port, head('/ok-after-all-that')).done;
  t.equal(fine.error?.reason, undefined, 'the pool recovers with a new session');
  t.equal(fine.body.toString(), 'partial and the rest');
});

t.test('connect refused and connect timeout fail every waiting request, retriable as connect-failure', async (t) => {
  const port = await closedPort();
  const pool = newPool(t);
  const rs = await Promise.all([call(pool, port, head('/a')).done, call(pool, port, head('/b')).done]);
  for (const r of rs) {
    t.equal(r.error?.reason, 'connect-failure');
    t.match(r.error?.message, /upstream connect failure to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    t.equal(r.error?.requestSent, false);
    t.same(retryOnConditions(r.error!), ['reset', 'reset-before-request', 'connect-failure']);
  }
  t.same(pool.stats(), { endpoints: 0, sessions: 0, activeStreams: 0, pending: 0 }, 'nothing left behind');
  // A TCP server that never speaks HTTP/2: no SETTINGS, so no session.
  const mute = net.createServer((s) => s.on('error', () => undefined).resume());
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => mute.close(() => r())));
  const slow = newPool(t, { connectTimeoutMs: 150 });
  const started = Date.now();
  const r = await call(slow, (mute.address() as net.AddressInfo).port, head('/x')).done;
  t.equal(r.error?.reason, 'connect-timeout');
  t.match(r.error?.message, /150 ms connect timeout/);
  t.ok(Date.now() - started >= 140, 'after the connect timeout');
  t.ok(retryOnConditions(r.error!).includes('connect-failure'));
});

t.test('headers sent upstream follow RFC 9113 §8.2.2', async (t) => {
  const srv = await startH2Server(t, reply('ok'));
  const pool = newPool(t);
  const extra: [string, string][] = [
    ['Host', 'ignored.example'],
    ['Connection', 'keep-alive, X-Nominated'],
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'keep-alive'],
    ['Transfer-Encoding', 'chunked'],
    ['Upgrade', 'websocket'],
    ['HTTP2-Settings', 'AAMAAABkAAQAAP__'],
    ['X-Nominated', 'hop'],
    ['TE', 'trailers, deflate;q=0.5'],
    ['Cookie', 'a=1'],
    ['cookie', 'b=2'],
    ['X-Keep', 'end-to-end'],
    [':path', '/smuggled'],
  ];
  await call(pool, srv.port, { method: 'POST', path: '/h?x=1', authority: '', scheme: 'http', headers: extra }, { endStream: true }).done;
  const h = srv.requests[0].headers;
  t.equal(h[':authority'], 'ignored.example', 'Host becomes :authority when no authority is given');
  t.equal(h[':path'], '/h?x=1', 'pseudo-headers in the list are ignored');
  t.equal(h[':method'], 'POST');
  t.equal(h[':scheme'], 'http');
  for (const n of ['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'x-nominated']) t.notOk(n in h, `${n} is not sent`);
  t.equal(h.te, 'trailers', 'te only as te: trailers');
  t.equal(h['x-keep'], 'end-to-end');
  t.equal(h.cookie, 'a=1; b=2', 'both cookies arrive');
  t.same(toH2RequestHeaders(head('/', [['TE', 'gzip']])).te, undefined, 'a te without trailers is dropped');
  t.same(toH2RequestHeaders({ method: 'CONNECT', path: '', authority: 'db:5432', scheme: 'http', headers: [] }), { ':method': 'CONNECT', ':authority': 'db:5432' }, 'CONNECT: :method and :authority only');
  const bad = await call(pool, srv.port, head('/', [['x-bad', 'a\r\nb']])).done;
  t.equal(bad.error?.reason, 'protocol-error', 'a value HTTP/2 cannot carry fails the request, not the pool');
  t.equal(bad.error?.requestSent, false);
  t.match(bad.error?.message, /header x-bad: the value contains CR, LF or NUL/);
  t.equal(srv.requests.length, 1, 'nothing reached the server');
});

t.test('idle sessions close after the idle timeout; max requests per session opens a new one', async (t) => {
  const srv = await startH2Server(t, reply());
  const idle = newPool(t, { idleTimeoutMs: 100 });
  await call(idle, srv.port, head('/once')).done;
  t.equal(idle.stats().sessions, 1);
  await until(() => idle.stats().sessions === 0, 2000, 'the idle session closes');
  t.ok(srv.sessions[0].closed || srv.sessions[0].destroyed, 'the server saw it close');
  const limited = newPool(t, { maxRequestsPerSession: 2 });
  for (let i = 0; i < 3; i++) await call(limited, srv.port, head(`/n${i}`)).done;
  t.equal(srv.sessions.length, 3, 'a new session after two requests (plus the idle pool’s)');
  await sleep(50);
  t.same(limited.sessions({ address: '127.0.0.1', port: srv.port }).map((s) => s.streamsOpened), [1], 'the used-up session closed');
});
