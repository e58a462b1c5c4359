import t from 'tap';
import fs from 'node:fs';
import { parseBootstrap, parseResource, TYPE_URL, type Cluster } from '@minimesh/api';
import { compileBootstrap, compileCluster, compileRe2, matchRoute, selectVirtualHost, type ForwardActionRt, type RedirectActionRt, type DirectResponseActionRt } from '../src/index.js';
import { fmt, req, routeConfig, routeConfigErrors } from './helpers.js';

const fixture = (name: string): string => fs.readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

function compileText(text: string) {
  const p = parseBootstrap(text, 'b.yaml');
  if (!p.ok) return { ok: false as const, errors: p.errors.map(fmt) };
  const c = compileBootstrap(p.value);
  return c.ok ? { ok: true as const, value: c.value } : { ok: false as const, errors: c.errors.map(fmt) };
}

t.test('a full bootstrap compiles into runtime tables', async (t) => {
  const r = compileText(fixture('bootstrap-full.yaml'));
  if (!r.ok) return t.fail(r.errors.join('\n'));
  const cfg = r.value;
  t.same(cfg.node.metadata, { app: 'web', version: 'v1' }, 'Struct metadata becomes plain JSON');
  t.same(cfg.admin, { address: '127.0.0.1', port: 15000 });
  const l = cfg.listeners[0];
  t.equal(l.port, 8080);
  t.equal(l.hcm!.useRemoteAddress, true);
  t.equal(l.hcm!.maxHeadersCount, 50);
  t.equal(l.hcm!.maxRequestHeadersBytes, 60 * 1024, 'default 60 KiB');
  t.same(l.hcm!.accessLogs, [{ path: '/dev/stdout', textFormat: '[%START_TIME%] %REQ(:METHOD)% %RESPONSE_CODE%\n', jsonFormat: undefined }]);
  t.same(l.hcm!.routeConfig.responseHeadersToAdd, [{ name: 'x-mesh', value: 'minimesh', action: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }]);
  const vh = selectVirtualHost(l.hcm!.routeConfig, 'web.example.com:8080')!;
  t.equal(vh.name, 'web');
  const api = matchRoute(vh, req('/api/x', { 'x-canary': 'yes' }))!;
  const fwd = api.action as ForwardActionRt;
  t.same(fwd.clusters.map((c) => [c.name, c.weight]), [['api_v1', 90], ['api_v2', 10]]);
  t.equal(fwd.timeoutMs, 2000);
  t.equal(fwd.retryPolicy?.numRetries, 3, 'the route retry policy overrides the vhost one');
  t.equal(fwd.retryPolicy?.perTryTimeoutMs, 500);
  t.same([...fwd.retryPolicy!.retriableStatusCodes], [503]);
  const items = matchRoute(vh, req('/items/9'))!.action as ForwardActionRt;
  t.equal(items.prefixRewrite, '/v1/items/');
  t.same([...items.retryPolicy!.retryOn], ['5xx', 'connect-failure'], 'the vhost retry policy applies when the route has none');
  t.equal(items.retryPolicy?.numRetries, 2);
  t.equal(items.retryPolicy?.baseIntervalMs, 25);
  t.equal(items.retryPolicy?.maxIntervalMs, 250);
  t.equal(items.timeoutMs, 15000, 'default route timeout 15 s');
  t.same(matchRoute(vh, req('/old'))!.action, { kind: 'redirect', status: 302, schemeRedirect: undefined, httpsRedirect: false, hostRedirect: undefined, portRedirect: undefined, pathRedirect: '/new', prefixRewrite: undefined, stripQuery: false } satisfies RedirectActionRt);
  const direct = matchRoute(vh, req('/health'))!.action as DirectResponseActionRt;
  t.equal(direct.status, 200);
  t.equal(direct.body?.toString(), 'ok');
  const catchall = selectVirtualHost(l.hcm!.routeConfig, 'other')!;
  t.equal((matchRoute(catchall, req('/'))!.action as ForwardActionRt).timeoutMs, 0, 'timeout 0s = none');
  const v1 = cfg.clusters.get('api_v1')!;
  t.equal(v1.connectTimeoutMs, 250);
  t.same(v1.endpoints.map((e) => [e.port, e.weight]), [[9001, 1], [9002, 3]]);
  t.same(v1.circuitBreakers, { maxConnections: 100, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 5 });
  t.equal(v1.upstreamIdleTimeoutMs, 30000);
  t.equal(v1.maxRequestsPerConnection, 100);
  const v2 = cfg.clusters.get('api_v2')!;
  t.equal(v2.type, 'STRICT_DNS');
  t.equal(v2.lbPolicy, 'LEAST_REQUEST');
  t.equal(v2.dnsRefreshRateMs, 10000);
  t.equal(v2.connectTimeoutMs, 5000, 'default connect timeout 5 s');
  t.equal(v2.endpoints[0].hostname, 'api-v2.internal');
  t.equal(v2.perConnectionBufferLimitBytes, 1024 * 1024);
});

