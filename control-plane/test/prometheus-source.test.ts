/**
 * The Prometheus TrafficSource against a fake Prometheus: the dashboard sends Kiali's own query
 * text (asserted verbatim), reads the vectors back into the same graph, and reports
 * Prometheus's errors with its status and `error` text.
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildMeshModel } from '../src/model/build-mesh-model.js';
import { DashboardServer } from '../src/dashboard/dashboard-server.js';
import { hashId, type KialiGraph } from '../src/telemetry/graph-json.js';
import { PrometheusTrafficSource } from '../src/telemetry/prometheus-traffic-source.js';
import { requestLabels } from './helpers/istio-metrics.js';

const GB =
  'source_cluster,source_workload_namespace,source_workload,source_canonical_service,source_canonical_revision,destination_cluster,destination_service_namespace,destination_service,destination_service_name,destination_workload_namespace,destination_workload,destination_canonical_service,destination_canonical_revision';
const HTTP_GB = `${GB},request_protocol,response_code,grpc_response_status,response_flags`;
const SEC_GB =
  'source_cluster,source_workload_namespace,source_workload,source_canonical_service,source_canonical_revision,source_principal,destination_cluster,destination_service_namespace,destination_service_name,destination_workload_namespace,destination_workload,destination_canonical_service,destination_canonical_revision,destination_principal,connection_security_policy';

/** What Prometheus would answer: sum by the query's labels of echo-lab rows. */
function answer(query: string): { metric: Record<string, string>; value: [number, string] }[] {
  const pick = (labels: Record<string, string>, by: string[]) => Object.fromEntries(by.filter((l) => labels[l]).map((l) => [l, labels[l]]));
  const by = /by \(([^)]*)\)/.exec(query)?.[1].split(',') ?? [];
  if (query.startsWith('round(sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="client"}')) {
    return [
      { metric: pick(requestLabels('destination'), by), value: [0, '2'] },
      { metric: pick(requestLabels('destination', { code: '503' }), by), value: [0, '0.5'] },
    ];
  }
  if (query.startsWith('round(histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination"')) {
    const { le: _le, ...labels } = pick(requestLabels('destination'), by.filter((l) => l !== 'le'));
    return [{ metric: labels, value: [0, '12.345'] }];
  }
  if (query.startsWith('round((sum(rate(istio_requests_total{reporter="destination",source_workload_namespace="client"}')) {
    return [{ metric: pick(requestLabels('destination', { csp: 'mutual_tls' }), by), value: [0, '2.5'] }];
  }
  return [];
}

async function fakePrometheus(): Promise<{ url: string; queries: { query: string; time: string }[]; failWith?: { status: number; body: unknown }; close: () => Promise<void> }> {
  const state: { url: string; queries: { query: string; time: string }[]; failWith?: { status: number; body: unknown }; close: () => Promise<void> } = { url: '', queries: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://prom');
    if (u.pathname !== '/api/v1/query') {
      res.writeHead(404).end();
      return;
    }
    const query = u.searchParams.get('query') ?? '';
    state.queries.push({ query, time: u.searchParams.get('time') ?? '' });
    if (state.failWith) {
      res.writeHead(state.failWith.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.failWith.body));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: answer(query) } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise((r) => (server.closeAllConnections(), server.close(() => r())));
  return state;
}

