/** Kiali's graph from echo-lab-shaped telemetry, for every graph type, through the local store. */
import t from 'tap';
import { buildGraph } from '../src/telemetry/build-graph.js';
import { hashId, type KialiGraph, type KialiNodeData } from '../src/telemetry/graph-json.js';
import { GraphParamError, parseGraphOptions } from '../src/telemetry/graph-options.js';
import { LocalTrafficSource } from '../src/telemetry/local-traffic-source.js';
import { MetricStore } from '../src/telemetry/metric-store.js';
import type { Labels } from '../src/telemetry/exposition-parser.js';
import { ENVOY_BUCKETS, fillLinear, requestLabels, UNKNOWN_PEER, type Peer } from './helpers/istio-metrics.js';

const NOW = 1_700_000_000;
const HOST = 'echo-service.client.svc.cluster.local';

interface Series {
  name: string;
  labels: Labels;
  perSec: number;
}

/** Buckets per second for a latency distribution given as {le: observations/s at or under le}. */
function buckets(labels: Labels, cumulative: (le: number) => number, total: number): Series[] {
  return [
    ...ENVOY_BUCKETS.map((le) => ({ name: 'istio_request_duration_milliseconds_bucket', labels: { ...labels, le: String(le) }, perSec: cumulative(le) })),
    { name: 'istio_request_duration_milliseconds_bucket', labels: { ...labels, le: '+Inf' }, perSec: total },
  ];
}

/** The echo lab: 2 rps of 200 and 0.5 rps of 503, both reporters; latency at the server mostly <= 5 ms. */
function echoLab(store: MetricStore, o: { csp?: string; src?: Peer } = {}): void {
  const series = (reporter: 'source' | 'destination'): Series[] => {
    const ok = requestLabels(reporter, { src: o.src, csp: reporter === 'destination' ? o.csp : undefined });
    const err = requestLabels(reporter, { src: o.src, code: '503', csp: reporter === 'destination' ? o.csp : undefined });
    const { response_code: _c, grpc_response_status: _g, ...histLabels } = ok;
    return [
      { name: 'istio_requests_total', labels: ok, perSec: 2 },
      { name: 'istio_requests_total', labels: err, perSec: 0.5 },
      // destination: 0.5/s <= 1 ms, all 2.5/s <= 5 ms; source: all <= 10 ms (must not win over destination).
      ...(reporter === 'destination' ? buckets(histLabels, (le) => (le < 1 ? 0 : le < 5 ? 0.5 : 2.5), 2.5) : buckets(histLabels, (le) => (le < 10 ? 0 : 2.5), 2.5)),
      ...(reporter === 'destination' ? [{ name: 'istio_response_bytes_sum', labels: histLabels, perSec: 300 }] : []),
    ];
  };
  fillLinear(store, 'client', series('source'), NOW);
  fillLinear(store, 'echo', series('destination'), NOW);
}

async function graph(store: MetricStore, query: string, accessible?: Set<string>): Promise<KialiGraph> {
  return buildGraph(new LocalTrafficSource(store), parseGraphOptions(new URLSearchParams(query), 600, NOW), { accessibleNamespaces: accessible });
}

const node = (g: KialiGraph, kialiId: string): KialiNodeData | undefined => g.elements.nodes.find((n) => n.data.id === hashId(kialiId))?.data;
const edge = (g: KialiGraph, from: string, to: string) => g.elements.edges.find((e) => e.data.source === hashId(from) && e.data.target === hashId(to))?.data;

const CLIENT_WL = 'wl_Kubernetes_client_client-deployment';
const ECHO_WL = 'wl_Kubernetes_client_echo-deployment';
const ECHO_SVC = 'svc_Kubernetes_client_echo-service';

