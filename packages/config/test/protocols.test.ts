import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap, DEFAULT_UPSTREAM_HTTP2_OPTIONS, upgradeAllowed, type ForwardActionRt, type RuntimeConfig } from '../src/index.js';
import { fmt } from './helpers.js';

/** A bootstrap with one listener and one cluster; the parts in CAPS are replaced. */
const TEMPLATE = `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 0.0.0.0, port_value: 1 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          HCM_EXTRA
          http_filters: [{ name: envoy.filters.http.router }]
          route_config:
            virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: c ROUTE_EXTRA } }] }]
  clusters:
  - name: c
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 2 } } } }] }] }
    CLUSTER_EXTRA
`;
type Extra = Partial<Record<'HCM_EXTRA' | 'ROUTE_EXTRA' | 'CLUSTER_EXTRA', string>>;
const H = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
const R = `${H}.route_config.virtual_hosts[0].routes[0].route`;
const C = 'static_resources.clusters[0]';
const HPO = `${C}.typed_extension_protocol_options.envoy.extensions.upstreams.http.v3.HttpProtocolOptions`;

function compile(x: Extra): { ok: true; value: RuntimeConfig } | { ok: false; errors: string[] } {
  let text = TEMPLATE;
  for (const k of ['HCM_EXTRA', 'ROUTE_EXTRA', 'CLUSTER_EXTRA'] as const) text = text.replace(k, x[k] ?? '');
  const p = parseBootstrap(text, 'b.yaml');
  if (!p.ok) return { ok: false, errors: p.errors.map(fmt) };
  const c = compileBootstrap(p.value);
  return c.ok ? { ok: true, value: c.value } : { ok: false, errors: c.errors.map(fmt) };
}
function ok(x: Extra): RuntimeConfig {
  const r = compile(x);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}
function errorsOf(x: Extra): string[] {
  const r = compile(x);
  return r.ok ? [] : r.errors;
}
const hpo = (body: string): Extra => ({
  CLUSTER_EXTRA: `typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        ${body}`,
});

t.test('a cluster with no protocol options speaks HTTP/1.1', async (t) => {
  const c = ok({}).clusters.get('c')!;
  t.equal(c.upstreamProtocol, 'http1');
  t.equal(c.upstreamHttp2, undefined);
});

t.test('explicit_http_config picks HTTP/1.1 or HTTP/2 with its settings', async (t) => {
  const h1 = ok(hpo('explicit_http_config: { http_protocol_options: {} }')).clusters.get('c')!;
  t.equal(h1.upstreamProtocol, 'http1');
  t.equal(h1.upstreamHttp2, undefined);
  const h2 = ok(hpo('explicit_http_config: { http2_protocol_options: {} }')).clusters.get('c')!;
  t.equal(h2.upstreamProtocol, 'http2');
  t.same(h2.upstreamHttp2, { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456, hpackTableSize: 4096, allowConnect: false }, "Envoy's defaults");
  const tuned = ok(
    hpo(`explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 7, initial_stream_window_size: 65535, initial_connection_window_size: 1048576, allow_connect: true } }
        common_http_protocol_options: { idle_timeout: 2s, max_requests_per_connection: 9 }`),
  ).clusters.get('c')!;
  t.same(tuned.upstreamHttp2, { maxConcurrentStreams: 7, initialStreamWindowSize: 65535, initialConnectionWindowSize: 1048576, hpackTableSize: 4096, allowConnect: true });
  t.equal(tuned.upstreamIdleTimeoutMs, 2000, 'common options still apply');
  t.equal(tuned.maxRequestsPerConnection, 9);
});

t.test('use_downstream_protocol_config follows the downstream protocol', async (t) => {
  const c = ok(hpo('use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: { max_concurrent_streams: 50 } }')).clusters.get('c')!;
  t.equal(c.upstreamProtocol, 'downstream');
  t.equal(c.upstreamHttp2?.maxConcurrentStreams, 50);
  const bare = ok(hpo('use_downstream_protocol_config: {}')).clusters.get('c')!;
  t.same(bare.upstreamHttp2, DEFAULT_UPSTREAM_HTTP2_OPTIONS);
});

t.test("the deprecated cluster field http2_protocol_options means HTTP/2", async (t) => {
  const c = ok({ CLUSTER_EXTRA: 'http2_protocol_options: { max_concurrent_streams: 3 }' }).clusters.get('c')!;
  t.equal(c.upstreamProtocol, 'http2');
  t.equal(c.upstreamHttp2?.maxConcurrentStreams, 3);
});