t.test("the graph from Prometheus, with Kiali's query text", async (t) => {
  const prom = await fakePrometheus();
  t.teardown(() => prom.close());
  const server = new DashboardServer({ traffic: new PrometheusTrafficSource(`${prom.url}/`), model: () => buildMeshModel([]), syncz: () => [] });
  const port = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  const res = await fetch(`http://127.0.0.1:${port}/api/namespaces/graph?namespaces=client&graphType=workload&duration=1h&queryTime=1700000000`);
  t.equal(res.status, 200, 'with Prometheus any duration is fine');
  const g = (await res.json()) as KialiGraph;
  const q = prom.queries.map((x) => x.query);
  t.ok(prom.queries.every((x) => x.time === '1700000000'), 'instant queries at queryTime');
  const expected = [
    `round(sum(rate(istio_requests_total{reporter="source",source_workload_namespace!="client",destination_workload_namespace="unknown",destination_workload="unknown",destination_service=~"^.+\\\\.client\\\\..+$"} [3600s])) by (${HTTP_GB}) > 0,0.001)`,
    `round(sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="client"} [3600s])) by (${HTTP_GB}) > 0,0.001)`,
    `round(sum(rate(istio_requests_total{reporter="source",source_workload_namespace="client"} [3600s])) by (${HTTP_GB}) > 0,0.001)`,
    `round(sum(rate(istio_tcp_received_bytes_total{app!="ztunnel",reporter="source",source_workload_namespace!="client",destination_workload_namespace="unknown",destination_workload="unknown",destination_service=~"^.+\\\\.client\\\\..+$"} [3600s])) by (app,${GB},response_flags) > 0,0.001)`,
    `round(sum(rate(istio_tcp_received_bytes_total{app!="ztunnel",reporter="destination",destination_workload_namespace="client"} [3600s])) by (app,${GB},response_flags) > 0,0.001)`,
    `round(sum(rate(istio_tcp_received_bytes_total{app!="ztunnel",reporter="source",source_workload_namespace="client"} [3600s])) by (app,${GB},response_flags) > 0,0.001)`,
    `round(histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_service_namespace="client"}[3600s])) by (le,${GB},request_protocol)) > 0,0.001)`,
    `round(histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{reporter="source",source_workload_namespace="client"}[3600s])) by (le,${GB},request_protocol)) > 0,0.001)`,
    `round((sum(rate(istio_requests_total{reporter="destination",source_workload_namespace!="client",destination_service_namespace="client"}[3600s])) by (${SEC_GB}) > 0) OR (sum(rate(istio_tcp_sent_bytes_total{app!="ztunnel",reporter="destination",source_workload_namespace!="client",destination_service_namespace="client"}[3600s])) by (${SEC_GB}) > 0),0.001)`,
    `round((sum(rate(istio_requests_total{reporter="destination",source_workload_namespace="client"}[3600s])) by (${SEC_GB}) > 0) OR (sum(rate(istio_tcp_sent_bytes_total{app!="ztunnel",reporter="destination",source_workload_namespace="client"}[3600s])) by (${SEC_GB}) > 0),0.001)`,
  ];
  for (const e of expected) t.ok(q.includes(e), `sent: ${e.slice(0, 110)}…`);
  t.equal(q[0], expected[0], 'query #0 first, exactly');
  t.same(q.slice(0, 3), expected.slice(0, 3), '#0, #2, #3 in Kiali order');

  const edge = (from: string, to: string) => g.elements.edges.find((e) => e.data.source === hashId(from) && e.data.target === hashId(to))?.data;
  const toSvc = edge('wl_Kubernetes_client_client-deployment', 'svc_Kubernetes_client_echo-service')!;
  t.same(toSvc.traffic.rates, { http: '2.50', http5xx: '0.50', httpPercentErr: '20.0', httpPercentReq: '100.0' });
  t.equal(toSvc.isMTLS, '100');
  t.equal(edge('svc_Kubernetes_client_echo-service', 'wl_Kubernetes_client_echo-deployment')?.responseTime, '12');
});

t.test("Prometheus's errors come back clearly", async (t) => {
  const prom = await fakePrometheus();
  t.teardown(() => prom.close());
  prom.failWith = { status: 400, body: { status: 'error', errorType: 'bad_data', error: 'parse error at char 12: unexpected "}"' } };
  const server = new DashboardServer({ traffic: new PrometheusTrafficSource(prom.url), model: () => buildMeshModel([]), syncz: () => [] });
  const port = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  const res = await fetch(`http://127.0.0.1:${port}/api/namespaces/graph?namespaces=client`);
  t.equal(res.status, 502);
  t.equal(((await res.json()) as { error: string }).error, `prometheus ${prom.url}: HTTP 400: bad_data: parse error at char 12: unexpected "}"`);
  const stat = await fetch(`http://127.0.0.1:${port}/api/stat?kind=deploy&namespace=client&window=2h`);
  t.equal(stat.status, 502, 'stat too, and any window');

  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const freePort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const down = new PrometheusTrafficSource(`http://127.0.0.1:${freePort}`);
  await t.rejects(down.instant('up', 1), { message: `prometheus http://127.0.0.1:${freePort}: cannot query: ECONNREFUSED` });
  t.throws(() => new PrometheusTrafficSource('prometheus:9090'), /only http and https|not a URL/);
});