t.test('workload graph: client -> echo-service -> echo-deployment, rates, errors, p95, responses, throughput', async (t) => {
  const store = new MetricStore();
  echoLab(store);
  const g = await graph(store, 'namespaces=client&graphType=workload&duration=60s');
  t.same({ timestamp: g.timestamp, duration: g.duration, graphType: g.graphType }, { timestamp: NOW, duration: 60, graphType: 'workload' });
  t.equal(g.elements.nodes.length, 3);
  t.equal(g.elements.edges.length, 2, 'source- and destination-reported rows counted once');

  const client = node(g, CLIENT_WL)!;
  t.match(client, { nodeType: 'workload', cluster: 'Kubernetes', namespace: 'client', workload: 'client-deployment', app: 'client', isRoot: true });
  t.equal(client.version, 'latest', 'a workload node keeps the canonical revision as given (Kiali trims only "unknown")');
  t.same(client.traffic, [{ protocol: 'http', rates: { httpOut: '2.50' } }]);
  const svc = node(g, ECHO_SVC)!;
  t.match(svc, { nodeType: 'service', namespace: 'client', service: 'echo-service', destServices: [{ cluster: 'Kubernetes', namespace: 'client', name: 'echo-service' }] });
  t.notOk(svc.workload);
  t.same(svc.traffic, [{ protocol: 'http', rates: { httpIn: '2.50', httpIn5xx: '0.50', httpOut: '2.50' } }]);
  const echo = node(g, ECHO_WL)!;
  t.match(echo, { nodeType: 'workload', workload: 'echo-deployment', app: 'echo', destServices: [{ name: 'echo-service' }] });
  t.notOk(echo.isRoot);

  const toSvc = edge(g, CLIENT_WL, ECHO_SVC)!;
  t.equal(toSvc.id, hashId(`${hashId(CLIENT_WL)}.${hashId(ECHO_SVC)}.http`), "Kiali's edge id");
  t.same(toSvc.traffic, {
    protocol: 'http',
    rates: { http: '2.50', http5xx: '0.50', httpPercentErr: '20.0', httpPercentReq: '100.0' },
    responses: { '200': { flags: { '-': '80.0' }, hosts: { [HOST]: '80.0' } }, '503': { flags: { '-': '20.0' }, hosts: { [HOST]: '20.0' } } },
  });
  t.notOk(toSvc.responseTime, 'response time only on the service -> workload edge');
  t.notOk(toSvc.isMTLS, 'plaintext: no lock');
  const toEcho = edge(g, ECHO_SVC, ECHO_WL)!;
  t.equal(toEcho.responseTime, '5', 'p95 from the destination reporter: 1 + 4 * 1.875/2 = 4.75 ms');
  t.equal(toEcho.throughput, '300', 'response bytes/s');
  t.equal(toEcho.traffic.rates?.http, '2.50');
});

t.test('no injected service nodes: one client -> echo edge', async (t) => {
  const store = new MetricStore();
  echoLab(store);
  const g = await graph(store, 'namespaces=client&graphType=workload&duration=60s&injectServiceNodes=false');
  t.equal(g.elements.nodes.length, 2);
  const e = edge(g, CLIENT_WL, ECHO_WL)!;
  t.equal(e.traffic.rates?.httpPercentErr, '20.0');
  t.equal(e.responseTime, '5');
});

t.test('app, versionedApp and service graphs', async (t) => {
  const store = new MetricStore();
  echoLab(store);
  const app = await graph(store, 'namespaces=client&graphType=app&duration=60s');
  t.match(node(app, 'app_Kubernetes_client_client'), { nodeType: 'app', app: 'client', isRoot: true });
  t.notOk(node(app, 'app_Kubernetes_client_client')!.workload, 'app nodes drop the workload');
  t.ok(edge(app, 'app_Kubernetes_client_client', ECHO_SVC));
  t.equal(edge(app, ECHO_SVC, 'app_Kubernetes_client_echo')?.responseTime, '5');
  t.notOk(app.elements.nodes.some((n) => n.data.isBox), 'one member per app: no app boxes');

  const vapp = await graph(store, 'namespaces=client&graphType=versionedApp&duration=60s');
  t.match(node(vapp, 'vapp_Kubernetes_client_echo-deployment'), { nodeType: 'app', app: 'echo', workload: 'echo-deployment', version: 'latest' });
  t.ok(edge(vapp, ECHO_SVC, 'vapp_Kubernetes_client_echo-deployment'));

  const svc = await graph(store, 'namespaces=client&graphType=service&duration=60s&injectServiceNodes=false');
  t.same(svc.elements.nodes.map((n) => n.data.nodeType).sort(), ['service', 'workload'], 'the root client and the service');
  const e = edge(svc, CLIENT_WL, ECHO_SVC)!;
  t.equal(e.traffic.rates?.http, '2.50');
  t.same(node(svc, ECHO_SVC)!.traffic, [{ protocol: 'http', rates: { httpIn: '2.50', httpIn5xx: '0.50' } }], 'outgoing traffic of a terminal service is dropped');
});

