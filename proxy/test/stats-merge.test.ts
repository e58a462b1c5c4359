/**
 * One set of stats over several processes (`--concurrency N`): the registry as plain data,
 * summed (counters and gauges), and rendered by the registry's own /stats and
 * /stats/prometheus code; Istio's series summed label set by label set, histograms bucket by
 * bucket. Pure functions, no sockets.
 */
import t from 'tap';
import { StatsRegistry, OutlierStats } from '../src/observability/stats.js';
import { mergeStatsSnapshots, registryFromSnapshot, retiredStats, snapshotStats } from '../src/observability/stats-snapshot.js';
import { formatIstioSeries, mergeIstioSeries, type IstioSeries } from '../src/observability/istio/istio-series.js';

function worker(rq: number, active: number, ejected: number, index: number): StatsRegistry {
  const r = new StatsRegistry();
  const c = r.cluster('outbound|80||a.default.svc.cluster.local');
  c.upstream_rq_total = rq;
  c.upstream_rq_2xx = rq;
  c.upstream_cx_active = active;
  c.outlier = Object.assign(new OutlierStats(), { ejections_active: ejected, ejections_enforced_total: ejected });
  const h = r.httpScope('inbound_0.0.0.0_8080');
  h.downstream_rq_total = rq;
  h.downstream_cx_active = active;
  r.rbacScope('http.inbound_0.0.0.0_8080.rbac.', () => ({ allowed: rq, denied: 1 }), 'inbound_0.0.0.0_8080');
  r.rbacScope('tcp.rbac.', () => ({ allowed: 2, denied: 0 }));
  r.listener('0.0.0.0_15006').no_filter_chain_match = 1;
  r.perWorker.set(`0.0.0.0_15006|${index}`, { downstream_cx_active: active, downstream_cx_total: rq });
  r.server.total_connections = rq;
  r.server.live = 0; // a worker's own idea of the server state is not used
  return r;
}

t.test('counters and gauges are summed; the server state is the primary\'s', async (t) => {
  const primary = new StatsRegistry();
  primary.server.uptime_start = Date.now() - 5000;
  const merged = mergeStatsSnapshots([snapshotStats(primary), snapshotStats(worker(3, 1, 0, 0)), snapshotStats(worker(4, 2, 1, 1))]);
  const r = registryFromSnapshot(merged, primary.server);
  const text = r.renderText();
  const a = 'cluster.outbound|80||a.default.svc.cluster.local';
  t.match(text, `${a}.upstream_rq_total: 7\n`);
  t.match(text, `${a}.upstream_rq_2xx: 7\n`);
  t.match(text, `${a}.upstream_cx_active: 3\n`, 'a gauge: the sum of the workers\'');
  t.match(text, `${a}.outlier_detection.ejections_active: 1\n`, 'each worker ejects on its own: the sum');
  t.match(text, 'http.inbound_0.0.0.0_8080.downstream_rq_total: 7\n');
  t.match(text, 'http.inbound_0.0.0.0_8080.rbac.allowed: 7\n');
  t.match(text, 'http.inbound_0.0.0.0_8080.rbac.denied: 2\n');
  t.match(text, 'tcp.rbac.allowed: 4\n');
  t.match(text, 'listener.0.0.0.0_15006.no_filter_chain_match: 2\n');
  t.match(text, 'listener.0.0.0.0_15006.worker_0.downstream_cx_total: 3\n', "Envoy's per-worker listener stats");
  t.match(text, 'listener.0.0.0.0_15006.worker_1.downstream_cx_total: 4\n');
  t.match(text, 'server.live: 1\n', 'the primary is live');
  t.match(text, 'server.total_connections: 7\n');
  t.match(text, /server\.uptime: [45]\n/, "the primary's uptime");
  const prom = r.renderPrometheus();
  t.match(prom, `envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="outbound|80||a.default.svc.cluster.local"} 7\n`);
  t.match(prom, `envoy_http_rbac_allowed{envoy_http_conn_manager_prefix="inbound_0.0.0.0_8080"} 7\n`, 'an HTTP filter scope keeps its connection manager label');
  t.match(prom, '# TYPE envoy_listener_worker_downstream_cx_active gauge\n');
  t.match(prom, 'envoy_listener_worker_downstream_cx_total{envoy_listener_address="0.0.0.0_15006",envoy_worker_id="1"} 4\n');
  t.match(prom, 'envoy_server_live{} 1\n');
});

