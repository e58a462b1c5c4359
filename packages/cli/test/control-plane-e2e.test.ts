/**
 * The control plane program end to end on loopback: a control plane (ports 0) on a temp YAML
 * folder, two upstreams, a sidecar in xDS mode (local mode: a forward proxy on POD_IP:15001).
 * A request by service name reaches the upstream; /debug/syncz shows the proxy SYNCED; a new
 * VirtualService moves traffic within a second; an invalid one is reported once and the last
 * good config keeps serving; /debug/config_dump renders as proxy-config tables.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import type { ProxySyncz } from '@minimesh/control-plane/server/syncz';
import { proxyStatusTable } from '@minimesh/control-plane/cli/proxy-status';
import { proxyConfigTable } from '@minimesh/control-plane/cli/proxy-config-tables';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { log } from '@minimesh/proxy/log';

log.level = 'warn';
const POD_IP = '127.0.0.61';
const NODE = `sidecar~${POD_IP}~tester-local-00001.test~test.svc.cluster.local`;

function upstream(name: string): Promise<{ port: number; close: () => void }> {
  const s = http.createServer((_req, res) => res.end(`from ${name}`));
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve({ port: (s.address() as AddressInfo).port, close: () => s.close() })));
}

function service(name: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: test }
spec: { ports: [{ name: http, port: 80, targetPort: ${port} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: ${name}, namespace: test }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${port} }] }]
`;
}

/** GET through the sidecar's forward-proxy listener, absolute form as `curl -x` sends it. */
function viaSidecar(url: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: POD_IP, port: 15001, path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    try {
      if (await cond()) return Date.now() - start;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

t.test('control plane + sidecar on loopback', async (t) => {
  const a = await upstream('a');
  const b = await upstream('b');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-cp-'));
  fs.writeFileSync(path.join(dir, 'services.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata: { name: test }\n---\n${service('web', a.port)}---\n${service('web-b', b.port)}`);
  const printed: string[] = [];
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, local: true, print: (l) => printed.push(l) });
  await cp.start();
  const proxy = await startXdsProxy({
    server: `127.0.0.1:${cp.xdsPort}`,
    node: { id: NODE, cluster: 'tester.test', metadata: { LABELS: { app: 'tester' } } },
    adminAddress: '127.0.0.1',
    adminPort: undefined,
    healthAddress: '127.0.0.1',
    healthPort: undefined,
    drainTimeMs: 100,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  t.teardown(async () => {
    await proxy.stop();
    await cp.stop();
    a.close();
    b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const debug = `http://127.0.0.1:${cp.debugPort}`;

  await until('first response through the sidecar', async () => (await viaSidecar('http://web.test.svc.cluster.local/')).body === 'from a', 5000);
  const r = await viaSidecar('http://web.test.svc.cluster.local/');
  t.equal(r.status, 200);
  t.equal(r.body, 'from a', 'the request by service name reaches the upstream');
  t.ok(r.headers['x-envoy-upstream-service-time'], 'through the proxy (x-envoy-upstream-service-time)');

  t.equal((await fetch(`${debug}/ready`)).status, 200, '/ready');
  await until('syncz SYNCED', async () => {
    const s = (await (await fetch(`${debug}/debug/syncz`)).json()) as ProxySyncz[];
    return s.length === 1 && Object.values(s[0].types).every((x) => x.state === 'SYNCED');
  }, 3000);
  const syncz = (await (await fetch(`${debug}/debug/syncz`)).json()) as ProxySyncz[];
  t.equal(syncz[0].name, 'tester-local-00001.test');
  t.same(Object.values(syncz[0].types).map((x) => x.state), ['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED'], 'every type SYNCED');
  t.match(proxyStatusTable(syncz), /tester-local-00001\.test\s+tester\.test\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
  const versionsBefore = syncz[0].types;

  // A VirtualService sends web's traffic to web-b: within a second.
  const vs = (dest: string): string => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: web, namespace: test }\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: { host: ${dest} }\n`;
  fs.writeFileSync(path.join(dir, 'vs.yaml'), vs('web-b'));
  const took = await until('routing follows the VirtualService', async () => (await viaSidecar('http://web.test.svc.cluster.local/')).body === 'from b', 1500);
  t.ok(took < 1000 + 200, `traffic moved in ${took} ms`);
  const after = ((await (await fetch(`${debug}/debug/syncz`)).json()) as ProxySyncz[])[0].types;
  t.equal(after.CDS.sent_version, versionsBefore.CDS.sent_version, 'clusters unchanged: CDS not pushed again');
  t.not(after.RDS.sent_version, versionsBefore.RDS.sent_version, 'routes changed: RDS pushed');

  // An invalid VirtualService: reported once, readably; the last good one keeps serving.
  fs.writeFileSync(path.join(dir, 'vs.yaml'), vs('web-b').replace('destination: { host: web-b }', 'destination: { host: web-b }\n      weight: lots'));
  await until('the error is reported', () => printed.some((l) => l.startsWith('Error [IST0106] (VirtualService test/web vs.yaml#0)')), 2000);
  cp.rescan();
  t.equal(printed.filter((l) => l.startsWith('Error [IST0106]')).length, 1, 'reported once');
  t.match(printed.find((l) => l.startsWith('Error'))!, /spec\.http\[0\]\.route\[0\]\.weight/);
  for (let i = 0; i < 3; i++) t.equal((await viaSidecar('http://web.test.svc.cluster.local/')).body, 'from b', 'the last good config keeps serving');

  // config_dump for proxy-config.
  const dump = await (await fetch(`${debug}/debug/config_dump?proxyID=tester-local-00001.test`)).json();
  t.match(proxyConfigTable('clusters', dump), /web-b\.test\.svc\.cluster\.local\s+80\s+-\s+outbound\s+EDS/);
  t.match(proxyConfigTable('routes', dump), /virtualOutbound\s+web\.test\.svc\.cluster\.local:80\s+web\.test\.svc\.cluster\.local \+ 3 more\.\.\.\s+\/\*\s+web\.test/);
  t.match(proxyConfigTable('listeners', dump), new RegExp(`${POD_IP.replace(/\./g, '\\.')}\\s+15001\\s+HTTP`));
  t.equal((await fetch(`${debug}/debug/config_dump?proxyID=nobody.test`)).status, 404, 'unknown proxy: 404');
});
