/** Headers the proxy adds, keeps, consumes or drops, in both directions. */
import t from 'tap';
import { failFirst, ok, parseResponses, route, startTestProxy, startUpstream, status, UUID_V4, type UpHandler } from './helpers/harness.js';

t.test('x-envoy-upstream-service-time: numeric on proxied responses, >= the upstream delay, absent on local replies', async (t) => {
  const up = await startUpstream(t, ok('slow', {}, 50));
  const p = await startTestProxy(t, {
    routes: [route('/up', 'c'), { match: { prefix: '/local' }, direct_response: { status: 200, body: { inline_string: 'hi' } } }],
    clusters: { c: [up.port] },
  });
  const r = await p.request({ path: '/up' });
  const v = r.headers['x-envoy-upstream-service-time'];
  t.match(v, /^\d+$/, 'whole milliseconds');
  t.ok(Number(v) >= 50, `service time ${v} >= 50 ms delay`);
  const local = await p.request({ path: '/local' });
  t.equal(local.status, 200);
  t.notOk('x-envoy-upstream-service-time' in local.headers, 'absent on direct_response');
  const nr = await p.request({ path: '/nowhere' });
  t.equal(nr.status, 404);
  t.notOk('x-envoy-upstream-service-time' in nr.headers, 'absent on no-route reply');
});

t.test('x-envoy-upstream-service-time: this hop\'s value replaces the one the upstream sent (one header)', async (t) => {
  const up = await startUpstream(t, ok('from a sidecar', { 'x-envoy-upstream-service-time': '999' }));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.request({ path: '/' });
  t.equal(r.headerNames.filter((n) => n === 'x-envoy-upstream-service-time').length, 1, 'exactly one');
  t.not(r.headers['x-envoy-upstream-service-time'], '999', 'the upstream value is replaced');
});

t.test('x-request-id: a UUID v4 is generated when absent, kept when present', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  await p.request();
  await p.request();
  await p.request({ headers: { 'x-request-id': 'client-id-1' } });
  t.match(up.requests[0].headers['x-request-id'], UUID_V4);
  t.not(up.requests[0].headers['x-request-id'], up.requests[1].headers['x-request-id'], 'a new id per request');
  t.equal(up.requests[2].headers['x-request-id'], 'client-id-1');
  const log = await p.accessLog(3);
  t.equal(log[0].request_id, up.requests[0].headers['x-request-id'], 'access log shows the generated id');
});

t.test('x-forwarded-proto is http when absent; x-forwarded-for is not appended without use_remote_address', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  await p.request();
  await p.request({ headers: { 'x-forwarded-for': '10.0.0.1' } });
  t.equal(up.requests[0].headers['x-forwarded-proto'], 'http');
  t.notOk('x-forwarded-for' in up.requests[0].headers, 'no xff invented');
  t.equal(up.requests[1].headers['x-forwarded-for'], '10.0.0.1', 'client xff passed unchanged');
});

t.test('x-forwarded-for gets the peer address appended with use_remote_address: true', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { use_remote_address: true } });
  await p.request();
  await p.request({ headers: { 'x-forwarded-for': '10.0.0.1' } });
  t.equal(up.requests[0].headers['x-forwarded-for'], '127.0.0.1');
  t.equal(up.requests[1].headers['x-forwarded-for'], '10.0.0.1,127.0.0.1');
});

t.test('x-envoy-attempt-count is 1, then 2 on a retry; x-envoy-expected-rq-timeout-ms carries the timeout', async (t) => {
  const up = await startUpstream(t, failFirst(1, status(503)));
  const p = await startTestProxy(t, {
    routes: [
      route('/retry', 'c', { timeout: '1.5s', retry_policy: { retry_on: '5xx', num_retries: 1 } }),
      route('/pertry', 'c', { timeout: '1.5s', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.4s' } }),
      route('/notimeout', 'c', { timeout: '0s' }),
    ],
    clusters: { c: [up.port] },
  });
  const r = await p.request({ path: '/retry' });
  t.equal(r.status, 200);
  t.equal(up.requests[0].headers['x-envoy-attempt-count'], '1');
  t.equal(up.requests[1].headers['x-envoy-attempt-count'], '2');
  t.equal(up.requests[0].headers['x-envoy-expected-rq-timeout-ms'], '1500');
  await p.request({ path: '/pertry' });
  t.equal(up.requests[2].headers['x-envoy-expected-rq-timeout-ms'], '400', 'per-try timeout when set');
  await p.request({ path: '/notimeout' });
  t.notOk('x-envoy-expected-rq-timeout-ms' in up.requests[3].headers, 'absent when no timeout applies');
});

t.test('envoy control headers from the client are consumed, not forwarded', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  await p.request({ headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '2', 'x-envoy-upstream-rq-timeout-ms': '700', 'x-envoy-attempt-count': '9' } });
  const h = up.requests[0].headers;
  t.notOk('x-envoy-retry-on' in h);
  t.notOk('x-envoy-max-retries' in h);
  t.notOk('x-envoy-upstream-rq-timeout-ms' in h);
  t.equal(h['x-envoy-attempt-count'], '1', 'client attempt count replaced');
  t.equal(h['x-envoy-expected-rq-timeout-ms'], '700', 'x-envoy-upstream-rq-timeout-ms honoured');
});

