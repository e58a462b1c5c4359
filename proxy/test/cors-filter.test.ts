/**
 * Envoy's CORS filter (`envoy.filters.http.cors`) on a plain bootstrap, real sockets: preflights
 * answered by the proxy without the upstream, actual requests from allowed origins get the
 * access-control-* headers, disallowed origins get none (their preflight goes upstream, or is
 * refused with `forward_not_matching_preflights: false`), exact / prefix / regex origins, the
 * route's policy over the virtual host's, and config errors that name the field.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { buildBootstrap, ok, route, startTestProxy, startUpstream, type ProxySpec } from './helpers/harness.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';

const CORS = 'envoy.filters.http.cors';
const CORS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const POLICY_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

type Json = Record<string, unknown>;

const POLICY: Json = {
  allow_origin_string_match: [{ exact: 'https://app.example.com' }, { prefix: 'https://dev.' }, { safe_regex: { regex: 'https://[a-z]+\\.example\\.org' } }],
  allow_methods: 'GET,POST,PUT',
  allow_headers: 'content-type,x-token',
  expose_headers: 'x-trace',
  max_age: '600',
  allow_credentials: true,
  filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
  forward_not_matching_preflights: true,
};

function corsRoute(prefix: string, policy: Json): Json {
  return route(prefix, 'c', {}, { typed_per_filter_config: { [CORS]: { '@type': POLICY_TYPE, ...policy } } });
}

function spec(port: number, routes: Json[], vhostPolicy?: Json): ProxySpec {
  const vh: Json = { name: 'default', domains: ['*'], routes };
  if (vhostPolicy !== undefined) vh.typed_per_filter_config = { [CORS]: { '@type': POLICY_TYPE, ...vhostPolicy } };
  return { virtualHosts: [vh], clusters: { c: [port] }, hcm: { http_filters: [{ name: CORS, typed_config: { '@type': CORS_TYPE } }, ROUTER] } };
}

const preflight = (origin: string, extra: Record<string, string> = {}): { method: string; path: string; headers: Record<string, string> } => ({
  method: 'OPTIONS',
  path: '/api',
  headers: { origin, 'access-control-request-method': 'PUT', ...extra },
});

t.test('a preflight from an allowed origin is answered by the proxy, not the upstream', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', POLICY)]));
  const r = await p.request(preflight('https://app.example.com', { 'access-control-request-headers': 'x-token' }));
  t.equal(r.status, 200);
  t.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(r.headers['access-control-allow-methods'], 'GET,POST,PUT');
  t.equal(r.headers['access-control-allow-headers'], 'content-type,x-token');
  t.equal(r.headers['access-control-max-age'], '600');
  t.equal(r.headers['access-control-allow-credentials'], 'true');
  t.equal(r.body, '');
  t.equal(up.requests.length, 0, 'never reached the upstream');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'cors_response');
});

t.test('an actual request from an allowed origin gets allow-origin, credentials and expose-headers', async (t) => {
  const up = await startUpstream(t, ok('hello', { 'access-control-allow-origin': 'https://upstream.invalid' }));
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', POLICY)]));
  const r = await p.request({ path: '/api', headers: { origin: 'https://dev.shop.test' } });
  t.equal(r.status, 200);
  t.equal(r.body, 'hello');
  t.equal(r.headers['access-control-allow-origin'], 'https://dev.shop.test', 'the filter overwrites the upstream\'s');
  t.equal(r.headers['access-control-allow-credentials'], 'true');
  t.equal(r.headers['access-control-expose-headers'], 'x-trace');
  t.equal(r.headers['access-control-allow-methods'], undefined, 'preflight-only headers are not added');
  t.equal(up.requests.length, 1);
  t.equal(up.requests[0].headers.origin, 'https://dev.shop.test', 'the origin goes upstream as sent');
});

t.test('the router\'s own replies (no healthy upstream) carry the headers for an allowed origin too', async (t) => {
  const p = await startTestProxy(t, { ...spec(1, [corsRoute('/', POLICY)]), clusters: { c: { endpoints: [] } } });
  const r = await p.request({ path: '/api', headers: { origin: 'https://app.example.com' } });
  t.equal(r.status, 503);
  t.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(r.headers['access-control-allow-credentials'], 'true');
  const other = await p.request({ path: '/api', headers: { origin: 'https://evil.test' } });
  t.equal(other.status, 503);
  t.equal(other.headers['access-control-allow-origin'], undefined);
});

t.test('a regex origin: full match only', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', POLICY)]));
  const yes = await p.request({ path: '/', headers: { origin: 'https://shop.example.org' } });
  t.equal(yes.headers['access-control-allow-origin'], 'https://shop.example.org');
  const no = await p.request({ path: '/', headers: { origin: 'https://shop.example.org.evil.test' } });
  t.equal(no.headers['access-control-allow-origin'], undefined, 'the regex is anchored');
});

t.test('a disallowed origin: no CORS headers, its preflight goes upstream (forward_not_matching_preflights)', async (t) => {
  const up = await startUpstream(t, ok('from upstream'));
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', POLICY)]));
  const r = await p.request({ path: '/api', headers: { origin: 'https://evil.test' } });
  t.equal(r.status, 200);
  for (const h of Object.keys(r.headers)) t.notOk(h.startsWith('access-control-'), `no ${h}`);
  const pre = await p.request(preflight('https://evil.test'));
  t.equal(pre.body, 'from upstream', 'forwarded');
  t.equal(pre.headers['access-control-allow-origin'], undefined);
  t.equal(up.requests.length, 2);
  t.equal(up.requests[1].method, 'OPTIONS');
  const plain = await p.request({ path: '/api' });
  t.equal(plain.headers['access-control-allow-origin'], undefined, 'no Origin: not a CORS request');
});

t.test('forward_not_matching_preflights false (unmatchedPreflights IGNORE): the proxy answers without allow-origin', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', { ...POLICY, forward_not_matching_preflights: false })]));
  const r = await p.request(preflight('https://evil.test'));
  t.equal(r.status, 200);
  t.equal(r.headers['access-control-allow-origin'], undefined);
  t.equal(r.headers['access-control-allow-methods'], 'GET,POST,PUT');
  t.equal(up.requests.length, 0);
});

t.test('without credentials no allow-credentials; "*" methods and headers echo the preflight', async (t) => {
  const up = await startUpstream(t);
  const policy = { allow_origin_string_match: [{ exact: 'https://a.test' }], allow_methods: '*', allow_headers: '*' };
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', policy)]));
  const r = await p.request(preflight('https://a.test', { 'access-control-request-headers': 'x-one,x-two' }));
  t.equal(r.headers['access-control-allow-credentials'], undefined);
  t.equal(r.headers['access-control-allow-methods'], 'PUT');
  t.equal(r.headers['access-control-allow-headers'], 'x-one,x-two');
  t.equal(r.headers['access-control-max-age'], undefined);
  const a = await p.request({ path: '/', headers: { origin: 'https://a.test' } });
  t.equal(a.headers['access-control-allow-credentials'], undefined);
  t.equal(a.headers['access-control-allow-origin'], 'https://a.test');
});

t.test('the route\'s set fields override the virtual host\'s; a route without its own uses the host\'s', async (t) => {
  const up = await startUpstream(t);
  const vhost = { allow_origin_string_match: [{ exact: 'https://vh.test' }], allow_methods: 'GET', max_age: '60' };
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/own', { allow_methods: 'DELETE' }), route('/', 'c')], vhost));
  const own = await p.request({ ...preflight('https://vh.test'), path: '/own' });
  t.equal(own.headers['access-control-allow-methods'], 'DELETE', 'the route\'s');
  t.equal(own.headers['access-control-max-age'], '60', 'the virtual host\'s, unset on the route');
  t.equal(own.headers['access-control-allow-origin'], 'https://vh.test');
  const other = await p.request({ ...preflight('https://vh.test'), path: '/other' });
  t.equal(other.headers['access-control-allow-methods'], 'GET');
  t.equal(up.requests.length, 0);
});

t.test('filter_enabled 0 %: the filter does nothing; a chain without the filter ignores the policies', async (t) => {
  const up = await startUpstream(t, ok('up'));
  const off = await startTestProxy(t, spec(up.port, [corsRoute('/', { ...POLICY, filter_enabled: { default_value: { numerator: 0 } } })]));
  const r = await off.request(preflight('https://app.example.com'));
  t.equal(r.body, 'up');
  t.equal(r.headers['access-control-allow-origin'], undefined);
  const noFilter = await startTestProxy(t, { ...spec(up.port, [corsRoute('/', POLICY)]), hcm: { http_filters: [ROUTER] } });
  const r2 = await noFilter.request(preflight('https://app.example.com'));
  t.equal(r2.body, 'up');
});

t.test('HTTP/2: the preflight answered, the actual request decorated', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', POLICY)]));
  const s = h2Connect(t, p.port);
  const pre = await h2Request(s, { method: 'OPTIONS', path: '/api', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
  t.equal(pre.status, 200);
  t.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(pre.headers['access-control-max-age'], '600');
  t.equal(up.requests.length, 0);
  const r = await h2Request(s, { path: '/api', headers: { origin: 'https://app.example.com' } });
  t.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(r.headers['access-control-expose-headers'], 'x-trace');
});

t.test('stats: origin_valid and origin_invalid; shadow_enabled alone counts but enforces nothing', async (t) => {
  const stat = (p: { running: { proxy: { stats: { renderText(): string } } } }, name: string): number => {
    const m = new RegExp(`^http\\.test\\.cors\\.${name}: (\\d+)$`, 'm').exec(p.running.proxy.stats.renderText());
    return m === null ? NaN : Number(m[1]);
  };
  const up = await startUpstream(t, ok('up'));
  const p = await startTestProxy(t, spec(up.port, [corsRoute('/', POLICY)]));
  await p.request({ headers: { origin: 'https://app.example.com' } });
  await p.request(preflight('https://app.example.com'));
  await p.request({ headers: { origin: 'https://evil.test' } });
  await p.request();
  t.equal(stat(p, 'origin_valid'), 2);
  t.equal(stat(p, 'origin_invalid'), 1, 'a request without Origin is not counted');
  const shadow = { ...POLICY, filter_enabled: { default_value: { numerator: 0 } }, shadow_enabled: { default_value: { numerator: 100 } } };
  const s = await startTestProxy(t, spec(up.port, [corsRoute('/', shadow)]));
  const pre = await s.request(preflight('https://app.example.com'));
  t.equal(pre.body, 'up', 'not answered: forwarded');
  t.equal(pre.headers['access-control-allow-origin'], undefined);
  await s.request({ headers: { origin: 'https://evil.test' } });
  t.equal(stat(s, 'origin_valid'), 1);
  t.equal(stat(s, 'origin_invalid'), 1);
});

t.test('config errors name the field', async (t) => {
  const errorsOf = (policy: Json): string => {
    const parsed = parseBootstrap(JSON.stringify(buildBootstrap(spec(1, [corsRoute('/', policy)]), undefined)), 'b.yaml');
    if (!parsed.ok) return JSON.stringify(parsed.errors);
    const r = compileBootstrap(parsed.value);
    return r.ok ? '' : r.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  };
  t.match(errorsOf({ max_age: 'ten' }), /typed_per_filter_config\.envoy\.filters\.http\.cors\.max_age: must be a number of seconds/);
  t.match(errorsOf({ allow_origin_string_match: [{ safe_regex: { regex: '(' } }] }), /allow_origin_string_match\[0\]\.safe_regex\.regex: invalid regex/);
  t.match(errorsOf({ allow_private_network_access: true }), /allow_private_network_access is not supported/);
  t.equal(errorsOf(POLICY), '', 'a good one compiles');
});
