/**
 * Gateway TCP servers (Istio's TCP traffic shifting through the ingress gateway): a server with
 * protocol TCP (or MONGO, another opaque TCP protocol) becomes a tcp_proxy listener on the
 * gateway, routed by the `tcp` routes of the VirtualServices bound to that Gateway; what is not
 * served is said, not silently dropped. Every result is compiled with the proxy's compiler.
 */
import t from 'tap';
import { compileAll } from './helpers/compile.js';
import { generateFromYaml } from './helpers/generate-yaml.js';

const GATEWAY = 'router~10.10.0.50~ingress-1.istio-system~istio-system.svc.cluster.local';

const base = `
apiVersion: v1
kind: Service
metadata: { name: tcp-echo, namespace: shop }
spec:
  clusterIP: 10.96.2.1
  selector: { app: tcp-echo }
  ports: [{ name: tcp, port: 9000 }, { name: tcp-other, port: 9001 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tcp-echo-destination, namespace: shop }
spec:
  host: tcp-echo
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: tcp-echo-gateway, namespace: shop }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 31400, name: tcp, protocol: PROTO }, hosts: ["*"] }]
`;

const vs = (route: string, match = '[{ port: 31400 }]', gateways = '[tcp-echo-gateway]') => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo, namespace: shop }
spec:
  hosts: ["*"]
  gateways: ${gateways}
  tcp: [{ match: ${match}, route: ${route} }]
`;

const V1 = '[{ destination: { host: tcp-echo, port: { number: 9000 }, subset: v1 } }]';
const SPLIT = '[{ destination: { host: tcp-echo, port: { number: 9000 }, subset: v1 }, weight: 80 }, { destination: { host: tcp-echo, port: { number: 9000 }, subset: v2 }, weight: 20 }]';

function gen(yaml: string) {
  const { res, issues } = generateFromYaml(yaml, { node: GATEWAY, labels: { istio: 'ingressgateway' } });
  const listener = res.listeners.find((l) => l.name === '0.0.0.0_31400') as { filter_chains: { filters: { name: string; typed_config: Record<string, unknown> }[] }[] } | undefined;
  const tcpProxy = listener?.filter_chains[0]?.filters.at(-1);
  return { res, issues, listener, tcpProxy, compiled: compileAll(res) };
}

t.test('a TCP server: a tcp_proxy listener on the server port to the route destination (all v1)', async (t) => {
  const r = gen(base.replace('PROTO', 'TCP') + vs(V1));
  t.same(r.compiled.errors, []);
  t.same(r.res.warnings, []);
  t.equal(r.tcpProxy?.name, 'envoy.filters.network.tcp_proxy');
  t.equal(r.tcpProxy?.typed_config.cluster, 'outbound|9000|v1|tcp-echo.shop.svc.cluster.local');
  t.ok(r.res.clusters.some((c) => c.name === 'outbound|9000|v1|tcp-echo.shop.svc.cluster.local'), 'the subset cluster exists');
});

t.test('weighted destinations: weighted_clusters, as a connection picks by weight; weight 0 left out', async (t) => {
  const r = gen(base.replace('PROTO', 'TCP') + vs(SPLIT));
  t.same(r.compiled.errors, []);
  t.same(r.tcpProxy?.typed_config.weighted_clusters, {
    clusters: [
      { name: 'outbound|9000|v1|tcp-echo.shop.svc.cluster.local', weight: 80 },
      { name: 'outbound|9000|v2|tcp-echo.shop.svc.cluster.local', weight: 20 },
    ],
  });
  const zero = gen(base.replace('PROTO', 'TCP') + vs(SPLIT.replace('weight: 20', 'weight: 0')));
  t.equal(zero.tcpProxy?.typed_config.cluster, 'outbound|9000|v1|tcp-echo.shop.svc.cluster.local');
  t.equal(zero.tcpProxy?.typed_config.weighted_clusters, undefined);
});

t.test('MONGO (an opaque TCP protocol) is served as TCP; the validator no longer warns of TCP servers', async (t) => {
  const yaml = base.replace('PROTO', 'MONGO') + vs(V1);
  const r = gen(yaml);
  t.equal(r.tcpProxy?.typed_config.cluster, 'outbound|9000|v1|tcp-echo.shop.svc.cluster.local');
  t.same(r.issues.filter((i) => i.field.includes('protocol')), [], 'no protocol warning');
  const udp = gen(base.replace('PROTO', 'UDP') + vs(V1));
  t.match(udp.issues.find((i) => i.field.includes('protocol'))?.message, /UDP servers are not translated/);
  t.equal(udp.listener, undefined);
});

t.test('routes that do not apply: another port, another gateway, mesh only; the server is said to be unserved', async (t) => {
  for (const [what, y] of [
    ['match port 31401', vs(V1, '[{ port: 31401 }]')],
    ['bound to mesh', vs(V1, '[{ port: 31400 }]', '[mesh]')],
    ['match gateways another', vs(V1, '[{ port: 31400, gateways: [other] }]', '[tcp-echo-gateway, other]')],
  ] as const) {
    const r = gen(base.replace('PROTO', 'TCP') + y);
    t.equal(r.listener, undefined, `${what}: no listener`);
    t.match(r.res.warnings.join('\n'), /Gateway shop\/tcp-echo-gateway port 31400 \(TCP\): no VirtualService tcp route/, what);
  }
  const withoutMatch = gen(base.replace('PROTO', 'TCP') + vs(V1, '[]'));
  t.ok(withoutMatch.listener, 'a route without match applies');
});

t.test('a TCP server on a port with an HTTP server: the HTTP server keeps the port, with a warning', async (t) => {
  const y = base.replace('PROTO', 'TCP').replace('servers: [', 'servers: [{ port: { number: 31400, name: http, protocol: HTTP }, hosts: ["*"] }, ') + vs(V1);
  const r = gen(y);
  t.match(r.res.warnings.join('\n'), /TCP server on port 31400 shares the port with HTTP or TLS servers; it is ignored/);
  const l = r.res.listeners.find((x) => x.name === '0.0.0.0_31400') as { filter_chains: { filters: { name: string }[] }[] };
  t.equal(l.filter_chains[0]!.filters[0]!.name, 'envoy.filters.network.http_connection_manager');
});

t.test('a VirtualService whose hosts miss the server hosts is not used', async (t) => {
  const y = base.replace('PROTO', 'TCP').replace('hosts: ["*"] }]', 'hosts: ["tcp.example.com"] }]') + vs(V1).replace('hosts: ["*"]', 'hosts: ["other.example.com"]');
  t.equal(gen(y).listener, undefined);
  const ok = base.replace('PROTO', 'TCP').replace('hosts: ["*"] }]', 'hosts: ["tcp.example.com"] }]') + vs(V1).replace('hosts: ["*"]', 'hosts: ["tcp.example.com"]');
  t.ok(gen(ok).listener);
});
