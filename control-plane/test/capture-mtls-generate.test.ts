/**
 * Capture mode's virtualInbound (15006) with mTLS: per-port chains by PeerAuthentication mode,
 * the passthrough chains for ports no service names, the blackhole chain for 15006 itself,
 * compiled by @minimesh/config (the proxy's compiler) and picked with Envoy's chain selection
 * for the connections the proxy sees (original destination port, TLS or not, ALPN).
 */
import t from 'tap';
import { fromJsonData, TYPE_URL } from '@minimesh/api';
import { compileListener, selectFilterChain } from '@minimesh/config';
import type { FilterChainRt, ListenerRt } from '@minimesh/config/runtime';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity, type JsonObject } from '../src/index.js';

const WORKLOAD = `apiVersion: v1
kind: Service
metadata: { name: cart, namespace: shop }
spec: { clusterIP: 10.96.0.9, selector: { app: cart }, ports: [{ name: http, port: 80, targetPort: 8080 }, { name: tcp-db, port: 9000 }, { name: custom, port: 7000, targetPort: 7070 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: cart-1, namespace: shop, labels: { app: cart, security.istio.io/tlsMode: istio } }
spec: { serviceAccountName: cart-sa, containers: [{ name: c, image: i, ports: [{ containerPort: 8080 }, { containerPort: 9000 }, { containerPort: 7070 }] }] }
status: { podIP: 10.0.0.5, phase: Running }
---
`;
const CART = 'sidecar~10.0.0.5~cart-1.shop~shop.svc.cluster.local';
const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
`;
const DENY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-web, namespace: shop }
spec: { selector: { matchLabels: { app: cart } }, action: DENY, rules: [{ from: [{ source: { principals: [cluster.local/ns/shop/sa/web] } }] }] }
---
`;

function generate(extra: string, mtls = true) {
  const loaded = loadManifests(WORKLOAD + extra, 'in.yaml');
  t.same(loaded.issues, [], 'the manifests load');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(CART, { LABELS: { app: 'cart' } }, model), { captureMode: true, mtls });
  const vi = res.listeners.find((l) => l.name === 'virtualInbound')!;
  const p = fromJsonData<never>(TYPE_URL.Listener, vi);
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  const c = compileListener(p.value);
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return { res, vi, rt: c.value };
}

/** The chain the proxy picks for a captured connection to `port`. */
function pick(rt: ListenerRt, port: number, tls: boolean, alpn: string[] = []): FilterChainRt | undefined {
  return selectFilterChain(rt.filterChains!, { destinationPort: port, serverName: '', transportProtocol: tls ? 'tls' : 'raw_buffer', applicationProtocols: alpn });
}
const kind = (c: FilterChainRt | undefined): string => (c === undefined ? 'closed' : `${c.hcm ? 'http' : `tcp ${c.tcpProxy!.cluster}`}${c.tls ? ' mTLS' : ''}`);

t.test('PERMISSIVE (no policy): TLS and plain text on every port, TLS of the app passed through', async (t) => {
  const { vi, rt, res } = generate('');
  t.same((vi.listener_filters as JsonObject[]).map((f) => f.name), ['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector'], 'http_inspector for the unnamed port');
  t.equal(vi.use_original_dst, true);
  t.ok(rt.capture, 'a capture listener');
  t.equal(rt.capture!.direction, 'INBOUND');
  t.equal(kind(pick(rt, 8080, true, ['istio-http/1.1', 'istio', 'http/1.1'])), 'http mTLS', '8080, mesh TLS: the HCM after TLS');
  t.equal(kind(pick(rt, 8080, false)), 'http', '8080, plain text: the HCM');
  t.equal(kind(pick(rt, 9000, true, ['istio-peer-exchange', 'istio'])), 'tcp inbound|9000|| mTLS', 'TCP port, mesh TLS');
  t.equal(kind(pick(rt, 9000, true, ['h2'])), 'tcp inbound|9000||', "TCP port, the app's own TLS: not terminated");
  t.equal(kind(pick(rt, 9000, false)), 'tcp inbound|9000||', 'TCP port, plain text');
  t.equal(kind(pick(rt, 7777, true, ['istio'])), 'tcp InboundPassthroughCluster mTLS', 'a port no service names, mesh TLS');
  t.equal(kind(pick(rt, 7777, false)), 'tcp InboundPassthroughCluster', 'a port no service names, plain text');
  t.equal(kind(pick(rt, 15006, false)), 'tcp BlackHoleCluster', 'not redirected: the blackhole chain');
  t.equal(kind(pick(rt, 7070, true, ['istio-http/1.1', 'istio'])), 'http mTLS', 'unnamed port, mesh TLS for HTTP');
  t.equal(kind(pick(rt, 7070, true, ['istio-peer-exchange', 'istio'])), 'tcp inbound|7070|| mTLS', 'unnamed port, mesh TLS for TCP');
  t.equal(kind(pick(rt, 7070, false, ['http/1.1'])), 'http', 'unnamed port, plain HTTP/1.1 (http_inspector)');
  t.equal(kind(pick(rt, 7070, false, ['h2c'])), 'http', 'unnamed port, h2c');
  t.equal(kind(pick(rt, 7070, false)), 'tcp inbound|7070||', 'unnamed port, other plain text: TCP');
  t.equal(kind(pick(rt, 7070, true, ['h2'])), 'tcp inbound|7070||', "unnamed port, the app's own TLS: not terminated");
  const http = pick(rt, 8080, true, ['istio-http/1.1'])!;
  t.equal(http.hcm!.clientCert?.mode, 'APPEND_FORWARD', 'XFCC as on the explicit inbound listeners');
  const action = http.hcm!.routeConfig.virtualHosts[0].routes[0].action;
  t.same(action.kind === 'forward' ? action.clusters.map((c) => c.name) : [], ['inbound|8080||'], 'routed to the port\'s inbound cluster');
  const ipc = res.clusters.find((c) => c.name === 'InboundPassthroughCluster')!;
  t.same({ type: ipc.type, bind: ipc.upstream_bind_config }, { type: 'ORIGINAL_DST', bind: { source_address: { address: '127.0.0.6', port_value: 0 } } });
  const out = res.clusters.find((c) => c.name === 'outbound|80||cart.shop.svc.cluster.local')!;
  t.same((out.transport_socket_matches as JsonObject[]).map((m) => m.name), ['tlsMode-istio', 'tlsMode-disabled'], 'outbound clusters: auto mTLS');
  const vo = res.listeners.find((l) => l.name === 'virtualOutbound')!;
  t.same(((vo.metadata as JsonObject).filter_metadata as JsonObject)['minimesh.capture'], { tcp_ports: [9000], tcp_clusters: { '10.96.0.9:9000': 'outbound|9000||cart.shop.svc.cluster.local' } }, 'TCP to the service address goes through its cluster (and its mTLS)');
  t.ok(res.clusters.find((c) => c.name === 'outbound|9000||cart.shop.svc.cluster.local')!.transport_socket_matches, 'which has auto mTLS');
});

