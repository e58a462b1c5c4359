/**
 * proxy-status, proxy-config, stat and `dashboard minimesh` reach the control plane in a
 * cluster by themselves, as istioctl does: a port-forward through the API server to the first
 * Running pod labelled app=istiod in istio-system (-i), when a cluster flag is given or, with
 * no control plane answering here, a kubeconfig exists. The fake API server forwards to a real
 * control plane started in the test (its debug and dashboard ports), with a real xDS client.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { XdsClient } from '@minimesh/xds';
import { ControlPlane } from '../src/server/control-plane.js';
import { proxyStatusMain } from '../src/cli/proxy-status.js';
import { proxyConfigMain } from '../src/cli/proxy-config.js';
import { statMain } from '../src/cli/stat.js';
import { dashboardMain } from '../src/cli/dashboard.js';
import { chooseRoute, kubeconfigPresent, type CliIo } from '../src/cli/control-plane-target.js';
import { createDashboardAssets } from '../src/dashboard/dashboard-assets.js';
import { fakeApi, type FakePod } from './helpers/fake-port-forward-api.js';
import { REPO_ROOT } from './helpers/fixtures.js';

const NODE = 'sidecar~127.0.0.71~web-5d8f-abcde.shop~shop.svc.cluster.local';
const CONFIG = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;
const ISTIOD: FakePod[] = [
  { name: 'istiod-old', labels: { app: 'istiod' }, phase: 'Pending' },
  { name: 'istiod-7d4f-abcde', labels: { app: 'istiod', istio: 'pilot' } },
];

function tmp(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

/** A control plane with its debug and dashboard ports, and one sidecar connected and SYNCED. */
async function controlPlane(t: { teardown(fn: () => unknown): void }) {
  const dir = tmp(t, 'mm-cp-');
  fs.writeFileSync(path.join(dir, 'web.yaml'), CONFIG);
  const cp = new ControlPlane({
    source: { kind: 'folder', dir },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    dashboardAddress: { host: '127.0.0.1', port: 0 },
    dashboardAssets: createDashboardAssets(),
    debounce: { quietMs: 5, maxMs: 20 },
    print: () => {},
  });
  await cp.start();
  t.teardown(() => cp.stop());
  const client = new XdsClient({ server: `localhost:${cp.xdsPort}`, node: { id: NODE, cluster: 'web.shop' }, onConfig: () => {}, backoff: { initialMs: 50, maxMs: 200 } });
  client.start();
  t.teardown(() => client.close());
  await until(() => cp.syncStatus().some((s) => s.nodeId === NODE && Object.values(s.types).length === 4 && Object.values(s.types).every((x) => x.sentVersion !== undefined && x.ackedVersion === x.sentVersion)));
  return cp;
}

interface Captured extends CliIo {
  stdout: string;
  stderr: string;
}
function capture(extra: Partial<CliIo> = {}): Captured {
  const c: Captured = { stdout: '', stderr: '', out: (s) => void (c.stdout += s), err: (s) => void (c.stderr += s), ...extra };
  return c;
}

