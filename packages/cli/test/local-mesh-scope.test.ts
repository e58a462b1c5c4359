/**
 * Scoping and TCP routing end to end through a local-mesh sidecar: a control plane (local
 * mode) on a temp YAML folder and a client sidecar in xDS mode; the app reaches its sidecar
 * as an HTTP proxy (absolute-form GETs, CONNECT for TCP).
 *   - TCP traffic shifting: a VirtualService `tcp` route sends 80 % of the connections to
 *     db-v1 and 20 % to db-v2, counted over many connections (binomial bounds);
 *   - outboundTrafficPolicy REGISTRY_ONLY (mesh config): an unknown host gets the sidecar's own
 *     502 (route block_all) and a TCP tunnel to one is refused and closed, while a known service
 *     answers;
 *   - a Sidecar's egress hosts (`./*`) take another namespace's service out of the proxy's
 *     config, and removing the Sidecar brings it back.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { log } from '@minimesh/proxy/log';

log.level = 'warn';
const CLIENT_IP = '127.0.0.74';

function get(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: CLIENT_IP, port: 15001, path: `http://${host}/`, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT `authority` through the sidecar: the status line, and what the server sent first (its name). */
function viaConnect(authority: string): Promise<{ status: number; greeting: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: CLIENT_IP, port: 15001 });
    let buf = '';
    let status = 0;
    const done = (): void => {
      s.destroy();
      resolve({ status, greeting: buf });
    };
    const timer = setTimeout(done, 5000);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ status, greeting: buf });
    });
    s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (status === 0 && buf.includes('\r\n\r\n')) {
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1] ?? -1);
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
      }
      if (status === 200 && buf.endsWith('\n')) {
        clearTimeout(timer);
        done();
      }
    });
  });
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A control plane on `files` (and a mesh config file, when given) and the client sidecar in namespace test; stopped at teardown. */
async function startMesh(t: Teardown, files: Record<string, string>, meshConfig?: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-scope-'));
  const yaml = path.join(dir, 'yaml');
  fs.mkdirSync(yaml);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(yaml, name), text);
  const meshConfigFile = meshConfig === undefined ? undefined : path.join(dir, 'mesh.yaml');
  if (meshConfigFile !== undefined) fs.writeFileSync(meshConfigFile, meshConfig!);
  const cp = new ControlPlane({
    source: { kind: 'folder', dir: yaml },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    local: true,
    print: () => {},
    ...(meshConfigFile !== undefined ? { meshConfigFile } : {}),
  });
  await cp.start();
  const client = await startXdsProxy({
    server: `127.0.0.1:${cp.xdsPort}`,
    node: { id: `sidecar~${CLIENT_IP}~client-local-00001.test~test.svc.cluster.local`, cluster: 'client.test', metadata: { LABELS: { app: 'client' } } },
    adminAddress: '127.0.0.1',
    adminPort: 0,
    healthAddress: '127.0.0.1',
    healthPort: undefined,
    drainTimeMs: 100,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  t.teardown(async () => {
    await client.stop();
    await cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return yaml;
}

/** A TCP server that greets each connection with `name\n`; closed at teardown. */
async function startTcpApp(t: Teardown, name: string): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.end(`${name}\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

async function startHttpApp(t: Teardown, name: string): Promise<number> {
  const app = http.createServer((_req, res) => res.end(name));
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  t.teardown(() => app.close());
  return (app.address() as net.AddressInfo).port;
}

/** A Service (port name `portName`, port `port`) with one endpoint, 127.0.0.1:`target`. */
const service = (name: string, ns: string, portName: string, port: number, target: number): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { ports: [{ name: ${portName}, port: ${port}, targetPort: ${target} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: ${name}, namespace: ${ns} }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: ${portName}, port: ${target} }] }]
`;

const namespaces = (...names: string[]): string => names.map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`).join('---\n');

const TCP_SHIFT = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: test }
spec:
  hosts: [db]
  tcp:
  - match: [{ port: 3306 }]
    route:
    - destination: { host: db-v1, port: { number: 3306 } }
      weight: 80
    - destination: { host: db-v2, port: { number: 3306 } }
      weight: 20
`;

t.test('TCP traffic shifting: 80/20 over many connections', async (t) => {
  const v1 = await startTcpApp(t, 'v1');
  const v2 = await startTcpApp(t, 'v2');
  await startMesh(t, {
    'services.yaml': [namespaces('test'), service('db', 'test', 'tcp-db', 3306, v1), service('db-v1', 'test', 'tcp-db', 3306, v1), service('db-v2', 'test', 'tcp-db', 3306, v2)].join('---\n'),
    'shift.yaml': TCP_SHIFT,
  });
  // Before the route is in force db answers v1 only; wait until a v2 shows up.
  await until('the tcp route is in force', async () => (await viaConnect('db.test.svc.cluster.local:3306')).greeting === 'v2\n', 15000);
  const N = 200;
  const counts: Record<string, number> = {};
  for (let i = 0; i < N; i++) {
    const r = await viaConnect('db.test.svc.cluster.local:3306');
    counts[r.greeting.trim() || `status ${r.status}`] = (counts[r.greeting.trim() || `status ${r.status}`] ?? 0) + 1;
  }
  t.same(Object.keys(counts).sort(), ['v1', 'v2'], `only the two destinations answer (${JSON.stringify(counts)})`);
  // Binomial(200, 0.8): mean 160, sd 5.7; ±4.5 sd.
  t.ok(counts.v1! >= 135 && counts.v1! <= 185, `v1 got ${counts.v1} of ${N} (expected about 160)`);
});

t.test('REGISTRY_ONLY: an unknown host gets 502 from the sidecar, a TCP tunnel to it is refused; known services work', async (t) => {
  const web = await startHttpApp(t, 'from web');
  const db = await startTcpApp(t, 'db');
  await startMesh(t, { 'services.yaml': [namespaces('test'), service('web', 'test', 'http', 80, web), service('db', 'test', 'tcp-db', 3306, db)].join('---\n') }, 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n');
  await until('the mesh is configured', async () => (await get('web.test.svc.cluster.local')).status === 200, 15000);
  const unknown = await get('unknown.example.com');
  t.equal(unknown.status, 502, 'unknown host: the block_all route');
  t.equal((await get('web.test.svc.cluster.local')).body, 'from web', 'a known service answers');
  const tunnel = await viaConnect('unknown.example.com:5432');
  t.not(tunnel.status, 200, `the tunnel to an unknown host is refused (${tunnel.status})`);
  t.equal((await viaConnect('db.test.svc.cluster.local:3306')).greeting, 'db\n', 'a known TCP service answers');
});

const SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: test }
spec:
  egress: [{ hosts: ["./*"] }]
`;

t.test('Sidecar egress: another namespace\'s service is scoped out, and back when the Sidecar goes', async (t) => {
  const web = await startHttpApp(t, 'from web');
  const ledger = await startHttpApp(t, 'from ledger');
  const dir = await startMesh(t, { 'services.yaml': [namespaces('test', 'bank'), service('web', 'test', 'http', 80, web), service('ledger', 'bank', 'http', 80, ledger)].join('---\n') });
  await until('both services answer', async () => (await get('ledger.bank.svc.cluster.local')).status === 200 && (await get('web.test.svc.cluster.local')).status === 200, 15000);
  fs.writeFileSync(path.join(dir, 'sidecar.yaml'), SIDECAR);
  await until('ledger is scoped out', async () => (await get('ledger.bank.svc.cluster.local')).status !== 200, 15000);
  t.equal((await get('ledger.bank.svc.cluster.local')).status, 404, 'the proxy knows no route to it');
  t.equal((await get('web.test.svc.cluster.local')).body, 'from web', 'its own namespace stays');
  fs.rmSync(path.join(dir, 'sidecar.yaml'));
  await until('ledger is back', async () => (await get('ledger.bank.svc.cluster.local')).status === 200, 15000);
  t.pass('without the Sidecar every service again');
});
