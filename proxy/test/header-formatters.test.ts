/**
 * Envoy's `%OPERATOR%` values in `request_headers_to_add` / `response_headers_to_add` (every
 * level), real sockets: each operator on the request and the response side, `%%`, `:N`
 * truncation, `REQ(a?b)`, START_TIME formats, HTTP/2, empty values (not added unless keep_empty_value),
 * and unknown operators as config errors naming the field.
 */
import t from 'tap';
import { hostname } from 'node:os';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { buildBootstrap, ok, route, startTestProxy, startUpstream, type ProxySpec } from './helpers/harness.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';

type Json = Record<string, unknown>;
const hv = (key: string, value: string, extra: Json = {}): Json => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', ...extra });

function spec(port: number, reqAdd: Json[], respAdd: Json[] = [], level: 'route' | 'vhost' | 'config' = 'route'): ProxySpec {
  const mut = { request_headers_to_add: reqAdd, response_headers_to_add: respAdd };
  const r = route('/', 'c', {}, level === 'route' ? mut : {});
  return {
    virtualHosts: [{ name: 'default', domains: ['*'], routes: [r], ...(level === 'vhost' ? mut : {}) }],
    routeConfig: level === 'config' ? mut : {},
    clusters: { c: [port] },
  };
}

t.test('request side: downstream addresses, cluster, request headers, protocol, hostname, %%', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(
    t,
    spec(up.port, [
      hv('x-remote', '%DOWNSTREAM_REMOTE_ADDRESS%'),
      hv('x-remote-ip', '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'),
      hv('x-local', '%DOWNSTREAM_LOCAL_ADDRESS%'),
      hv('x-local-ip', '%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%'),
      hv('x-local-port', '%DOWNSTREAM_LOCAL_PORT%'),
      hv('x-cluster', 'to=%UPSTREAM_CLUSTER%;'),
      hv('x-req', '%REQ(x-a)%|%REQ(x-none?x-b)%|%REQ(x-long):3%|%REQ(:path)%|%REQ(:method)%'),
      hv('x-proto', '%PROTOCOL%'),
      hv('x-host', '%HOSTNAME%'),
      hv('x-pct', '100%% sure'),
      hv('x-upstream-host', '%UPSTREAM_HOST%'),
      hv('x-sni', '%REQUESTED_SERVER_NAME%'),
      hv('x-san', '%DOWNSTREAM_PEER_URI_SAN%', { keep_empty_value: true }),
      hv('x-literal', 'plain value'),
    ]),
  );
  const r = await p.request({ path: '/some/path?q=1', headers: { 'x-a': 'A', 'x-b': 'B', 'x-long': 'abcdef' } });
  t.equal(r.status, 200);
  const h = up.requests[0].headers;
  t.match(h['x-remote'], /^127\.0\.0\.1:\d+$/);
  t.equal(h['x-remote-ip'], '127.0.0.1');
  t.equal(h['x-local'], `127.0.0.1:${p.port}`);
  t.equal(h['x-local-ip'], '127.0.0.1');
  t.equal(h['x-local-port'], String(p.port));
  t.equal(h['x-cluster'], 'to=c;');
  t.equal(h['x-req'], 'A|B|abc|/some/path?q=1|GET');
  t.equal(h['x-proto'], 'HTTP/1.1');
  t.equal(h['x-host'], hostname());
  t.equal(h['x-pct'], '100% sure');
  t.equal(h['x-upstream-host'], undefined, 'no upstream host yet on the request side: empty, not added');
  t.equal(h['x-sni'], undefined, 'no SNI on plain text: not added');
  t.equal(h['x-san'], '', 'keep_empty_value keeps an empty result');
  t.equal(h['x-literal'], 'plain value');
});