t.test('merging one snapshot renders what the registry itself renders', async (t) => {
  const w = worker(5, 2, 1, 0);
  w.server.live = 1;
  w.perWorker.clear();
  const again = registryFromSnapshot(mergeStatsSnapshots([snapshotStats(w)]), w.server);
  t.equal(again.renderText(), w.renderText());
  t.equal(again.renderPrometheus(), w.renderPrometheus());
  t.same(snapshotStats(again), snapshotStats(w), 'a snapshot survives the trip');
  t.same(JSON.parse(JSON.stringify(snapshotStats(w))), snapshotStats(w), 'plain data (crosses IPC as JSON or structured clone)');
});

t.test('a worker that exited leaves its counters to the sum, not its gauges nor its per-worker entries', async (t) => {
  const gone = retiredStats(snapshotStats(worker(5, 2, 1, 1)));
  const r = registryFromSnapshot(mergeStatsSnapshots([gone, snapshotStats(worker(1, 1, 0, 1))]), new StatsRegistry().server);
  const text = r.renderText();
  const a = 'cluster.outbound|80||a.default.svc.cluster.local';
  t.match(text, `${a}.upstream_rq_total: 6\n`, 'counters: the old process\'s and the new one\'s');
  t.match(text, `${a}.upstream_cx_active: 1\n`, 'gauges: the live process only');
  t.match(text, `${a}.outlier_detection.ejections_active: 0\n`);
  t.match(text, `${a}.outlier_detection.ejections_enforced_total: 1\n`);
  t.match(text, 'http.inbound_0.0.0.0_8080.downstream_cx_active: 1\n');
  t.match(text, 'listener.0.0.0.0_15006.worker_1.downstream_cx_total: 1\n', 'the index counts afresh in the new worker');
});

const L1 = 'reporter="destination",response_code="200"';
const L2 = 'reporter="destination",response_code="503"';
function series(n200: number, n503: number, durations: number[]): IstioSeries {
  const bounds = [1, 10, 100];
  const counts = [0, 0, 0, 0];
  for (const d of durations) counts[d <= 1 ? 0 : d <= 10 ? 1 : d <= 100 ? 2 : 3]++;
  return {
    enabled: true,
    counters: { istio_requests_total: { [L1]: n200, ...(n503 > 0 ? { [L2]: n503 } : {}) } },
    histograms: { istio_request_duration_milliseconds: { [L1]: { bounds, counts, sum: durations.reduce((a, b) => a + b, 0), count: durations.length } } },
  };
}

t.test("Istio's series: the same label set in two workers is one series, summed; histograms bucket by bucket", async (t) => {
  const m = mergeIstioSeries([series(2, 0, [0.5, 50]), series(3, 1, [5, 5, 500]), { enabled: false, counters: {}, histograms: {} }]);
  t.equal(m.enabled, true);
  t.same(m.counters.istio_requests_total, { [L1]: 5, [L2]: 1 });
  t.same(m.histograms.istio_request_duration_milliseconds[L1], { bounds: [1, 10, 100], counts: [1, 2, 1, 1], sum: 560.5, count: 5 });
  const text = formatIstioSeries(m, '1.0');
  t.match(text, `# TYPE istio_requests_total counter\nistio_requests_total{${L1}} 5\nistio_requests_total{${L2}} 1\n`);
  t.match(text, `istio_request_duration_milliseconds_bucket{${L1},le="10"} 3\n`, 'cumulative buckets');
  t.match(text, `istio_request_duration_milliseconds_bucket{${L1},le="+Inf"} 5\n`);
  t.match(text, `istio_request_duration_milliseconds_sum{${L1}} 560.5\n`);
  t.match(text, 'istio_build{component="proxy",tag="1.0"} 1\n');
  t.equal(formatIstioSeries(mergeIstioSeries([{ enabled: false, counters: {}, histograms: {} }]), '1.0'), '', 'no worker recorded Istio metrics: nothing, as a single proxy prints');
  t.same(series(1, 0, [1]).counters, series(1, 0, [1]).counters);
  const input = series(2, 0, [0.5]);
  mergeIstioSeries([input, input]);
  t.same(input, series(2, 0, [0.5]), 'the inputs are left as they were');
});