t.test('routes to unknown clusters are errors at the route', async (t) => {
  const text = fixture('bootstrap-full.yaml').replace('route: { cluster: api_v1, prefix_rewrite', 'route: { cluster: nope, prefix_rewrite');
  const r = compileText(text);
  t.notOk(r.ok);
  if (!r.ok) t.same(r.errors, ['static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].route.cluster: unknown cluster "nope"']);
});

const HCM_HEAD = `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 0.0.0.0, port_value: 1 } }
    LISTENER_EXTRA
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          HCM_EXTRA
          http_filters: [{ name: envoy.filters.http.router }]
          route_config:
            virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, ROUTE_EXTRA route: { cluster: c } }] }]
  clusters:
  - name: c
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 2 } } } }] }] }
    CLUSTER_EXTRA
TOP_EXTRA
`;
function withExtra(x: Partial<Record<'LISTENER_EXTRA' | 'HCM_EXTRA' | 'ROUTE_EXTRA' | 'CLUSTER_EXTRA' | 'TOP_EXTRA', string>>): string {
  let s = HCM_HEAD;
  for (const k of ['LISTENER_EXTRA', 'HCM_EXTRA', 'ROUTE_EXTRA', 'CLUSTER_EXTRA', 'TOP_EXTRA'] as const) s = s.replace(k, x[k] ?? '');
  return s;
}
const L = 'static_resources.listeners[0]';
const H = `${L}.filter_chains[0].filters[0].typed_config`;
const R = `${H}.route_config.virtual_hosts[0].routes[0]`;
const C = 'static_resources.clusters[0]';

t.test('the minimal template compiles', async (t) => {
  const r = compileText(withExtra({}));
  t.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
});

const rejected: [string, Parameters<typeof withExtra>[0], RegExp][] = [
  ['unknown listener filter', { LISTENER_EXTRA: 'listener_filters: [{ name: envoy.filters.listener.proxy_protocol }]' }, new RegExp(`^${esc(L)}\\.listener_filters\\[0\\]: listener filter "envoy.filters.listener.proxy_protocol" is not supported by minimesh`)],
  ['rds', { HCM_EXTRA: 'rds: { route_config_name: x }' }, /typed_config\.route_config: only one of|rds: rds is not supported/],
  ['HTTP/3 codec', { HCM_EXTRA: 'codec_type: HTTP3' }, new RegExp(`^${esc(H)}\\.codec_type: HTTP3 is not supported by minimesh \\(AUTO, HTTP1 or HTTP2\\)`)],
  ['HTTP/2 window below the minimum', { HCM_EXTRA: 'http2_protocol_options: { initial_stream_window_size: 100 }' }, new RegExp(`^${esc(H)}\\.http2_protocol_options\\.initial_stream_window_size: must be an integer between 65535 and 2147483647 \\(got 100\\)$`)],
  ['zero HTTP/2 streams', { HCM_EXTRA: 'http2_protocol_options: { max_concurrent_streams: 0 }' }, new RegExp(`^${esc(H)}\\.http2_protocol_options\\.max_concurrent_streams: must be an integer between 1 and 2147483647`)],
  ['HTTP/2 METADATA frames', { HCM_EXTRA: 'http2_protocol_options: { allow_metadata: true }' }, new RegExp(`^${esc(H)}\\.http2_protocol_options\\.allow_metadata: not supported by minimesh yet$`)],
  ['negative HCM max_stream_duration', { HCM_EXTRA: 'common_http_protocol_options: { max_stream_duration: -1s }' }, new RegExp(`^${esc(H)}\\.common_http_protocol_options\\.max_stream_duration: .*-1s`)],
  ['unsupported HTTP/2 option', { HCM_EXTRA: 'http2_protocol_options: { hpack_table_size: 0 }' }, new RegExp(`^${esc(H)}\\.http2_protocol_options\\.hpack_table_size: field not supported by minimesh$`)],
  ['unsupported HCM field', { HCM_EXTRA: 'merge_slashes: true' }, new RegExp(`^${esc(H)}\\.merge_slashes: field not supported by minimesh$`)],
  ['route field changing behaviour', { ROUTE_EXTRA: 'decorator: { operation: x },' }, new RegExp(`^${esc(R)}\\.decorator: field not supported by minimesh$`)],
  ['a transport socket without its config', { CLUSTER_EXTRA: 'transport_socket: { name: tls }' }, new RegExp(`^${esc(C)}\\.transport_socket\\.typed_config: only envoy\\.transport_sockets\\.tls .* are supported by minimesh \\(got no typed_config\\)`)],
  ['health checks', { CLUSTER_EXTRA: 'health_checks: [{ timeout: 1s }]' }, new RegExp(`^${esc(C)}\\.health_checks: health_checks is not supported by minimesh yet`)],
  ['outlier detection monitors', { CLUSTER_EXTRA: 'outlier_detection: { monitors: [{ name: x }] }' }, new RegExp(`^${esc(C)}\\.outlier_detection\\.monitors: monitors are not supported by minimesh`)],
  ['dynamic_resources', { TOP_EXTRA: 'dynamic_resources: { ads_config: { api_type: GRPC } }' }, /^dynamic_resources: dynamic_resources \(xDS\) is not supported/],
  ['runtime overrides', { TOP_EXTRA: 'layered_runtime: { layers: [{ name: s, static_layer: { a: 1 } }] }' }, /^layered_runtime\.layers\[0\]\.static_layer: runtime overrides/],
  ['overload actions', { TOP_EXTRA: 'overload_manager: { actions: [{ name: x }] }' }, /^overload_manager\.actions: overload actions/],
];
t.test('unsupported fields are rejected with their path', async (t) => {
  for (const [name, extra, re] of rejected) {
    const r = compileText(withExtra(extra));
    t.notOk(r.ok, name);
    if (!r.ok) t.match(r.errors.join('\n'), re, name);
  }
});

