/**
 * gRPC semantics of the router and the connection manager, through a real proxy with an
 * HTTP/1.1 upstream (gRPC-shaped requests over HTTP/1.1 are valid for these): local replies
 * trailers-only with Envoy's status mapping, retry_on `unavailable` read from response headers
 * only, `grpc-timeout` under `max_grpc_timeout`, and Istio's gRPC metrics.
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { failFirst, hang, ok, route, startTestProxy, startUpstream, type UpHandler } from './helpers/harness.js';
import { httpToGrpcStatus, isGrpcContentType, percentEncodeGrpcMessage } from '../src/grpc/grpc-request.js';
import { formatGrpcTimeout, grpcRouteTimeoutMs, parseGrpcTimeout } from '../src/grpc/grpc-timeout.js';
import { GrpcMessageCounter } from '../src/grpc/grpc-message-counter.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';

const GRPC = { 'content-type': 'application/grpc', te: 'trailers' };

/** One gRPC message: flag 0, length, payload. */
function frame(payload: string): Buffer {
  const p = Buffer.from(payload);
  const b = Buffer.alloc(5 + p.length);
  b.writeUInt32BE(p.length, 1);
  p.copy(b, 5);
  return b;
}

/** A trailers-only gRPC answer over HTTP/1.1: status 200, grpc-status in the head, no body. */
function trailersOnly(code: number, message = ''): UpHandler {
  return (_req, res) => res.send(200, { 'content-type': 'application/grpc', 'grpc-status': String(code), ...(message ? { 'grpc-message': message } : {}) }, '');
}

