/**
 * VirtualService fault injection and mirroring end to end, as Istio's tasks teach them: a
 * control plane (local mode) on a temp YAML folder and a client sidecar in xDS mode. The app
 * sends plain HTTP through the sidecar's proxy port.
 *   - faults: for `end-user: jason` the sidecar aborts with 555, for everyone else it delays
 *     0.4 s; removing the fault from the YAML takes it away;
 *   - mirroring: every request to web also goes, fire and forget, to web-v2 with a `-shadow` Host;
 *   - outlier detection: of web's two endpoints the one answering 503 is ejected after two
 *     errors, and `proxy-config endpoints --admin` shows it FAILED.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { log } from '@minimesh/proxy/log';
import { httpGet, startLocalMesh, until, type LocalMesh, type Teardown } from './helpers/local-mesh.js';
import { proxyConfigMain } from '@minimesh/control-plane/cli/proxy-config';

log.level = 'warn';
const CLIENT_IP = '127.0.0.73';
const HOST = 'web.test.svc.cluster.local';

const get = (headers: Record<string, string> = {}) => httpGet(CLIENT_IP, 15001, `http://${HOST}/`, { host: HOST, ...headers });

const services = (name: string, port: number, namespace = true): string => `${namespace ? 'apiVersion: v1\nkind: Namespace\nmetadata: { name: test }\n---\n' : ''}apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: test }
spec: { ports: [{ name: http, port: 80, targetPort: ${port} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: ${name}, namespace: test }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${port} }] }]
`;

const FAULTS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: test }
spec:
  hosts: [web]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    fault: { abort: { httpStatus: 555, percentage: { value: 100 } } }
    route: [{ destination: { host: web } }]
  - fault: { delay: { fixedDelay: 0.4s, percentage: { value: 100 } } }
    route: [{ destination: { host: web } }]
`;

/** The mesh on `files` with the client sidecar. */
async function startMesh(t: Teardown, files: Record<string, string>): Promise<LocalMesh & { adminPort: number }> {
  const mesh = await startLocalMesh(t, files);
  const client = await mesh.sidecar({ ip: CLIENT_IP, name: 'client' }, { adminAddress: '127.0.0.1', adminPort: 0 });
  return { ...mesh, adminPort: client.adminPort! };
}

/** An app answering `name`, remembering the Host of each request; closed at teardown. */
async function startApp(t: Teardown, name: string, status = 200, address = '127.0.0.1'): Promise<{ port: number; hosts: string[] }> {
  const hosts: string[] = [];
  const app = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.statusCode = status;
    res.end(name);
  });
  app.listen(0, address);
  await once(app, 'listening');
  t.teardown(() => app.close());
  return { port: (app.address() as net.AddressInfo).port, hosts };
}

t.test('VirtualService fault: abort for one user, delay for the rest, gone when removed', async (t) => {
  const web = await startApp(t, 'from web');
  const mesh = await startMesh(t, { 'services.yaml': services('web', web.port), 'faults.yaml': FAULTS });
  await until('the fault is in force', async () => (await get({ 'end-user': 'jason' })).status === 555, 15000, 50);
  const jason = await get({ 'end-user': 'jason' });
  t.equal(jason.status, 555, 'jason: aborted by the client sidecar');
  t.equal(jason.body, 'fault filter abort');
  const other = await get();
  t.equal(other.status, 200);
  t.equal(other.body, 'from web');
  t.ok(other.ms >= 380, `everyone else: delayed (${other.ms.toFixed(0)} ms)`);
  const stats = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/stats`)).text();
  t.match(stats, /^http\.outbound_[^ ]*\.fault\.aborts_injected: [1-9]/m, 'aborts counted');
  t.match(stats, /^http\.outbound_[^ ]*\.fault\.delays_injected: [1-9]/m, 'delays counted');

  mesh.remove('faults.yaml');
  await until('the fault is gone', async () => (await get({ 'end-user': 'jason' })).status === 200, 15000);
  const after = await get();
  t.equal(after.status, 200);
  t.ok(after.ms < 350, `no delay any more (${after.ms.toFixed(0)} ms)`);
});

const MIRROR = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: test }
spec:
  hosts: [web]
  http:
  - route: [{ destination: { host: web } }]
    mirror: { host: web-v2 }
    mirrorPercentage: { value: 100 }
`;

t.test('VirtualService mirror: a copy of each request goes to the mirror, which cannot slow or fail it', async (t) => {
  const web = await startApp(t, 'from web');
  const v2 = await startApp(t, 'from v2');
  await startMesh(t, { 'services.yaml': services('web', web.port) + '---\n' + services('web-v2', v2.port, false), 'mirror.yaml': MIRROR });
  await until('the mirror is in force', async () => (await get()).status === 200 && v2.hosts.length > 0, 15000);
  const before = v2.hosts.length;
  const r = await get();
  t.equal(r.status, 200);
  t.equal(r.body, 'from web', 'the client gets the main answer');
  await until('the copy arrives', async () => v2.hosts.length === before + 1, 5000);
  t.equal(v2.hosts[v2.hosts.length - 1], `${HOST}-shadow`, 'the mirrored Host has -shadow');
});

const OUTLIER = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web, namespace: test }
spec:
  host: web
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    outlierDetection: { consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
`;

t.test('DestinationRule outlierDetection: the failing endpoint is ejected, and proxy-config shows it', async (t) => {
  const good = await startApp(t, 'good');
  // Listening on 127.0.0.1 and reached at 127.0.0.2 would not work: the bad app listens on all addresses.
  const bad = await startApp(t, 'bad', 503, '0.0.0.0');
  const svc = services('web', good.port).replace('subsets: [', `subsets: [{ addresses: [{ ip: 127.0.0.2 }], ports: [{ name: http, port: ${bad.port} }] }, `);
  const mesh = await startMesh(t, { 'services.yaml': svc, 'outlier.yaml': OUTLIER });
  await until('both endpoints answer', async () => {
    for (let i = 0; i < 4; i++) await get();
    return bad.hosts.length > 0 && good.hosts.length > 0;
  }, 15000);
  const codes: number[] = [];
  for (let i = 0; i < 10; i++) codes.push((await get()).status);
  t.same(codes.slice(-6), [200, 200, 200, 200, 200, 200], 'after the ejection every request goes to the good endpoint');
  let out = '';
  const code = await proxyConfigMain(['endpoints', '--admin', `127.0.0.1:${mesh.adminPort}`], { out: (s) => (out += s), err: (s) => (out += s) });
  t.equal(code, 0);
  t.match(out, /ENDPOINT\s+STATUS\s+OUTLIER CHECK\s+CLUSTER/);
  t.match(out, new RegExp(`127\\.0\\.0\\.2:${bad.port}\\s+HEALTHY\\s+FAILED\\s+outbound\\|80\\|\\|web\\.test\\.svc\\.cluster\\.local`));
  t.match(out, new RegExp(`127\\.0\\.0\\.1:${good.port}\\s+HEALTHY\\s+OK\\s+outbound`));
});