t.test('harmless fields are accepted', async (t) => {
  const r = compileText(withExtra({ HCM_EXTRA: 'codec_type: HTTP1\n          use_remote_address: false\n          server_name: mm', TOP_EXTRA: 'stats_config: {}\nlayered_runtime: { layers: [{ name: admin, admin_layer: {} }] }' }));
  t.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  if (r.ok) t.equal(r.value.listeners[0].hcm!.serverName, 'mm');
});

t.test('codec_type and http2_protocol_options reach the runtime config', async (t) => {
  const def = compileText(withExtra({}));
  t.ok(def.ok);
  if (def.ok) {
    t.equal(def.value.listeners[0].hcm!.codecType, 'AUTO', 'AUTO by default');
    t.same(def.value.listeners[0].hcm!.http2, { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456, allowConnect: false }, "Envoy's defaults");
    t.equal(def.value.listeners[0].hcm!.maxStreamDurationMs, 0, 'no max_stream_duration by default');
  }
  const r = compileText(
    withExtra({ HCM_EXTRA: 'codec_type: HTTP2\n          http2_protocol_options: { max_concurrent_streams: 7, initial_stream_window_size: 65535, initial_connection_window_size: 1048576, allow_connect: false }' }),
  );
  t.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  if (r.ok) {
    t.equal(r.value.listeners[0].hcm!.codecType, 'HTTP2');
    t.same(r.value.listeners[0].hcm!.http2, { maxConcurrentStreams: 7, initialStreamWindowSize: 65535, initialConnectionWindowSize: 1048576, allowConnect: false });
  }
  const ws = compileText(withExtra({ HCM_EXTRA: 'http2_protocol_options: { allow_connect: true }\n          common_http_protocol_options: { max_stream_duration: 2.5s }' }));
  t.ok(ws.ok, ws.ok ? '' : ws.errors.join('\n'));
  if (ws.ok) {
    t.equal(ws.value.listeners[0].hcm!.http2.allowConnect, true, 'allow_connect: extended CONNECT (WebSocket over HTTP/2) accepted');
    t.equal(ws.value.listeners[0].hcm!.maxStreamDurationMs, 2500);
  }
});

t.test('an HTTP filter other than the router is rejected', async (t) => {
  const r = compileText(withExtra({}).replace('http_filters: [{ name: envoy.filters.http.router }]', 'http_filters: [{ name: envoy.filters.http.compressor }, { name: envoy.filters.http.router }]'));
  t.notOk(r.ok);
  if (!r.ok) t.same(r.errors, [`${H}.http_filters[0]: HTTP filter "envoy.filters.http.compressor" is not supported by minimesh yet (only istio.metadata_exchange, istio.stats, envoy.filters.http.jwt_authn, envoy.filters.http.rbac, envoy.filters.http.fault, envoy.filters.http.cors and envoy.filters.http.router)`]);
});

