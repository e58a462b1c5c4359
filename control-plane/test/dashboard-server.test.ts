/**
 * The dashboard over real sockets: fake proxies serve growing counters, the scraper (200 ms)
 * fills the store, and the API answers Kiali's graph, the stat rows, 400s naming parameters,
 * and pushes graphs over its WebSocket. Also the control plane's wiring and `minimesh stat`.
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { Pod } from '@minimesh/kube';
import type { ProxySyncStatus } from '@minimesh/xds';
import { buildMeshModel } from '../src/model/build-mesh-model.js';
import { DashboardServer } from '../src/dashboard/dashboard-server.js';
import { LocalTrafficSource } from '../src/telemetry/local-traffic-source.js';
import { MetricStore } from '../src/telemetry/metric-store.js';
import { Scraper } from '../src/telemetry/scraper.js';
import { hashId, type KialiGraph } from '../src/telemetry/graph-json.js';
import { statMain } from '../src/cli/stat.js';
import { ControlPlane } from '../src/server/control-plane.js';
import { exposition, histogram, requestLabels } from './helpers/istio-metrics.js';

/** A fake sidecar agent: every GET reports `n` more requests (n = scrapes so far). */
async function fakeProxy(host: string, reporter: 'source' | 'destination', port = 0): Promise<{ url: string; scrapes: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((_req, res) => {
    n++;
    const ok = requestLabels(reporter);
    const { response_code: _c, grpc_response_status: _g, ...h } = ok;
    const text = exposition([
      { name: 'istio_requests_total', labels: ok, value: 40 * n },
      { name: 'istio_requests_total', labels: requestLabels(reporter, { code: '503' }), value: 10 * n },
      ...histogram('istio_request_duration_milliseconds', h, Array.from({ length: 5 * n }, (_, i) => (i % 5) + 1)),
      { name: 'istio_tcp_connections_opened_total', labels: requestLabels(reporter, { tcp: true }), value: 3 },
      { name: 'istio_tcp_connections_closed_total', labels: requestLabels(reporter, { tcp: true }), value: 1 },
    ]);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${text}istio_broken{a="1" 3\n`);
  });
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  const p = (server.address() as AddressInfo).port;
  return { url: `http://${host}:${p}/stats/prometheus`, scrapes: () => n, close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

const POD = (name: string, ip: string, app: string, sidecar: boolean): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'client', labels: { app }, annotations: sidecar ? { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } : {} },
    spec: { containers: [{ name: app, image: app }] },
    status: { podIP: ip, phase: 'Running' },
  }) as unknown as Pod;

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

t.test('scraped fake proxies: graph, stat, 400s, watch socket, index', async (t) => {
  const echo = await fakeProxy('127.0.0.5', 'destination');
  const client = await fakeProxy('127.0.0.6', 'source');
  t.teardown(() => Promise.all([echo.close(), client.close()]));
  const store = new MetricStore();
  const scraper = new Scraper({ store, intervalMs: 200, targets: () => [{ id: 'echo.client', url: echo.url }, { id: 'client.client', url: client.url }] });
  const model = buildMeshModel([POD('echo-deployment-5d8f9-abcde', '127.0.0.5', 'echo', true), POD('client-deployment-7c4b-xyz12', '127.0.0.6', 'client', false)]);
  const server = new DashboardServer({
    traffic: new LocalTrafficSource(store),
    model: () => model,
    syncz: () => [{ proxy: 'sidecar~127.0.0.5~echo.client~client.svc.cluster.local' } as never],
    targets: () => scraper.health(),
    ticks: (l) => scraper.onScrape(l),
  });
  const port = await server.listen('127.0.0.1', 0);
  scraper.start();
  t.teardown(async () => {
    await scraper.stop();
    await server.close();
  });
  const base = `http://127.0.0.1:${port}`;
  t.ok(await until(() => echo.scrapes() >= 3 && client.scrapes() >= 3), 'both proxies scraped repeatedly');
  const targets = (await getJson(`${base}/api/targets`)).body;
  t.match(targets, [{ id: 'client.client', skippedLines: 1 }, { id: 'echo.client', skippedLines: 1 }], 'a bad line is counted, not fatal');

  const { status, body } = await getJson(`${base}/api/namespaces/graph?namespaces=client&graphType=workload&duration=60s&boxBy=namespace&injectServiceNodes=true`);
  t.equal(status, 200);
  const g = body as KialiGraph;
  if (!g.elements?.edges?.length) t.comment(JSON.stringify(body).slice(0, 3000));
  const edge = g.elements.edges.find((e) => e.data.source === hashId('wl_Kubernetes_client_client-deployment') && e.data.target === hashId('svc_Kubernetes_client_echo-service'));
  t.ok(edge, 'the client -> echo-service edge');
  t.ok(Number(edge!.data.traffic.rates?.http) > 0, `a non-zero rate (${edge!.data.traffic.rates?.http})`);
  t.equal(edge!.data.traffic.rates?.httpPercentErr, '20.0', '10 of every 50 requests are 503s');
  t.ok(g.elements.edges.find((e) => e.data.target === hashId('wl_Kubernetes_client_echo-deployment'))?.data.responseTime, 'a response time on service -> workload');

  t.same((await getJson(`${base}/api/namespaces`)).body, [{ name: 'client' }]);
  t.match((await getJson(`${base}/api/proxies`)).body, [{ proxy: /^sidecar~/ }]);

  const bad = await getJson(`${base}/api/namespaces/graph?namespaces=client&graphType=pods`);
  t.equal(bad.status, 400);
  t.equal(bad.body.error, 'graphType: "pods" is not one of app, service, versionedApp, workload');
  const long = await getJson(`${base}/api/namespaces/graph?namespaces=client&duration=15m`);
  t.equal(long.status, 400);
  t.equal(long.body.error, 'duration: duration 15m exceeds what the control plane keeps (10m); use --prometheus for longer windows');
  t.equal((await getJson(`${base}/api/namespaces/graph?graphType=app`)).body.param, 'namespaces');
  t.equal((await getJson(`${base}/api/nope`)).status, 404);

  const stat = (await getJson(`${base}/api/stat?kind=deploy&namespace=client&window=1m`)).body;
  const echoRow = stat.rows.find((r: { name: string }) => r.name === 'echo-deployment');
  t.match(echoRow, { namespace: 'client', meshed: { meshed: 1, pods: 1 }, tcpConnections: 2 });
  t.ok(Math.abs(echoRow.requests.success - 0.8) < 1e-9, 'success 80%');
  t.ok(echoRow.requests.rps > 0 && echoRow.latencyMs.p50 > 0);
  t.match(stat.rows.find((r: { name: string }) => r.name === 'client-deployment'), { meshed: { meshed: 0, pods: 1 } }, 'a pod without a sidecar');
  t.notOk(stat.rows.find((r: { name: string }) => r.name === 'client-deployment').requests, 'no inbound traffic: no figures');
  t.equal((await getJson(`${base}/api/stat?kind=pods`)).body.param, 'kind');

  // `minimesh stat` against this server.
  let out = '';
  const code = await statMain(['deploy', '-n', 'client', '--dashboard', base], { out: (s) => (out += s) });
  t.equal(code, 0);
  const lines = out.trim().split('\n');
  t.match(lines[0], /^NAME\s+MESHED\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN$/);
  t.match(lines.find((l) => l.startsWith('echo-deployment')), /^echo-deployment\s+1\/1\s+80\.00%\s+\d+\.\drps\s+\d+ms\s+\d+ms\s+\d+ms\s+2$/);
  t.match(lines.find((l) => l.startsWith('client-deployment')), /^client-deployment\s+0\/1\s+-\s+-\s+-\s+-\s+-\s+-$/);
  let outA = '';
  t.equal(await statMain(['svc', '-A', '--dashboard', base], { out: (s) => (outA += s) }), 0);
  t.match(outA, /^NAMESPACE\s+NAME\s+MESHED/);
  let json = '';
  t.equal(await statMain(['deploy/echo-deployment', '-n', 'client', '-o', 'json', '--dashboard', base], { out: (s) => (json += s) }), 0);
  t.equal(JSON.parse(json).rows.length, 1, 'NAME filters the rows');
  let err = '';
  t.equal(await statMain(['deploy', '--dashboard', 'http://127.0.0.1:9'], { err: (s) => (err += s) }), 1);
  t.match(err, /cannot reach the control plane's dashboard at http:\/\/127\.0\.0\.1:9\/api\/stat/);
  err = '';
  t.equal(await statMain(['pods', '--dashboard', base], { err: (s) => (err += s) }), 2);
  t.match(err, /"pods" is not one of/);
  let watched = '';
  const ac = new AbortController();
  const watching = statMain(['deploy', '-n', 'client', '-w', '--dashboard', base], { out: (s) => ((watched += s), watched.split('\x1b[2J').length > 2 && ac.abort()), signal: ac.signal, watchIntervalMs: 50 });
  t.equal(await watching, 0, '--watch ends on the signal');
  t.ok(watched.split('\x1b[2J').length >= 3, 'redrawn');

  // The watch socket: a graph on connect, another after a scrape.
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/graph/watch?namespaces=client&graphType=app&duration=60s`);
  const messages: any[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m))));
  t.ok(await until(() => messages.length >= 2), 'two pushes');
  t.equal(messages[0].type, 'graph');
  t.equal(messages[0].graph.graphType, 'app');
  t.ok(messages[1].graph.elements.edges.length > 0);
  ws.close();
  const badWs = new WebSocket(`ws://127.0.0.1:${port}/api/graph/watch?namespaces=client&graphType=pods`);
  const closed = await new Promise<{ code: number; reason: string }>((r) => badWs.on('close', (code, reason) => r({ code, reason: String(reason) })));
  t.equal(closed.code, 1008);
  t.match(closed.reason, /^graphType: "pods" is not one of/);

  const index = await fetch(`${base}/`);
  t.match(await index.text(), /GET \/api\/namespaces\/graph/);
});

t.test('the assets hook answers the page', async (t) => {
  const store = new MetricStore();
  const server = new DashboardServer({
    traffic: new LocalTrafficSource(store),
    model: () => buildMeshModel([]),
    syncz: () => [],
    assets: (req, res) => {
      if (req.url !== '/') return false;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>page</html>');
      return true;
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  t.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), '<html>page</html>');
  t.equal((await fetch(`http://127.0.0.1:${port}/app.js`)).status, 404, 'what the hook declines is a 404');
  t.same(await (await fetch(`http://127.0.0.1:${port}/api/namespaces`)).json(), []);
});

t.test('the control plane scrapes its connected proxies and serves the dashboard', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-dash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let proxy;
  try {
    proxy = await fakeProxy('127.0.0.97', 'destination', 15020);
  } catch (e) {
    t.comment(`skipped: 127.0.0.97:15020 is taken: ${(e as Error).message}`);
    return;
  }
  t.teardown(() => proxy.close());
  const cp = new ControlPlane({
    source: { kind: 'folder', dir },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    dashboardAddress: { host: '127.0.0.1', port: 0 },
    scrapeIntervalMs: 100,
    local: true,
    debounce: { quietMs: 5, maxMs: 20 },
    print: () => {},
  });
  await cp.start();
  t.teardown(() => cp.stop());
  t.ok(cp.dashboardPort > 0);
  cp.xds.emit('connect', { nodeId: 'sidecar~127.0.0.97~echo-deployment-5d8f9-abcde.client~client.svc.cluster.local', cluster: 'echo.client', metadata: { LABELS: { app: 'echo' } }, types: {} } as unknown as ProxySyncStatus);
  const base = `http://127.0.0.1:${cp.dashboardPort}`;
  t.ok(await until(async () => (await getJson(`${base}/api/targets`)).body[0]?.samples > 0), 'the connected proxy is scraped at IP:15020/stats/prometheus');
  t.match((await getJson(`${base}/api/targets`)).body, [{ id: 'echo-deployment-5d8f9-abcde.client', url: 'http://127.0.0.97:15020/stats/prometheus' }]);
  t.ok(await until(async () => ((await getJson(`${base}/api/namespaces/graph?namespaces=client&duration=60s`)).body as KialiGraph).elements.edges.length > 0), 'a graph with edges');
  const stat = (await getJson(`${base}/api/stat?kind=deploy&namespace=client`)).body;
  t.match(stat.rows, [{ name: 'echo-deployment', meshed: { meshed: 1, pods: 1 } }], 'the registered pod counts as meshed');
});

t.test('control-plane flags: --dashboard-address, --prometheus, --scrape-interval', async (t) => {
  const { parseControlPlaneArgs, ControlPlaneUsageError } = await import('../src/server/control-plane-args.js');
  t.match(parseControlPlaneArgs(['--config-dir', '.']), { dashboardAddress: { host: '0.0.0.0', port: 20001 }, prometheusUrl: undefined, scrapeIntervalMs: undefined });
  t.match(parseControlPlaneArgs(['--config-dir', '.', '--dashboard-address', 'off']), { dashboardAddress: 'off' });
  t.match(parseControlPlaneArgs(['--config-dir', '.', '--dashboard-address', '127.0.0.1:0', '--prometheus', 'http://prom:9090', '--scrape-interval', '500ms']), {
    dashboardAddress: { host: '127.0.0.1', port: 0 },
    prometheusUrl: 'http://prom:9090',
    scrapeIntervalMs: 500,
  });
  t.throws(() => parseControlPlaneArgs(['--config-dir', '.', '--scrape-interval', 'often']), /--scrape-interval: expected a duration/);
  try {
    parseControlPlaneArgs(['--config-dir', '.', '--scrape-interval', 'often']);
  } catch (e) {
    t.ok(e instanceof ControlPlaneUsageError, 'a usage error (exit 2)');
  }
  t.throws(() => parseControlPlaneArgs(['--config-dir', '.', '--prometheus', 'prom:9090']), /--prometheus: expected an http\(s\) URL/);
  t.throws(() => parseControlPlaneArgs(['--config-dir', '.', '--dashboard-address', 'nowhere']), /--dashboard-address: expected HOST:PORT/);
});
