/** Capture listeners (`use_original_dst`) and ORIGINAL_DST clusters (Istio's PassthroughCluster). */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '../src/compile-bootstrap.js';

const bootstrap = (listenerExtra: string, clusterType = 'type: ORIGINAL_DST\n    lb_policy: CLUSTER_PROVIDED'): string => `static_resources:
  listeners:
  - name: virtualOutbound
    address: { socket_address: { address: 0.0.0.0, port_value: 15001 } }
${listenerExtra}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_15001
          http_filters: [{ name: envoy.filters.http.router }]
          route_config: { name: "80", virtual_hosts: [] }
  clusters:
  - name: PassthroughCluster
    ${clusterType}
    connect_timeout: 10s
`;

function compile(text: string) {
  const p = parseBootstrap(text, 'test.yaml');
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return compileBootstrap(p.value);
}

t.test('use_original_dst gives a capture listener; ORIGINAL_DST compiles without endpoints', async (t) => {
  const r = compile(bootstrap('    use_original_dst: true\n    traffic_direction: OUTBOUND\n    metadata: { filter_metadata: { minimesh.capture: { tcp_ports: [3306, 6379] } } }'));
  t.ok(r.ok, r.ok ? 'compiles' : JSON.stringify(r.errors));
  if (!r.ok) return;
  const l = r.value.listeners[0];
  t.same(l.capture?.direction, 'OUTBOUND');
  t.same([...(l.capture?.tcpPorts ?? [])], [3306, 6379]);
  const c = r.value.clusters.get('PassthroughCluster');
  t.equal(c?.type, 'ORIGINAL_DST');
  t.same(c?.endpoints, []);
});

t.test('INBOUND and plain listeners', async (t) => {
  const r = compile(bootstrap('    use_original_dst: true\n    traffic_direction: INBOUND'));
  t.ok(r.ok && r.value.listeners[0].capture?.direction === 'INBOUND');
  const plain = compile(bootstrap(''));
  t.ok(plain.ok && plain.value.listeners[0].capture === undefined, 'no use_original_dst: no capture');
});

t.test('bad tcp_ports are errors with their path', async (t) => {
  const r = compile(bootstrap('    use_original_dst: true\n    metadata: { filter_metadata: { minimesh.capture: { tcp_ports: [0, "x"] } } }'));
  t.notOk(r.ok);
  if (!r.ok) t.match(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /tcp_ports: not a port: 0/);
});

t.test('an INBOUND capture listener may have filter chains (virtualInbound by port); an OUTBOUND one may not', async (t) => {
  const chains = (direction: string): string => `static_resources:
  listeners:
  - name: virtualInbound
    address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
    use_original_dst: true
    traffic_direction: ${direction}
    filter_chains:
    - filter_chain_match: { destination_port: 8080 }
      filters: [{ name: envoy.filters.network.tcp_proxy, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: a, cluster: InboundPassthroughCluster } }]
    - filters: [{ name: envoy.filters.network.tcp_proxy, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: b, cluster: InboundPassthroughCluster } }]
  clusters:
  - name: InboundPassthroughCluster
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 10s
    upstream_bind_config: { source_address: { address: 127.0.0.6, port_value: 0 } }
`;
  const r = compile(chains('INBOUND'));
  t.ok(r.ok, r.ok ? 'compiles' : JSON.stringify(r.errors));
  if (r.ok) {
    const l = r.value.listeners[0];
    t.equal(l.capture?.direction, 'INBOUND');
    t.same(l.filterChains?.map((c) => c.match.destinationPort), [8080, undefined]);
    t.equal(r.value.clusters.get('InboundPassthroughCluster')?.sourceAddress, '127.0.0.6');
  }
  const out = compile(chains('OUTBOUND'));
  t.notOk(out.ok);
  if (!out.ok) t.match(out.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /use_original_dst: an OUTBOUND capture listener takes one filter chain/);
});

t.test('tcp_clusters: a TCP service address -> its cluster; bad entries are errors with their path', async (t) => {
  const md = (v: string): string => `    use_original_dst: true\n    traffic_direction: OUTBOUND\n    metadata: { filter_metadata: { minimesh.capture: { tcp_ports: [3306], tcp_clusters: ${v} } } }`;
  const r = compile(bootstrap(md('{ "10.96.0.20:3306": "outbound|3306||mysql.db.svc.cluster.local" }')));
  t.ok(r.ok, r.ok ? 'compiles' : JSON.stringify(r.errors));
  if (r.ok) t.same([...(r.value.listeners[0].capture?.tcpClusters ?? [])], [['10.96.0.20:3306', 'outbound|3306||mysql.db.svc.cluster.local']]);
  for (const bad of ['[1]', '{ "10.96.0.20": "x" }', '{ "10.96.0.20:3306": 5 }']) {
    const e = compile(bootstrap(md(bad)));
    t.notOk(e.ok, `${bad} is refused`);
    if (!e.ok) t.match(e.errors.map((x) => x.path).join('\n'), /minimesh\.capture\.tcp_clusters/, 'the error names tcp_clusters');
  }
});

t.test('tcp_clusters: weighted lists (a tcp route) and registry_only', async (t) => {
  const md = (v: string, extra = ''): string => `    use_original_dst: true\n    traffic_direction: OUTBOUND\n    metadata: { filter_metadata: { minimesh.capture: { tcp_ports: [3306], tcp_clusters: ${v}${extra} } } }`;
  const r = compile(bootstrap(md('{ "10.96.0.20:3306": [{ name: a, weight: 80 }, { name: b, weight: 20 }, { name: c, weight: 0 }] }', ', registry_only: true')));
  t.ok(r.ok, r.ok ? 'compiles' : JSON.stringify(r.errors));
  if (r.ok) {
    t.same([...(r.value.listeners[0].capture?.tcpWeightedClusters ?? [])], [['10.96.0.20:3306', [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }]]], 'weight 0 left out');
    t.equal(r.value.listeners[0].capture?.registryOnly, true);
  }
  for (const bad of ['{ "10.96.0.20:3306": [{ name: a, weight: 0 }] }', '{ "10.96.0.20:3306": [{ weight: 5 }] }', '{ "10.96.0.20:3306": [{ name: a, weight: 1.5 }] }']) {
    const e = compile(bootstrap(md(bad)));
    t.notOk(e.ok, `${bad} is refused`);
  }
  const ro = compile(bootstrap(md('{}', ', registry_only: "yes"')));
  t.notOk(ro.ok, 'registry_only must be a boolean');
});