t.test('server header per server_name and server_header_transformation', async (t) => {
  const withServer: UpHandler = ok('x', { server: 'app/1.0' });
  const without: UpHandler = ok('x');
  const cases: { sht: string | undefined; upstreamServer: boolean; want: string | undefined; local: string | undefined }[] = [
    { sht: undefined, upstreamServer: true, want: 'istio-envoy', local: 'istio-envoy' },
    { sht: 'OVERWRITE', upstreamServer: false, want: 'istio-envoy', local: 'istio-envoy' },
    { sht: 'APPEND_IF_ABSENT', upstreamServer: true, want: 'app/1.0', local: 'istio-envoy' },
    { sht: 'APPEND_IF_ABSENT', upstreamServer: false, want: 'istio-envoy', local: 'istio-envoy' },
    { sht: 'PASS_THROUGH', upstreamServer: true, want: 'app/1.0', local: undefined },
    { sht: 'PASS_THROUGH', upstreamServer: false, want: undefined, local: undefined },
  ];
  for (const c of cases) {
    const up = await startUpstream(t, c.upstreamServer ? withServer : without);
    const hcm: Record<string, unknown> = { server_name: 'istio-envoy' };
    if (c.sht !== undefined) hcm.server_header_transformation = c.sht;
    const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm, accessLog: false });
    const r = await p.request({ path: '/' });
    t.equal(r.headers.server, c.want, `${c.sht ?? 'default'}, upstream ${c.upstreamServer ? 'sends' : 'has no'} server`);
    t.ok(r.headerNames.filter((n) => n === 'server').length <= 1, 'at most one server header');
  }
  // default server_name is envoy; local replies carry it too
  const p = await startTestProxy(t, { routes: [], accessLog: false });
  const nr = await p.request();
  t.equal(nr.headers.server, 'envoy', 'default server_name on a local reply');
  const pt = await startTestProxy(t, { routes: [], accessLog: false, hcm: { server_header_transformation: 'PASS_THROUGH' } });
  t.notOk('server' in (await pt.request()).headers, 'PASS_THROUGH: no server header on a local reply');
});

t.test('hop-by-hop headers are never forwarded, in either direction', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.socket.write(
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: x-up-hop\r\nkeep-alive: timeout=5\r\nx-up-hop: secret\r\nupgrade: h2c\r\nproxy-connection: keep-alive\r\nte: trailers\r\nx-up-keep: yes\r\n\r\nok',
    );
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.raw(
    'GET / HTTP/1.1\r\nhost: h\r\nconnection: keep-alive, x-foo\r\nkeep-alive: timeout=5\r\nte: trailers\r\nupgrade: websocket\r\nproxy-connection: keep-alive\r\nx-foo: hop\r\nx-bar: end-to-end\r\n\r\n',
    { until: (s) => s.endsWith('ok') },
  );
  const h = up.requests[0].headers;
  for (const n of ['connection', 'keep-alive', 'te', 'upgrade', 'proxy-connection', 'x-foo']) t.notOk(n in h, `request: ${n} not forwarded`);
  t.equal(h['x-bar'], 'end-to-end', 'request: end-to-end header kept');
  const [resp] = parseResponses(r.text);
  t.equal(resp.status, 200);
  for (const n of ['keep-alive', 'x-up-hop', 'upgrade', 'proxy-connection', 'te']) t.notOk(n in resp.headers, `response: ${n} not forwarded`);
  t.not(resp.headers.connection ?? '', 'x-up-hop', 'response: upstream connection header not forwarded');
  t.equal(resp.headers['x-up-keep'], 'yes', 'response: end-to-end header kept');
});