t.test('START_TIME: ISO 8601 by default, strftime formats, :N', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(
    t,
    spec(up.port, [hv('x-iso', '%START_TIME%'), hv('x-fmt', '%START_TIME(%Y/%m/%d %H:%M:%S.%3f %z)%'), hv('x-epoch', '%START_TIME(%s)%'), hv('x-year', '%START_TIME:4%')], [], 'vhost'),
  );
  const before = Date.now();
  await p.request();
  const after = Date.now();
  const h = up.requests[0].headers;
  t.match(h['x-iso'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const iso = Date.parse(h['x-iso']);
  t.ok(iso >= before - 1 && iso <= after, 'the stream start time');
  t.match(h['x-fmt'], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{3} \+0000$/);
  t.equal(h['x-fmt'], `${h['x-iso'].slice(0, 10).replace(/-/g, '/')} ${h['x-iso'].slice(11, 23)} +0000`, 'the same instant');
  t.equal(h['x-epoch'], String(Math.floor(iso / 1000)));
  t.equal(h['x-year'], h['x-iso'].slice(0, 4));
});

t.test('response side: upstream host, response code, response and request headers', async (t) => {
  const up = await startUpstream(t, (_req, res) => res.send(201, { 'x-up': 'from-upstream' }, 'made'));
  const p = await startTestProxy(
    t,
    spec(
      up.port,
      [],
      [
        hv('x-upstream-host', '%UPSTREAM_HOST%'),
        hv('x-upstream-remote', '%UPSTREAM_REMOTE_ADDRESS%'),
        hv('x-code', 'code=%RESPONSE_CODE%'),
        hv('x-resp', '%RESP(x-up)%/%RESP(x-missing)%'),
        hv('x-req', '%REQ(x-a)%'),
        hv('x-cluster', '%UPSTREAM_CLUSTER%'),
      ],
      'config',
    ),
  );
  const r = await p.request({ headers: { 'x-a': 'asked' } });
  t.equal(r.status, 201);
  t.equal(r.headers['x-upstream-host'], `127.0.0.1:${up.port}`);
  t.equal(r.headers['x-upstream-remote'], `127.0.0.1:${up.port}`);
  t.equal(r.headers['x-code'], 'code=201');
  t.equal(r.headers['x-resp'], 'from-upstream/');
  t.equal(r.headers['x-req'], 'asked');
  t.equal(r.headers['x-cluster'], 'c');
});

t.test('weighted cluster level values are formatted too', async (t) => {
  const up = await startUpstream(t, ok());
  const wc = { clusters: [{ name: 'c', weight: 1, request_headers_to_add: [hv('x-wc', '%UPSTREAM_CLUSTER%@%DOWNSTREAM_LOCAL_PORT%')] }] };
  const p = await startTestProxy(t, { routes: [{ match: { prefix: '/' }, route: { weighted_clusters: wc, timeout: '2s' } }], clusters: { c: [up.port] } });
  await p.request();
  t.equal(up.requests[0].headers['x-wc'], `c@${p.port}`);
});

t.test('HTTP/2 downstream: %PROTOCOL% and %REQ(:authority)%', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [hv('x-proto', '%PROTOCOL%'), hv('x-auth', '%REQ(:authority)%')]));
  const s = h2Connect(t, p.port);
  const r = await h2Request(s, { path: '/', headers: { ':authority': 'shop.test' } });
  t.equal(r.status, 200);
  t.equal(up.requests[0].headers['x-proto'], 'HTTP/2');
  t.equal(up.requests[0].headers['x-auth'], 'shop.test');
});

t.test('bad operators are config errors naming the field', async (t) => {
  const errorsOf = (value: string, side: 'request' | 'response' = 'request'): string => {
    const s = side === 'request' ? spec(1, [hv('x-a', value)]) : spec(1, [], [hv('x-a', value)]);
    const parsed = parseBootstrap(JSON.stringify(buildBootstrap(s, undefined)), 'b.yaml');
    if (!parsed.ok) return JSON.stringify(parsed.errors);
    const r = compileBootstrap(parsed.value);
    return r.ok ? '' : r.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  };
  t.match(errorsOf('%BOGUS%'), /routes\[0\]\.request_headers_to_add\[0\]\.header\.value: unknown header value operator %BOGUS%/);
  t.match(errorsOf('x-%UPSTREAM_CLUSTER', 'response'), /response_headers_to_add\[0\]\.header\.value: unterminated %-operator/);
  t.match(errorsOf('%REQ()%'), /%REQ\(name\)% needs a header name/);
  t.match(errorsOf('%HOSTNAME(x)%'), /%HOSTNAME% takes no argument/);
  t.match(errorsOf('50%'), /unterminated/);
  t.equal(errorsOf('50%% and %REQ(x-a?x-b):10%'), '', 'good ones compile');
});
