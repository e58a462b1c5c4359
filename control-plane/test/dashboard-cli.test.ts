/**
 * `minimesh dashboard`: prints the dashboard's URL when it answers, says clearly when it does
 * not; with --kube port-forwards to the control plane pod, and `kiali`, `prometheus` and
 * `envoy POD` port-forward to those pods as istioctl does, through a fake API server that lists
 * pods and speaks the port-forward WebSocket protocol.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { dashboardMain, parseAddress, type DashboardIo } from '../src/cli/dashboard.js';
import { echoGraph, startStandIn } from './helpers/dashboard-stand-in.js';
import { fakeApi, type FakePod } from './helpers/fake-port-forward-api.js';

interface Captured extends DashboardIo {
  stdout: string;
  stderr: string;
  opened: string[];
  stop: () => void;
  waiting: Promise<void>;
}

function capture(): Captured {
  let stop!: () => void;
  let signalWaiting!: () => void;
  const waiting = new Promise<void>((r) => (signalWaiting = r));
  const stopped = new Promise<void>((r) => (stop = r));
  const c: Captured = {
    stdout: '',
    stderr: '',
    opened: [],
    stop: () => stop(),
    waiting,
    out: (s) => void (c.stdout += s),
    err: (s) => void (c.stderr += s),
    openBrowser: (url) => void c.opened.push(url),
    interrupted: () => {
      signalWaiting();
      return stopped;
    },
  };
  return c;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('addresses', async (t) => {
  t.same(parseAddress('127.0.0.1:20001'), { host: '127.0.0.1', port: 20001 });
  t.same(parseAddress('http://localhost:8080/'), { host: 'localhost', port: 8080 });
  t.same(parseAddress(':9000'), { host: '127.0.0.1', port: 9000 });
  t.same(parseAddress('9000'), { host: '127.0.0.1', port: 9000 });
  t.same(parseAddress('[::1]:20001'), { host: '::1', port: 20001 });
  t.same(parseAddress('dash.local'), { host: 'dash.local', port: 20001 });
});

t.test('prints the URL of a dashboard that answers, and opens a browser unless --browser=false', async (t) => {
  const server = await startStandIn(echoGraph('1.00'));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${server.port}/`;
  for (const name of [[], ['minimesh']]) {
    const io = capture();
    t.equal(await dashboardMain([...name, '--address', `127.0.0.1:${server.port}`], io), 0, `dashboard ${name.join('')}`);
    t.equal(io.stdout, `${url}\n`);
    t.same(io.opened, [url], 'the browser opens the page');
  }
  const io = capture();
  t.equal(await dashboardMain(['--address', url, '--browser=false'], io), 0);
  t.equal(io.stdout, `${url}\nskipping opening a browser\n`);
  t.same(io.opened, [], '--browser=false: no browser');
  t.ok(server.requests.includes('GET /'), 'it checked that the page answers');
});

t.test('says clearly when the dashboard does not answer', async (t) => {
  const port = await freePort();
  const io = capture();
  t.equal(await dashboardMain(['--address', `127.0.0.1:${port}`], io), 1);
  t.equal(io.stdout, '', 'no URL printed');
  t.match(io.stderr, `the dashboard at http://127.0.0.1:${port}/ does not answer (ECONNREFUSED)`);
  t.match(io.stderr, /Is the control plane running\?/);
  t.same(io.opened, []);
});

t.test("istiod's debug pages are not minimesh's; unknown names and flags are usage errors", async (t) => {
  for (const name of ['controlz', 'istiod-debug']) {
    const io = capture();
    t.equal(await dashboardMain([name], io), 1, name);
    t.match(io.stderr, `${name} shows istiod's own debug pages`);
  }
  const io = capture();
  t.equal(await dashboardMain(['nope'], io), 2);
  t.match(io.stderr, /unknown dashboard "nope"/);
  t.equal(await dashboardMain(['--bogus'], capture()), 2);
  const help = capture();
  t.equal(await dashboardMain(['--help'], help), 0);
  t.match(help.stdout, /Usage: minimesh dashboard \[minimesh\|kiali\|prometheus/);
  t.equal(await dashboardMain(['--port', 'x'], capture()), 2, 'a bad port');
});

/** A page server standing for an add-on: answers `GET path` with `body`, 404 elsewhere. */
async function page(t: { teardown(fn: () => unknown): void }, pathname: string, body: string): Promise<number> {
  const server = http.createServer((req, res) => {
    const ok = new URL(req.url ?? '/', 'http://x').pathname === pathname;
    res.writeHead(ok ? 200 : 404, { 'content-type': 'text/html' });
    res.end(ok ? body : 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** Runs a forwarding dashboard until it waits for Ctrl-C; returns its output and a stopper. */
async function forwarding(args: string[]) {
  const io = capture();
  const done = dashboardMain(args, io);
  await Promise.race([io.waiting, done]);
  return { io, done };
}

const ISTIOD: FakePod[] = [
  { name: 'istiod-old', labels: { app: 'istiod' }, phase: 'Pending' },
  { name: 'istiod-7d4f-abcde', labels: { app: 'istiod' } },
];

t.test('--kube port-forwards to the control plane pod until Ctrl-C', async (t) => {
  const dash = await startStandIn(echoGraph('1.00'));
  t.teardown(() => dash.close());
  const api = await fakeApi(t, { 'istio-system': ISTIOD }, { 20001: dash.port });
  const { io, done } = await forwarding(['--context', 'lab', '--kubeconfig', api.kubeconfig, '--port', '0', '--browser=false']);
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/\nskipping opening a browser\n$/.exec(io.stdout);
  t.ok(m, `prints the local URL (${JSON.stringify(io.stdout)} ${io.stderr})`);
  t.match(io.stderr, 'to pod istio-system/istiod-7d4f-abcde:20001');
  const html = await fetch(`http://127.0.0.1:${m?.[1]}/`).then((r) => r.text());
  t.match(html, '<title>minimesh — mesh graph</title>', 'the page arrives through the forward');
  t.ok(api.seen.some((s) => s.startsWith('WS /api/v1/namespaces/istio-system/pods/istiod-7d4f-abcde/portforward')), 'through the API server');
  io.stop();
  t.equal(await done, 0, 'exits 0 after Ctrl-C');
  await t.rejects(fetch(`http://127.0.0.1:${m?.[1]}/`), 'the local port is closed');
});

t.test('--kube with no control plane pod, or an unknown context', async (t) => {
  const api = await fakeApi(t, {}, {});
  const io = capture();
  t.equal(await dashboardMain(['--kube', '--kubeconfig', api.kubeconfig, '--port', '0'], io), 1);
  t.match(io.stderr, 'no pods found with selector app=istiod in namespace istio-system');
  const io2 = capture();
  t.equal(await dashboardMain(['--context', 'nope', '--kubeconfig', api.kubeconfig], io2), 1);
  t.match(io2.stderr, 'no context "nope"');
});

t.test('kiali: the app=kiali pod of istio-system at localhost:PORT/kiali, until Ctrl-C', async (t) => {
  const kiali = await page(t, '/kiali', '<title>Kiali</title>');
  const api = await fakeApi(t, { 'istio-system': [...ISTIOD, { name: 'kiali-5c9-xyz', labels: { app: 'kiali', 'app.kubernetes.io/name': 'kiali' } }] }, { 20001: kiali });
  const { io, done } = await forwarding(['kiali', '--kubeconfig', api.kubeconfig, '-p', '0']);
  const m = /^http:\/\/localhost:(\d+)\/kiali\n$/.exec(io.stdout);
  t.ok(m, `prints istioctl's URL (${JSON.stringify(io.stdout)} ${io.stderr})`);
  t.same(io.opened, [`http://localhost:${m?.[1]}/kiali`], 'and opens it');
  t.match(io.stderr, 'to pod istio-system/kiali-5c9-xyz:20001');
  t.equal(await fetch(`http://127.0.0.1:${m?.[1]}/kiali`).then((r) => r.text()), '<title>Kiali</title>', 'Kiali answers through the forward');
  t.ok(api.seen.some((s) => s.startsWith('GET /api/v1/namespaces/istio-system/pods?labelSelector=app%3Dkiali')), 'looked for app=kiali in istio-system');
  io.stop();
  t.equal(await done, 0);
});

t.test('kiali elsewhere (-n), on a chosen port; none anywhere is an error', async (t) => {
  const kiali = await page(t, '/kiali', '<title>Kiali</title>');
  const api = await fakeApi(t, { observability: [{ name: 'kiali-1', labels: { app: 'kiali' } }] }, { 20001: kiali });
  const port = await freePort();
  const { io, done } = await forwarding(['kiali', '-n', 'observability', '--kubeconfig', api.kubeconfig, '--port', String(port), '--browser=false']);
  t.equal(io.stdout, `http://localhost:${port}/kiali\nskipping opening a browser\n`);
  t.same(io.opened, []);
  const order = api.seen.filter((s) => s.includes('labelSelector=app%3Dkiali')).map((s) => s.split('/')[4]);
  t.same(order, ['istio-system', 'observability'], 'istio-system first, then -n');
  t.equal(await fetch(`http://127.0.0.1:${port}/kiali`).then((r) => r.status), 200);
  io.stop();
  t.equal(await done, 0);

  const none = capture();
  t.equal(await dashboardMain(['kiali', '--kubeconfig', api.kubeconfig], none), 1);
  t.match(none.stderr, 'no pods found with selector app=kiali');
  t.match(none.stderr, 'kubectl apply -f samples/addons/kiali.yaml');
  t.equal(none.stdout, '');
});

t.test('prometheus: the app.kubernetes.io/name=prometheus pod at localhost:PORT', async (t) => {
  const prom = await page(t, '/graph', 'Prometheus Time Series Collection and Processing Server');
  const api = await fakeApi(t, { 'istio-system': [{ name: 'prometheus-7f-abc', labels: { 'app.kubernetes.io/name': 'prometheus' } }] }, { 9090: prom });
  const { io, done } = await forwarding(['prometheus', '--kubeconfig', api.kubeconfig, '-p', '0', '--browser=false']);
  const m = /^http:\/\/localhost:(\d+)\nskipping opening a browser\n$/.exec(io.stdout);
  t.ok(m, `prints the URL (${JSON.stringify(io.stdout)} ${io.stderr})`);
  t.match(await fetch(`http://127.0.0.1:${m?.[1]}/graph`).then((r) => r.text()), 'Prometheus Time Series');
  io.stop();
  t.equal(await done, 0);
  const wrong = await fakeApi(t, { 'istio-system': [{ name: 'p', labels: { app: 'prometheus' } }] }, {});
  const io2 = capture();
  t.equal(await dashboardMain(['prometheus', '--kubeconfig', wrong.kubeconfig], io2), 1, 'app=prometheus alone is not the label looked for');
  t.match(io2.stderr, 'no pods found with selector app.kubernetes.io/name=prometheus');
});

t.test("envoy: a proxy's admin port, by POD.NAMESPACE, by name in the context's namespace, or by -l", async (t) => {
  const admin = await page(t, '/', 'Envoy Admin');
  const api = await fakeApi(t, { shop: [{ name: 'web-1', labels: { app: 'web' } }] }, { 15000: admin });
  for (const args of [['web-1.shop'], ['web-1'], ['-l', 'app=web', '-n', 'shop']]) {
    const { io, done } = await forwarding(['envoy', ...args, '--kubeconfig', api.kubeconfig, '-p', '0', '--browser=false']);
    const m = /^http:\/\/localhost:(\d+)\nskipping opening a browser\n$/.exec(io.stdout);
    t.ok(m, `envoy ${args.join(' ')}: ${JSON.stringify(io.stdout)} ${io.stderr}`);
    t.match(io.stderr, 'to pod shop/web-1:15000');
    t.equal(await fetch(`http://127.0.0.1:${m?.[1]}/`).then((r) => r.text()), 'Envoy Admin');
    io.stop();
    t.equal(await done, 0);
  }
  const missing = capture();
  t.equal(await dashboardMain(['envoy', 'nope.shop', '--kubeconfig', api.kubeconfig], missing), 1);
  t.match(missing.stderr, 'pod shop/nope not found');
  const neither = capture();
  t.equal(await dashboardMain(['envoy', '--kubeconfig', api.kubeconfig], neither), 2);
  t.match(neither.stderr, 'specify a pod or --selector');
  const both = capture();
  t.equal(await dashboardMain(['envoy', 'web-1', '-l', 'app=web', '--kubeconfig', api.kubeconfig], both), 2);
  t.match(both.stderr, 'name cannot be provided when a selector is specified');
});