t.test('STRICT: only TLS; plain text matches no chain and is closed', async (t) => {
  const { rt } = generate(STRICT);
  t.equal(kind(pick(rt, 8080, true, ['istio-http/1.1'])), 'http mTLS');
  t.equal(kind(pick(rt, 8080, false)), 'closed', '8080 plain text');
  t.equal(kind(pick(rt, 9000, false)), 'closed', 'TCP port plain text');
  t.equal(kind(pick(rt, 9000, true, ['h2'])), 'closed', "TCP port, TLS the mesh did not originate");
  t.equal(kind(pick(rt, 7777, false)), 'closed', 'a port no service names, plain text');
  t.equal(kind(pick(rt, 7777, true, ['istio-peer-exchange', 'istio'])), 'tcp InboundPassthroughCluster mTLS');
  t.equal(kind(pick(rt, 7070, false, ['http/1.1'])), 'closed', 'unnamed port, plain HTTP');
  t.equal(kind(pick(rt, 7070, true, ['istio-h2', 'istio'])), 'http mTLS', 'unnamed port, mesh TLS for h2');
  t.equal(kind(pick(rt, 7070, true, ['istio'])), 'tcp inbound|7070|| mTLS', 'unnamed port, mesh TLS for TCP');
});

t.test('AuthorizationPolicy: RBAC in every chain, no "not enforced" warning', async (t) => {
  const { rt, res } = generate(STRICT + DENY);
  t.notMatch(res.warnings.join('\n'), /not enforced/);
  const http = pick(rt, 8080, true, ['istio-http/1.1'])!;
  t.equal(http.hcm!.rbacFilters?.length, 1, 'HTTP RBAC on the port chain');
  t.ok(pick(rt, 9000, true, ['istio'])!.tcpProxy!.rbac?.length, 'network RBAC on the TCP port chain');
  t.ok(pick(rt, 7777, true, ['istio'])!.tcpProxy!.rbac?.length, 'and on the passthrough chain');
});

t.test('without mesh certificates: one chain per port, no TLS inspection', async (t) => {
  const { vi, rt, res } = generate(STRICT, false);
  t.same((vi.listener_filters as JsonObject[]).map((f) => f.name), ['envoy.filters.listener.http_inspector'], 'only http_inspector (the unnamed port)');
  t.same(rt.inspectors, { tls: false, http: true });
  t.equal(kind(pick(rt, 7070, false, ['http/1.1'])), 'http', 'unnamed port: HTTP sniffed');
  t.equal(kind(pick(rt, 7070, false)), 'tcp inbound|7070||', 'else TCP');
  t.equal(kind(pick(rt, 8080, false)), 'http');
  t.equal(kind(pick(rt, 9000, false)), 'tcp inbound|9000||');
  t.equal(kind(pick(rt, 7777, false)), 'tcp InboundPassthroughCluster');
  t.notOk(res.clusters.find((c) => c.name === 'outbound|80||cart.shop.svc.cluster.local')!.transport_socket_matches, 'outbound stays plain text');
});