t.test('bad protocol options are errors naming the field', async (t) => {
  t.same(errorsOf(hpo('explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 100, max_concurrent_streams: 0 } }')), [
    `${HPO}.explicit_http_config.http2_protocol_options.max_concurrent_streams: must be between 1 and 2147483647 (got 0)`,
    `${HPO}.explicit_http_config.http2_protocol_options.initial_stream_window_size: must be between 65535 and 2147483647 (got 100)`,
  ]);
  t.same(errorsOf(hpo('explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: 1s } } }')), [
    `${HPO}.explicit_http_config.http2_protocol_options.connection_keepalive: field not supported by minimesh`,
  ]);
  t.same(errorsOf(hpo('auto_config: {}')), [`${HPO}.auto_config: auto_config is not supported by minimesh yet (it needs ALPN on upstream TLS)`]);
  t.same(errorsOf(hpo('explicit_http_config: { http3_protocol_options: {} }')), [`${HPO}.explicit_http_config.http3_protocol_options: HTTP/3 upstream is not supported by minimesh`]);
  t.same(errorsOf(hpo('common_http_protocol_options: { idle_timeout: 1s }')), [`${HPO}: one of explicit_http_config, use_downstream_protocol_config is required`]);
});

t.test('HCM upgrade_configs: none by default, listed types with enabled', async (t) => {
  t.same(ok({}).listeners[0].hcm!.upgradeConfigs, [], 'Envoy allows no upgrade unless configured');
  const hcm = ok({ HCM_EXTRA: 'upgrade_configs: [{ upgrade_type: WebSocket }, { upgrade_type: foo, enabled: false }]' }).listeners[0].hcm!;
  t.same(hcm.upgradeConfigs, [
    { upgradeType: 'websocket', enabled: true },
    { upgradeType: 'foo', enabled: false },
  ]);
  t.same(errorsOf({ HCM_EXTRA: 'upgrade_configs: [{ upgrade_type: websocket }, { upgrade_type: WEBSOCKET }]' }), [`${H}.upgrade_configs[1].upgrade_type: duplicate upgrade type "WEBSOCKET"`]);
  t.same(errorsOf({ HCM_EXTRA: 'upgrade_configs: [{ upgrade_type: "web socket" }]' }), [`${H}.upgrade_configs[0].upgrade_type: must be an upgrade protocol name such as websocket (got "web socket")`]);
  t.same(errorsOf({ HCM_EXTRA: 'upgrade_configs: [{ upgrade_type: websocket, filters: [{ name: x }] }]' }), [`${H}.upgrade_configs[0].filters: a filter chain per upgrade type is not supported by minimesh`]);
});

t.test('route upgrade_configs compile and override the HCM', async (t) => {
  const cfg = ok({ HCM_EXTRA: 'upgrade_configs: [{ upgrade_type: websocket }]', ROUTE_EXTRA: ', upgrade_configs: [{ upgrade_type: websocket, enabled: false }, { upgrade_type: h2c }]' });
  const hcm = cfg.listeners[0].hcm!;
  const route = hcm.routeConfig.virtualHosts[0].routes[0].action as ForwardActionRt;
  t.same(route.upgradeConfigs, [
    { upgradeType: 'websocket', enabled: false },
    { upgradeType: 'h2c', enabled: true },
  ]);
  t.equal(upgradeAllowed(hcm.upgradeConfigs, route.upgradeConfigs, 'websocket'), false, 'the route disables what the HCM allows');
  t.equal(upgradeAllowed(hcm.upgradeConfigs, route.upgradeConfigs, 'H2C'), true, 'the route enables what the HCM does not list');
  t.equal(upgradeAllowed(hcm.upgradeConfigs, [], 'WebSocket'), true, 'the HCM decides when the route says nothing');
  t.equal(upgradeAllowed(hcm.upgradeConfigs, undefined, 'spdy/3'), false, 'unlisted types are refused');
  t.equal(upgradeAllowed([{ upgradeType: 'websocket', enabled: false }], [], 'websocket'), false, 'listed but disabled');
  t.same(errorsOf({ ROUTE_EXTRA: ', upgrade_configs: [{ upgrade_type: CONNECT, connect_config: {} }]' }), [], 'CONNECT termination compiles');
  t.same(errorsOf({ ROUTE_EXTRA: ', upgrade_configs: [{ upgrade_type: websocket, connect_config: {} }]' }), [`${R}.upgrade_configs[0].connect_config: only an upgrade_type CONNECT entry may have connect_config`]);
  t.same(errorsOf({ ROUTE_EXTRA: ', upgrade_configs: [{ upgrade_type: CONNECT, connect_config: { allow_post: true } }]' }), [`${R}.upgrade_configs[0].connect_config.allow_post: allow_post (CONNECT as POST) is not supported by minimesh`]);
});
