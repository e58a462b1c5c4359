/**
 * A stream's maximum duration, as Envoy's connection manager enforces it: the route's
 * `max_stream_duration` (`max_stream_duration`, `grpc_timeout_header_max`,
 * `grpc_timeout_header_offset`) or the HCM's `common_http_protocol_options.max_stream_duration`.
 * When it elapses: 504 once the request is in, 408 while it still arrives, DEADLINE_EXCEEDED
 * for gRPC callers, a reset once the response started; an upgraded tunnel is closed.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { hang, ok, route, startTestProxy, startUpstream, type ProxySpec } from './helpers/harness.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';
import { until } from './helpers/h2-upstream-server.js';
import { startWsEchoServer, wsConnect } from './helpers/ws-h2.js';
import { streamDuration } from '../src/router/stream-duration.js';
import type { HttpConnectionManagerRt, MaxStreamDurationRt } from '@minimesh/config/runtime';

t.test('streamDuration follows Envoy refreshDurationTimeout', async (t) => {
  const hcm = (ms: number): HttpConnectionManagerRt => ({ maxStreamDurationMs: ms }) as HttpConnectionManagerRt;
  const msd = (m: Partial<MaxStreamDurationRt>): MaxStreamDurationRt => ({ maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined, ...m });
  t.equal(streamDuration(hcm(0), undefined, undefined, false), undefined, 'nothing configured: no limit');
  t.same(streamDuration(hcm(500), undefined, '1S', true), { ms: 500, grpcTimeoutMs: undefined }, "the HCM's limit; grpc-timeout is left alone");
  t.same(streamDuration(hcm(500), msd({ maxStreamDurationMs: 200 }), undefined, false), { ms: 200, grpcTimeoutMs: undefined }, "the route's wins");
  t.equal(streamDuration(hcm(500), msd({ maxStreamDurationMs: 0 }), undefined, false), undefined, 'route 0: no limit at all');
  t.same(streamDuration(hcm(0), msd({ maxStreamDurationMs: 200 }), '5S', true), { ms: 200, grpcTimeoutMs: 200 }, 'no header_max: grpc-timeout does not count, but is rewritten');
  t.same(streamDuration(hcm(0), msd({ grpcTimeoutHeaderMaxMs: 1000 }), '5S', true), { ms: 1000, grpcTimeoutMs: 1000 }, 'capped at header_max');
  t.same(streamDuration(hcm(0), msd({ grpcTimeoutHeaderMaxMs: 1000 }), '300m', true), { ms: 300, grpcTimeoutMs: 300 }, 'under the cap: the header');
  t.same(streamDuration(hcm(0), msd({ grpcTimeoutHeaderMaxMs: 0 }), '5S', true), { ms: 5000, grpcTimeoutMs: 5000 }, 'header_max 0: no cap');
  t.same(streamDuration(hcm(0), msd({ grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: 6000 }), '5S', true), { ms: 0, grpcTimeoutMs: 0 }, 'an offset past the deadline: over at once');
  t.equal(streamDuration(hcm(0), msd({ grpcTimeoutHeaderMaxMs: 1000 }), undefined, true), undefined, 'header_max without a header and without a duration: no limit');
  t.same(streamDuration(hcm(0), msd({ grpcTimeoutHeaderMaxMs: 1000 }), 'junk', true), undefined, 'a malformed grpc-timeout counts as none');
});

function spec(port: number, action: Record<string, unknown>, hcm: Record<string, unknown> = {}): ProxySpec {
  return { routes: [route('/', 'up', action)], clusters: { up: [port] }, hcm };
}

t.test("route max_stream_duration: 504 'downstream duration timeout'; the route timeout no longer applies", async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, spec(up.port, { timeout: '0.1s', max_stream_duration: { max_stream_duration: '0.4s' } }));
  const started = Date.now();
  const r = await p.request({ path: '/slow' });
  const took = Date.now() - started;
  t.equal(r.status, 504);
  t.equal(r.body.toString(), 'downstream duration timeout');
  t.ok(took >= 350, `the stream's duration, not the 0.1 s route timeout, ended it (${took} ms)`);
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'max_duration_timeout');
  t.equal(p.running.proxy.stats.httpScope('test').downstream_rq_max_duration_reached, 1);
});

t.test('HCM max_stream_duration: 408 while the request body is still arriving', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, spec(up.port, {}, { common_http_protocol_options: { max_stream_duration: '0.3s' } }));
  const r = await p.raw('POST /upload HTTP/1.1\r\nhost: h\r\ncontent-length: 100\r\n\r\nonly a part', { until: (s: string) => s.includes('duration') });
  t.match(r.text, /^HTTP\/1\.1 408 /);
  t.match(r.text, /downstream duration timeout/);
});

t.test('a route max_stream_duration of 0 turns the HCM limit off for the route', async (t) => {
  const up = await startUpstream(t, ok('slow but fine', {}, 400));
  const p = await startTestProxy(t, {
    routes: [route('/free', 'up', { max_stream_duration: { max_stream_duration: '0s' } }), route('/', 'up')],
    clusters: { up: [up.port] },
    hcm: { common_http_protocol_options: { max_stream_duration: '0.2s' } },
  });
  const free = await p.request({ path: '/free' });
  t.equal(free.status, 200);
  t.equal(free.body.toString(), 'slow but fine');
  const limited = await p.request({ path: '/other' });
  t.equal(limited.status, 504, 'other routes keep the HCM limit');
});

t.test('grpc_timeout_header_max caps grpc-timeout: DEADLINE_EXCEEDED at the cap, the capped value sent upstream', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, spec(up.port, { max_stream_duration: { grpc_timeout_header_max: '0.3s' } }));
  const session = h2Connect(t, p.port);
  const started = Date.now();
  const r = await h2Request(session, {
    method: 'POST',
    path: '/pkg.Svc/Call',
    headers: { 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '10S' },
    body: Buffer.from([0, 0, 0, 0, 0]),
  });
  const took = Date.now() - started;
  t.equal(r.status, 200, 'a gRPC caller gets trailers-only 200');
  t.equal(r.headers['grpc-status'], '4', 'DEADLINE_EXCEEDED');
  t.equal(r.headers['grpc-message'], 'downstream duration timeout');
  t.ok(took >= 250 && took < 3000, `ended at the cap (${took} ms)`);
  t.equal(up.requests[0].headers['grpc-timeout'], '300m', 'the upstream is told the capped deadline');
});

t.test('grpc_timeout_header_offset is taken off grpc-timeout (header_max 0: no cap)', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, spec(up.port, { max_stream_duration: { grpc_timeout_header_max: '0s', grpc_timeout_header_offset: '0.1s' } }));
  const session = h2Connect(t, p.port);
  const r = await h2Request(session, {
    method: 'POST',
    path: '/pkg.Svc/Call',
    headers: { 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '400m' },
    body: Buffer.from([0, 0, 0, 0, 0]),
  });
  t.equal(r.headers['grpc-status'], '4');
  t.equal(up.requests[0].headers['grpc-timeout'], '300m');
});

t.test('after the response started, the max duration resets the stream', async (t) => {
  const up = await startUpstream(t, (_req, res) => res.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial'));
  const p = await startTestProxy(t, spec(up.port, { max_stream_duration: { max_stream_duration: '0.3s' } }));
  const c = net.connect({ port: p.port, host: '127.0.0.1' });
  c.on('error', () => {});
  t.teardown(() => c.destroy());
  let text = '';
  c.on('data', (d: Buffer) => (text += d.toString('latin1')));
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  await once(c, 'close');
  t.match(text, /^HTTP\/1\.1 200 /);
  t.match(text, /partial$/, 'the connection closed mid-body');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'max_duration_timeout');
});

t.test('the HCM max_stream_duration closes a WebSocket tunnel', async (t) => {
  const up = await startWsEchoServer(t);
  const p = await startTestProxy(t, {
    routes: [route('/', 'ws', { timeout: '0s' })],
    clusters: { ws: [up.port] },
    hcm: { upgrade_configs: [{ upgrade_type: 'websocket' }], common_http_protocol_options: { max_stream_duration: '0.4s' } },
  });
  const ws = await wsConnect(t, p.port);
  const started = Date.now();
  const [code] = (await once(ws, 'close')) as [number];
  t.equal(code, 1006, 'the tunnel was cut (no close frame)');
  t.ok(Date.now() - started >= 300, 'at the max duration');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
  t.equal(line.response_code_details, 'max_duration_timeout');
  const stats = p.running.proxy.stats.httpScope('test');
  await until(() => stats.downstream_cx_upgrades_active === 0);
  t.equal(stats.downstream_rq_max_duration_reached, 1);
});