t.test('all errors are collected, not only the first', async (t) => {
  const errs = routeConfigErrors(`
virtual_hosts:
- name: a
  domains: ["a.com", "*.b.*"]
  routes:
  - match: { prefix: / }
    route: { cluster: x, retry_policy: { retry_on: "5xx,bogus" } }
  - match: { safe_regex: { regex: "(?=x)y" } }
    direct_response: { status: 99 }
- name: b
  domains: ["A.com"]
  routes: []
`);
  t.same(errs, [
    'virtual_hosts[0].domains[1]: invalid domain "*.b.*" (use "*", "*.suffix", "prefix*" or an exact host, optionally with :port)',
    'virtual_hosts[0].routes[0].route.retry_policy.retry_on: unknown retry condition "bogus" (known: 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)',
    'virtual_hosts[0].routes[1].match.safe_regex.regex: invalid regex "(?=x)y": lookahead/lookbehind assertions are not supported by RE2',
    'virtual_hosts[0].routes[1].direct_response.status: must be between 200 and 599',
    'virtual_hosts[1].domains[0]: duplicate domain "a.com" (already in virtual_hosts[0])',
  ]);
});

t.test('RE2 translation', async (t) => {
  const ok = (p: string, s: string, want: boolean) => {
    const r = compileRe2(p, { anchored: true });
    t.ok(r.ok, `${p} compiles`);
    if (r.ok) t.equal(r.regex.test(s), want, `${p} on ${s}`);
  };
  ok('(?P<id>[0-9]+)', '42', true);
  ok('(?i)abc', 'ABC', true);
  ok('\\pL+', 'héllo', true);
  ok('a\\-b', 'a-b', true);
  ok('a|b', 'ab', false);
  for (const bad of ['(a)\\1', '(?<=a)b', 'a++', 'a{1001}', '[[:alpha:]]', '(?s).', '(']) t.notOk(compileRe2(bad).ok, `${bad} is rejected`);
});

t.test('regex_rewrite uses RE2 substitution syntax and replaces every match', async (t) => {
  const rc = routeConfig(`virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: c, regex_rewrite: { pattern: { regex: "/v([0-9])/" }, substitution: "/version\\\\1/" } } }] }]`);
  const a = rc.virtualHosts[0].routes[0].action as ForwardActionRt;
  t.equal('/v1/a/v2/'.replace(a.regexRewrite!.regex, a.regexRewrite!.substitution), '/version1/a/version2/');
});

t.test('header options: deprecated append maps to an action', async (t) => {
  const rc = routeConfig(`
request_headers_to_add:
- { header: { key: X-A, value: "1" }, append: false }
- { header: { key: x-b, value: "2" }, append_action: ADD_IF_ABSENT, keep_empty_value: true }
virtual_hosts: []`);
  t.same(rc.requestHeadersToAdd, [
    { name: 'x-a', value: '1', action: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false },
    { name: 'x-b', value: '2', action: 'ADD_IF_ABSENT', keepEmptyValue: true },
  ]);
  t.match(routeConfigErrors(`request_headers_to_add: [{ header: { key: ":path", value: x } }]\nvirtual_hosts: []`)[0], /^request_headers_to_add\[0\]\.header\.key: :path cannot be modified/);
});

t.test('clusters: EDS warns, defaults, hostname endpoints only for DNS types', async (t) => {
  const parse = (y: string) => {
    const p = parseResource<Cluster>(TYPE_URL.Cluster, y, 'c.yaml');
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    return compileCluster(p.value);
  };
  const eds = parse('name: e\ntype: EDS\neds_cluster_config: { service_name: e }');
  t.ok(eds.ok);
  if (eds.ok) {
    t.same(eds.value.endpoints, []);
    t.match(eds.warnings?.[0]?.message, /EDS/);
    t.same(eds.value.circuitBreakers, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
  }
  const staticHost = parse('name: s\ntype: STATIC\nload_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: example.com, port_value: 80 } } } }] }] }');
  t.notOk(staticHost.ok);
  if (!staticHost.ok) t.same(staticHost.errors.map(fmt), ['load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "example.com" is not an IP address']);
  const unhealthy = parse('name: d\ntype: STRICT_DNS\nload_assignment: { endpoints: [{ lb_endpoints: [{ health_status: UNHEALTHY, endpoint: { address: { socket_address: { address: example.com, port_value: 80 } } } }] }] }');
  t.ok(unhealthy.ok);
  if (unhealthy.ok) t.equal(unhealthy.value.endpoints[0].healthy, false);
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