t.test('mTLS, TCP, the unknown source, and boxBy=namespace with an outside gateway', async (t) => {
  const store = new MetricStore();
  echoLab(store, { csp: 'mutual_tls' });
  const gw: Peer = { workload: 'istio-ingressgateway', namespace: 'istio-system', app: 'istio-ingressgateway' };
  fillLinear(store, 'echo', [
    { name: 'istio_requests_total', labels: requestLabels('destination', { src: UNKNOWN_PEER }), perSec: 1 },
    { name: 'istio_requests_total', labels: requestLabels('destination', { src: gw }), perSec: 4 },
    { name: 'istio_tcp_received_bytes_total', labels: requestLabels('destination', { tcp: true }), perSec: 1000 },
  ], NOW);
  const g = await graph(store, 'namespaces=client&graphType=workload&duration=60s&boxBy=namespace', new Set(['client', 'istio-system']));
  t.equal(edge(g, CLIENT_WL, ECHO_SVC)?.isMTLS, '100', 'the destination reported mutual_tls for all of client -> echo-service');
  t.equal(edge(g, 'Kubernetes_unknown_source', ECHO_SVC)?.isMTLS, undefined, 'plaintext from outside the mesh: no lock');
  const unknown = node(g, 'Kubernetes_unknown_source')!;
  t.match(unknown, { nodeType: 'unknown', namespace: 'unknown', isInaccessible: true, isRoot: true });
  t.equal(edge(g, 'Kubernetes_unknown_source', ECHO_SVC)?.traffic.rates?.http, '1.00');
  const tcp = g.elements.edges.find((e) => e.data.source === hashId(CLIENT_WL) && e.data.traffic.protocol === 'tcp')!.data;
  t.same(tcp.traffic, { protocol: 'tcp', rates: { tcp: '1000.00' }, responses: { '-': { flags: { '-': '100.0' }, hosts: { [HOST]: '100.0' } } } });
  const gwNode = node(g, 'wl_Kubernetes_istio-system_istio-ingressgateway')!;
  t.match(gwNode, { isOutside: true, isRoot: true });
  t.notOk(gwNode.isInaccessible);
  t.notOk(gwNode.parent, 'alone in its namespace: no box');
  const box = node(g, 'box_Kubernetes_client')!;
  t.match(box, { nodeType: 'box', isBox: 'namespace', namespace: 'client' });
  t.equal(node(g, ECHO_WL)!.parent, box.id);
  t.equal(g.elements.nodes[0].data.id, box.id, 'boxes come first');
  const inaccessible = await graph(store, 'namespaces=client&graphType=workload&duration=60s', new Set(['client']));
  t.equal(node(inaccessible, 'wl_Kubernetes_istio-system_istio-ingressgateway')!.isInaccessible, true, 'a namespace that does not exist is inaccessible');
});

t.test('graph parameters: clear errors naming the parameter', async (t) => {
  const p = (q: string) => () => parseGraphOptions(new URLSearchParams(q), 600, NOW);
  const throws = (fn: () => unknown, want: { param: string; message?: string | RegExp }): void => {
    let err: GraphParamError | undefined;
    try {
      fn();
    } catch (e) {
      err = e as GraphParamError;
    }
    t.ok(err instanceof GraphParamError, `a GraphParamError for ${want.param}`);
    t.equal(err?.param, want.param);
    if (want.message) t.match(err?.message, want.message);
  };
  throws(p('graphType=workload'), { param: 'namespaces' });
  throws(p('namespaces=Client_1'), { param: 'namespaces', message: /not a namespace name/ });
  throws(p('namespaces=a&graphType=graph'), { param: 'graphType', message: 'graphType: "graph" is not one of app, service, versionedApp, workload' });
  throws(p('namespaces=a&duration=15m'), { param: 'duration', message: 'duration: duration 15m exceeds what the control plane keeps (10m); use --prometheus for longer windows' });
  throws(p('namespaces=a&duration=soon'), { param: 'duration' });
  throws(p('namespaces=a&boxBy=pod'), { param: 'boxBy' });
  throws(p('namespaces=a&queryTime=yesterday'), { param: 'queryTime' });
  throws(p('namespaces=a&injectServiceNodes=yes'), { param: 'injectServiceNodes' });
  t.match(p('namespaces=a,b&duration=1m30s&queryTime=5')(), { namespaces: ['a', 'b'], durationSec: 90, queryTime: 5, graphType: 'workload', injectServiceNodes: true, tcp: 'sent', quantile: 0.95 });
  t.match(parseGraphOptions(new URLSearchParams('namespaces=a&duration=2h&graphType=service&injectServiceNodes=false'), Infinity, NOW), { durationSec: 7200, injectServiceNodes: true, queryTime: NOW });
});