t.test('the route: an address flag, then cluster flags, then a local control plane, then a kubeconfig', async (t) => {
  const yes = async () => true;
  const no = async () => false;
  const never = async (): Promise<boolean> => {
    throw new Error('not asked');
  };
  t.equal(await chooseRoute({ explicit: true, flags: { context: 'lab' }, localAnswers: never, kubeconfigPresent: () => true }), 'address');
  for (const flags of [{ kubeconfig: 'f' }, { context: 'lab' }, { istioNamespace: 'mesh' }]) t.equal(await chooseRoute({ explicit: false, flags, localAnswers: never, kubeconfigPresent: () => false }), 'cluster', JSON.stringify(flags));
  t.equal(await chooseRoute({ explicit: false, flags: {}, localAnswers: yes, kubeconfigPresent: () => true }), 'local', 'a control plane answering here wins over a kubeconfig');
  t.equal(await chooseRoute({ explicit: false, flags: {}, localAnswers: no, kubeconfigPresent: () => true }), 'cluster');
  t.equal(await chooseRoute({ explicit: false, flags: {}, localAnswers: no, kubeconfigPresent: () => false }), 'local', 'neither: the local default (and its error)');

  const home = tmp(t, 'mm-home-');
  t.notOk(kubeconfigPresent({}, {}, home), 'no ~/.kube/config');
  t.ok(kubeconfigPresent({ kubeconfig: '/nowhere' }, {}, home), '--kubeconfig counts as given');
  t.notOk(kubeconfigPresent({}, { KUBECONFIG: `/nowhere${path.delimiter}` }, home), '$KUBECONFIG naming no file');
  fs.mkdirSync(path.join(home, '.kube'));
  fs.writeFileSync(path.join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\n');
  t.ok(kubeconfigPresent({}, {}, home), '~/.kube/config');
  t.ok(kubeconfigPresent({}, { KUBECONFIG: `/nowhere${path.delimiter}${path.join(home, '.kube', 'config')}` }, '/nonexistent'), 'a file of $KUBECONFIG');
});

t.test('proxy-status and proxy-config through a port-forward to the control plane pod', async (t) => {
  const cp = await controlPlane(t);
  const api = await fakeApi(t, { 'istio-system': ISTIOD }, { 15014: cp.debugPort });
  const io = capture();
  t.equal(await proxyStatusMain(['--kubeconfig', api.kubeconfig], io), 0, io.stderr);
  t.match(io.stdout, /^NAME\s+CLUSTER\s+CDS\s+LDS\s+EDS\s+RDS\s+VERSION\n/);
  t.match(io.stdout, /\nweb-5d8f-abcde\.shop\s+web\.shop\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+\S+\n$/, 'the sidecar, SYNCED');
  t.equal(io.stderr, '', 'nothing else said');
  t.ok(api.seen.some((s) => s.startsWith('GET /api/v1/namespaces/istio-system/pods?labelSelector=app%3Distiod')), 'looked for app=istiod in istio-system');
  t.ok(api.seen.includes('WS /api/v1/namespaces/istio-system/pods/istiod-7d4f-abcde/portforward?ports=15014'), 'forwarded to the Running pod, port 15014');

  const json = capture();
  t.equal(await proxyStatusMain(['--context', 'lab', '--kubeconfig', api.kubeconfig, '-o', 'json'], json), 0);
  t.same(
    (JSON.parse(json.stdout) as { name: string }[]).map((e) => e.name),
    ['web-5d8f-abcde.shop'],
  );

  const pc = capture();
  t.equal(await proxyConfigMain(['clusters', 'web-5d8f-abcde.shop', '--kubeconfig', api.kubeconfig], pc), 0, pc.stderr);
  t.match(pc.stdout, /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE/);
  t.match(pc.stdout, /web\.shop\.svc\.cluster\.local\s+80\s+-\s+outbound\s+EDS/, "the sidecar's clusters, as generated");
  t.equal(pc.stderr, '');
});

t.test('found by itself: a kubeconfig and no control plane here', async (t) => {
  const cp = await controlPlane(t);
  const api = await fakeApi(t, { 'istio-system': ISTIOD }, { 15014: cp.debugPort, 20001: cp.dashboardPort });
  const home = tmp(t, 'mm-home-');
  const localAddress = `127.0.0.1:${await freePort()}`;
  const io = capture({ env: { KUBECONFIG: api.kubeconfig }, home, localAddress });
  t.equal(await proxyStatusMain([], io), 0, io.stderr);
  t.match(io.stdout, /web-5d8f-abcde\.shop\s+web\.shop\s+SYNCED/, '$KUBECONFIG: through the pod');

  fs.mkdirSync(path.join(home, '.kube'));
  fs.copyFileSync(api.kubeconfig, path.join(home, '.kube', 'config'));
  const stat = capture({ env: {}, home, localAddress });
  t.equal(await statMain(['deploy', '-n', 'shop'], stat), 0, stat.stderr);
  t.equal(stat.stdout, 'No traffic found.\n', "~/.kube/config: the control plane's dashboard API through the pod");
  t.ok(api.seen.includes('WS /api/v1/namespaces/istio-system/pods/istiod-7d4f-abcde/portforward?ports=20001'), 'stat: port 20001');

  // Kiali's forward holds the local dashboard port: not taken for the control plane's.
  const kiali = http.createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404);
    res.end('Kiali');
  });
  await new Promise<void>((r) => kiali.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => kiali.close(() => r())));
  const besideKiali = capture({ env: {}, home, localAddress: `127.0.0.1:${(kiali.address() as net.AddressInfo).port}` });
  t.equal(await statMain(['deploy', '-n', 'shop'], besideKiali), 0, besideKiali.stderr);
  t.equal(besideKiali.stdout, 'No traffic found.\n', "a page that is not the control plane's dashboard: the cluster's");

  const none = capture({ env: {}, home: tmp(t, 'mm-home-'), localAddress });
  t.equal(await proxyStatusMain([], none), 1, 'neither: the local default');
  t.match(none.stderr, `minimesh proxy-status: cannot reach http://${localAddress}/debug/syncz: ECONNREFUSED`);
});

t.test('a control plane answering here wins over the kubeconfig', async (t) => {
  const cp = await controlPlane(t);
  const api = await fakeApi(t, {}, {});
  const io = capture({ env: { KUBECONFIG: api.kubeconfig }, home: '/nonexistent', localAddress: `127.0.0.1:${cp.debugPort}` });
  t.equal(await proxyStatusMain([], io), 0, io.stderr);
  t.match(io.stdout, /web-5d8f-abcde\.shop\s+web\.shop\s+SYNCED/);
  t.same(api.seen, [], 'the API server was not asked');
});