/** A gRPC answer with messages in a chunked body and grpc-status in the trailers. */
function withTrailers(code: number, messages: string[]): UpHandler {
  return (_req, res) => {
    const body = Buffer.concat(messages.map(frame));
    const s: Socket = res.socket;
    s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\ntrailer: grpc-status\r\n\r\n`);
    // Split mid-prefix to exercise the counter across chunks.
    const cut = Math.min(3, body.length);
    for (const part of [body.subarray(0, cut), body.subarray(cut)]) if (part.length > 0) s.write(`${part.length.toString(16)}\r\n${part.toString('latin1')}\r\n`, 'latin1');
    s.write(`0\r\ngrpc-status: ${code}\r\n\r\n`);
  };
}

t.test('pure parts: content type, status mapping, grpc-message encoding, grpc-timeout, message counting', async (t) => {
  t.ok(isGrpcContentType('application/grpc'));
  t.ok(isGrpcContentType('application/grpc+proto'));
  t.ok(isGrpcContentType('application/grpc;charset=utf-8'));
  t.notOk(isGrpcContentType('application/grpc-web'), 'grpc-web is not gRPC here');
  t.notOk(isGrpcContentType('application/json'));
  t.same([400, 401, 403, 404, 429, 502, 503, 504, 500, 408].map(httpToGrpcStatus), [13, 16, 7, 12, 14, 14, 14, 14, 2, 2]);
  t.equal(percentEncodeGrpcMessage('no healthy upstream'), 'no healthy upstream');
  t.equal(percentEncodeGrpcMessage('50% \n'), '50%25 %0A');
  t.equal(percentEncodeGrpcMessage(Buffer.from('é', 'utf8').toString('latin1')), '%C3%A9', 'bytes of a UTF-8 body');
  t.equal(parseGrpcTimeout('1H'), 3_600_000);
  t.equal(parseGrpcTimeout('2M'), 120_000);
  t.equal(parseGrpcTimeout('3S'), 3000);
  t.equal(parseGrpcTimeout('250m'), 250);
  t.equal(parseGrpcTimeout('1500u'), 2, 'rounded up');
  t.equal(parseGrpcTimeout('1000000n'), 1);
  for (const bad of ['', 'S', '10', '10x', '-1S', '123456789S', '1.5S']) t.equal(parseGrpcTimeout(bad), undefined, `malformed ${JSON.stringify(bad)}`);
  t.equal(grpcRouteTimeoutMs('5S', 1000, 0), 1000, 'capped at the maximum');
  t.equal(grpcRouteTimeoutMs('500m', 1000, 0), 500, 'below the maximum');
  t.equal(grpcRouteTimeoutMs(undefined, 1000, 0), 1000, 'no header: the maximum');
  t.equal(grpcRouteTimeoutMs(undefined, 0, 0), 0, 'no header, no maximum: none');
  t.equal(grpcRouteTimeoutMs('9S', 0, 0), 9000, 'maximum 0: the header');
  t.equal(grpcRouteTimeoutMs('500m', 0, 100), 400, 'offset subtracted');
  t.equal(grpcRouteTimeoutMs('50m', 0, 100), 50, 'an offset that would leave nothing is ignored');
  t.equal(formatGrpcTimeout(1500), '1500m');
  t.equal(formatGrpcTimeout(2e8), '200000S');
  const c = new GrpcMessageCounter();
  const data = Buffer.concat([frame('hello'), frame(''), frame('x'.repeat(300))]);
  for (let i = 0; i < data.length; i++) c.feed(data.subarray(i, i + 1));
  t.equal(c.count, 3, 'byte by byte');
  const d = new GrpcMessageCounter();
  d.feed(data);
  t.equal(d.count, 3, 'in one chunk');
});

t.test('local replies to gRPC callers are trailers-only with grpc-status and grpc-message', async (t) => {
  const p = await startTestProxy(t, {
    routes: [route('/svc.Empty/', 'empty'), { match: { prefix: '/direct/' }, direct_response: { status: 403, body: { inline_string: 'denied 100%' } } }],
    clusters: { empty: [] },
  });
  let r = await p.request({ method: 'POST', path: '/nowhere.Svc/Call', headers: GRPC, body: frame('x') });
  t.equal(r.status, 200, 'no route: HTTP 200');
  t.equal(r.headers['content-type'], 'application/grpc');
  t.equal(r.headers['grpc-status'], '12', 'no route (404) -> UNIMPLEMENTED');
  t.equal(r.headers['grpc-message'], undefined, 'an empty body gives no grpc-message');
  t.equal(r.body, '', 'no body');
  r = await p.request({ method: 'POST', path: '/svc.Empty/Call', headers: GRPC, body: frame('x') });
  t.equal(r.status, 200);
  t.equal(r.headers['grpc-status'], '14', 'no healthy upstream (503) -> UNAVAILABLE');
  t.equal(r.headers['grpc-message'], 'no healthy upstream');
  t.equal(r.body, '');
  r = await p.request({ method: 'POST', path: '/direct/x', headers: GRPC });
  t.equal(r.headers['grpc-status'], '7', 'a direct response 403 -> PERMISSION_DENIED');
  t.equal(r.headers['grpc-message'], 'denied 100%25', 'percent-encoded');
  r = await p.request({ method: 'POST', path: '/nowhere', headers: { 'content-type': 'application/grpc-web' } });
  t.equal(r.status, 404, 'a grpc-web request keeps the HTTP reply');
  r = await p.request({ path: '/svc.Empty/Call' });
  t.equal(r.status, 503, 'a plain request keeps the HTTP reply');
  t.equal(r.body, 'no healthy upstream');
  const log = await p.accessLog(5);
  t.equal(log[0].response_code, 200, 'the access log records the 200 sent');
  t.equal(log[0].response_flags, 'NR');
});

t.test('over HTTP/2 (prior knowledge): a gRPC local reply is one HEADERS frame ending the stream', async (t) => {
  const p = await startTestProxy(t, { routes: [route('/svc.Empty/', 'empty')], clusters: { empty: [] } });
  const s = h2Connect(t, p.port);
  const r = await h2Request(s, { method: 'POST', path: '/svc.Empty/Call', headers: GRPC, body: frame('x') });
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'application/grpc');
  t.equal(r.headers['grpc-status'], '14');
  t.equal(r.headers['grpc-message'], 'no healthy upstream');
  t.equal(r.body.length, 0, 'no data');
  t.equal(r.trailers, undefined, 'trailers-only: no separate trailers');
  const nr = await h2Request(s, { method: 'POST', path: '/other', headers: GRPC });
  t.equal(nr.headers['grpc-status'], '12');
});

t.test('retry_on unavailable: a trailers-only grpc-status 14 is retried, one in trailers is not', async (t) => {
  const up = await startUpstream(t, failFirst(1, trailersOnly(14, 'down'), withTrailers(0, ['ok'])));
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: 'unavailable', num_retries: 1 } })], clusters: { c: [up.port] } });
  let r = await p.request({ method: 'POST', path: '/svc.A/Call', headers: GRPC, body: frame('q') });
  t.equal(up.requests.length, 2, 'retried');
  t.equal(r.status, 200);
  t.equal(r.headers['grpc-status'], undefined, 'the second try answered (status in trailers)');
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_retry, 1);

  const up2 = await startUpstream(t, failFirst(1, withTrailers(14, []), withTrailers(0, ['ok'])));
  const p2 = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: 'unavailable', num_retries: 1 } })], clusters: { c: [up2.port] } });
  r = await p2.request({ method: 'POST', path: '/svc.A/Call', headers: GRPC, body: frame('q') });
  t.equal(up2.requests.length, 1, 'grpc-status 14 in trailers: not retried');
  t.equal(r.status, 200);

  const up3 = await startUpstream(t, failFirst(1, trailersOnly(13), ok('second')));
  const p3 = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up3.port] } });
  r = await p3.request({ method: 'POST', path: '/svc.A/Call', headers: { ...GRPC, 'x-envoy-retry-grpc-on': 'internal' } });
  t.equal(up3.requests.length, 2, 'x-envoy-retry-grpc-on: internal retries grpc-status 13');
  t.equal(up3.requests[0].headers['x-envoy-retry-grpc-on'], undefined, 'the control header is consumed');
  r = await p3.request({ method: 'POST', path: '/svc.A/Call', headers: { ...GRPC, 'x-envoy-retry-grpc-on': 'cancelled' } });
  t.equal(up3.requests.length, 3, 'another condition does not retry');
});

t.test('grpc-timeout under max_grpc_timeout: 504 as a gRPC reply (UNAVAILABLE), the header rewritten upstream', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, {
    routes: [route('/capped/', 'c', { timeout: '5s', max_grpc_timeout: '0.15s' }), route('/open/', 'c', { timeout: '5s', max_grpc_timeout: '0s', grpc_timeout_offset: '0.05s' }), route('/plain/', 'c', { timeout: '0.3s' })],
    clusters: { c: [up.port] },
  });
  let start = performance.now();
  let r = await p.request({ method: 'POST', path: '/capped/Call', headers: { ...GRPC, 'grpc-timeout': '10S' } });
  let took = performance.now() - start;
  t.equal(r.status, 200);
  t.equal(r.headers['grpc-status'], '14', 'upstream request timeout (504) -> UNAVAILABLE');
  t.equal(r.headers['grpc-message'], 'upstream request timeout');
  t.ok(took >= 140 && took < 2000, `capped at 150 ms (took ${took.toFixed(0)} ms)`);
  t.equal(up.requests[0].headers['grpc-timeout'], '150m', 'grpc-timeout upstream says the timeout in force');

  start = performance.now();
  r = await p.request({ method: 'POST', path: '/open/Call', headers: { ...GRPC, 'grpc-timeout': '250m' } });
  took = performance.now() - start;
  t.equal(r.headers['grpc-status'], '14');
  t.ok(took >= 190 && took < 2000, `250 ms less the 50 ms offset (took ${took.toFixed(0)} ms)`);
  t.equal(up.requests[1].headers['grpc-timeout'], '200m');

  start = performance.now();
  r = await p.request({ method: 'POST', path: '/plain/Call', headers: { ...GRPC, 'grpc-timeout': '50m' } });
  took = performance.now() - start;
  t.ok(took >= 290, `without max_grpc_timeout the route timeout applies (took ${took.toFixed(0)} ms)`);
  t.equal(up.requests[2].headers['grpc-timeout'], '50m', 'and grpc-timeout passes unchanged');
});

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const STATS = { name: 'istio.stats', typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/stats.PluginConfig', value: {} } };

t.test('Istio metrics: request_protocol grpc, grpc_response_status, message counts', async (t) => {
  const up = await startUpstream(t, (req, res) => (req.path === '/svc.A/Fail' ? trailersOnly(8)(req, res) : withTrailers(0, ['a', 'bb', 'ccc'])(req, res)));
  const p = await startTestProxy(t, { listener: { traffic_direction: 'INBOUND' }, hcm: { http_filters: [STATS, ROUTER] }, routes: [route('/svc.A/', 'c'), route('/plain', 'c')], clusters: { c: [up.port] } });
  await p.request({ method: 'POST', path: '/svc.A/Call', headers: GRPC, body: Buffer.concat([frame('one'), frame('two')]) });
  await p.request({ method: 'POST', path: '/svc.A/Fail', headers: GRPC, body: frame('one') });
  await p.request({ method: 'POST', path: '/missing', headers: GRPC, body: frame('one') });
  await p.request({ path: '/plain' });
  const text = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats/prometheus`)).text();
  const line = (metric: string, status: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`grpc_response_status="${status}"`) && l.includes('request_protocol="grpc"'));
  t.match(line('istio_requests_total', '0'), /response_code="200",grpc_response_status="0",response_flags="-".* 1$/, 'status from trailers');
  t.match(line('istio_requests_total', '8'), /response_code="200",grpc_response_status="8".* 1$/, 'status from trailers-only headers');
  t.match(line('istio_requests_total', '12'), /response_code="200",grpc_response_status="12",response_flags="NR".* 1$/, 'a local reply');
  t.match(text, /istio_requests_total\{[^}]*request_protocol="http",response_code="200",grpc_response_status="",[^}]*\} 1/, 'plain HTTP: protocol http, no grpc status');
  t.match(line('istio_request_messages_total', '0'), / 2$/, 'two request messages');
  t.match(line('istio_response_messages_total', '0'), / 3$/, 'three response messages');
  t.match(line('istio_response_messages_total', '8'), / 0$/, 'a trailers-only answer has none');
  t.notMatch(text, /istio_request_messages_total\{[^}]*request_protocol="http"/, 'no message series for HTTP edges');
});