t.test('no control plane pod: the selector and namespace in the error', async (t) => {
  const api = await fakeApi(t, { 'istio-system': [{ name: 'istiod-old', labels: { app: 'istiod' }, phase: 'Pending' }], mesh: [] }, {});
  const io = capture();
  t.equal(await proxyStatusMain(['--kubeconfig', api.kubeconfig], io), 1);
  t.equal(io.stderr, 'minimesh proxy-status: no pods found with selector app=istiod in namespace istio-system\n');
  t.equal(io.stdout, '');
  const other = capture();
  t.equal(await proxyConfigMain(['routes', 'x.y', '-i', 'mesh', '--kubeconfig', api.kubeconfig], other), 1);
  t.equal(other.stderr, 'minimesh proxy-config: no pods found with selector app=istiod in namespace mesh\n', '-i names the namespace');
  const stat = capture();
  t.equal(await statMain(['deploy', '--istioNamespace', 'mesh', '--kubeconfig', api.kubeconfig], stat), 1);
  t.equal(stat.stderr, 'minimesh stat: no pods found with selector app=istiod in namespace mesh\n');
  const auto = capture({ env: { KUBECONFIG: api.kubeconfig }, home: '/nonexistent', localAddress: `127.0.0.1:${await freePort()}` });
  t.equal(await proxyStatusMain([], auto), 1);
  t.match(auto.stderr, /^minimesh proxy-status: no pods found with selector app=istiod in namespace istio-system \(and no control plane answers on 127\.0\.0\.1:\d+\)\n$/, 'found by itself: what else was tried');
  const badContext = capture();
  t.equal(await proxyStatusMain(['--context', 'nope', '--kubeconfig', api.kubeconfig], badContext), 1);
  t.match(badContext.stderr, 'no context "nope"');
});

t.test('the pod does not answer on the port: the error names the pod', async (t) => {
  const closed = await freePort();
  const api = await fakeApi(t, { 'istio-system': ISTIOD }, { 15014: closed });
  const io = capture();
  t.equal(await proxyStatusMain(['--kubeconfig', api.kubeconfig], io), 1);
  t.match(io.stderr, /\(port-forwarded to pod istio-system\/istiod-7d4f-abcde:15014\)\n$/);
});

t.test("dashboard: a kubeconfig and no dashboard here: the pod's, on 20001 when free, else any", async (t) => {
  const cp = await controlPlane(t);
  const api = await fakeApi(t, { 'istio-system': ISTIOD }, { 20001: cp.dashboardPort });
  let stop!: () => void;
  let waiting!: () => void;
  const isWaiting = new Promise<void>((r) => (waiting = r));
  const stopped = new Promise<void>((r) => (stop = r));
  let stdout = '';
  let stderr = '';
  const io = { out: (s: string) => void (stdout += s), err: (s: string) => void (stderr += s), openBrowser: () => {}, interrupted: () => (waiting(), stopped), env: { KUBECONFIG: api.kubeconfig }, home: '/nonexistent' };
  // 20001 held here by something that is not a dashboard (or by someone else already): --kube takes another port.
  const blocker = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => blocker.once('error', () => r()).listen(20001, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => (blocker.listening ? blocker.close(() => r()) : r())));
  const done = dashboardMain(['--kube', '--browser=false'], io);
  await Promise.race([isWaiting, done]);
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/\nskipping opening a browser\n$/.exec(stdout);
  t.ok(m, `the URL (${JSON.stringify(stdout)} ${stderr})`);
  t.not(m?.[1], '20001', '20001 is busy: another port');
  t.match(await fetch(`http://127.0.0.1:${m?.[1]}/`).then((r) => r.text()), '<title>minimesh', 'the page, through the pod');
  stop();
  t.equal(await done, 0);

  // No flag at all: the port given with -p does not answer here, so the kubeconfig's cluster.
  const port = await freePort();
  stdout = '';
  const again = dashboardMain(['-p', String(port), '--browser=false'], { ...io, interrupted: () => Promise.resolve() });
  t.equal(await again, 0, stderr);
  t.equal(stdout, `http://127.0.0.1:${port}/\nskipping opening a browser\n`, 'found by itself');
});

t.test('as a process: proxy-status prints the table and exits', async (t) => {
  const cp = await controlPlane(t);
  const api = await fakeApi(t, { 'istio-system': ISTIOD }, { 15014: cp.debugPort });
  const bin = path.join(REPO_ROOT, 'packages/cli/bin/minimesh.js');
  const started = Date.now();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [bin, 'proxy-status', '--kubeconfig', api.kubeconfig], { timeout: 20_000 }, (e, stdout, stderr) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end();
  });
  t.equal(code, 0, stderr);
  t.match(stdout, /web-5d8f-abcde\.shop\s+web\.shop\s+SYNCED/);
  t.equal(stderr, '');
  t.ok(Date.now() - started < 15_000, 'it exits by itself: nothing left open');
});
