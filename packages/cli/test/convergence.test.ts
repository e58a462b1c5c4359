/**
 * End-to-end convergence (issue 3, item 8): a control plane on a temp YAML folder (Namespace,
 * Service `reviews` port 9080, DestinationRule with subsets v1/v2 by `version`, VirtualService
 * sending 100% to v1), two versioned upstreams as Pods with labels and loopback IPs (v1 on
 * 127.0.0.91, v2 on 127.0.0.92, same port), and two sidecars in xDS mode (`minimesh proxy --xds`
 * as child processes, the pod identity from POD_NAME/POD_NAMESPACE/INSTANCE_IP/
 * ISTIO_METAJSON_LABELS as the injector sets it) for two client pods, each with the local
 * mesh's forward-proxy listener on its pod IP:15001.
 *
 * An autocannon load runs through both sidecars while the VirtualService file is rewritten to
 * send 100% to v2. Asserted: each sidecar ACKs the new routes and answers v2 within 1 s of the
 * file write (measured and printed), the last v1 response the load saw came within that second,
 * and the load saw no non-2xx response and no error.
 *
 * Lives in the cli workspace because it needs both the control plane and the proxy (the CLI).
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import type { ProxySyncz } from '@minimesh/control-plane/server/syncz';

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonResult {
  requests: { total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  stop(): void;
}
type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/minimesh.js');
const NS = 'conv';
const HOST = `reviews.${NS}.svc.cluster.local:9080`;
const V1_IP = '127.0.0.91';
const V2_IP = '127.0.0.92';
const CLIENTS = [
  { pod: 'productpage-1', ip: '127.0.0.81' },
  { pod: 'productpage-2', ip: '127.0.0.82' },
];
const CONVERGE_MS = 1000;

/** v1 on 127.0.0.91:P and v2 on 127.0.0.92:P, the same port P (Pods share a targetPort). */
async function upstreams(): Promise<{ port: number; close: () => void }> {
  const listen = (s: http.Server, ip: string, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, ip, () => resolve((s.address() as AddressInfo).port));
    });
  for (let attempt = 0; ; attempt++) {
    const v1 = http.createServer((_req, res) => res.end('v1'));
    const v2 = http.createServer((_req, res) => res.end('v2'));
    const port = await listen(v1, V1_IP, 0);
    try {
      await listen(v2, V2_IP, port);
      return { port, close: () => (v1.close(), v2.close(), v1.closeAllConnections(), v2.closeAllConnections()) };
    } catch (e) {
      v1.close();
      if (attempt > 5) throw e;
    }
  }
}

const pod = (version: string, ip: string, port: number): string => `apiVersion: v1
kind: Pod
metadata: { name: reviews-${version}, namespace: ${NS}, labels: { app: reviews, version: ${version} } }
spec: { containers: [{ name: reviews, image: reviews, ports: [{ name: http, containerPort: ${port} }] }] }
status: { podIP: ${ip}, phase: Running }
`;

const mesh = (port: number): string => `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: ${NS} }
spec:
  selector: { app: reviews }
  ports: [{ name: http, port: 9080, targetPort: ${port} }]
---
${pod('v1', V1_IP, port)}---
${pod('v2', V2_IP, port)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: ${NS} }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

const virtualService = (subset: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: ${NS} }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: ${subset} }, weight: 100 }
`;

function get(ip: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: ip, port: 15001, path: '/', headers: { host: HOST }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(1000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    try {
      if (await cond()) return performance.now() - start;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

function startSidecar(xdsPort: number, c: (typeof CLIENTS)[number], stderr: string[]): ChildProcess {
  const args = ['--max-semi-space-size=2', BIN, 'proxy', '--xds', `127.0.0.1:${xdsPort}`, '--admin-address', c.ip, '--health-address', c.ip, '--drain-time-s', '1', '--log-level', 'warn'];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, POD_NAME: c.pod, POD_NAMESPACE: NS, INSTANCE_IP: c.ip, ISTIO_METAJSON_LABELS: JSON.stringify({ app: 'productpage' }) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  return child;
}

t.test('two sidecars converge within 1 s of a VirtualService edit, under load, without errors', async (t) => {
  const up = await upstreams();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-convergence-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), mesh(up.port));
  fs.writeFileSync(path.join(dir, 'virtualservice.yaml'), virtualService('v1'));
  const printed: string[] = [];
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, local: true, print: (l) => printed.push(l) });
  await cp.start();
  const stderr: string[] = [];
  const sidecars = CLIENTS.map((c) => startSidecar(cp.xdsPort, c, stderr));
  t.teardown(async () => {
    await Promise.all(
      sidecars.map(
        (s) =>
          new Promise<void>((r) => {
            if (s.exitCode !== null) return r();
            s.once('exit', () => r());
            s.kill('SIGTERM');
            setTimeout(() => s.kill('SIGKILL'), 3000).unref();
          }),
      ),
    );
    await cp.stop();
    up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const syncz = async (): Promise<ProxySyncz[]> => (await (await fetch(`http://127.0.0.1:${cp.debugPort}/debug/syncz`)).json()) as ProxySyncz[];

  await until('both sidecars answer v1', async () => (await Promise.all(CLIENTS.map((c) => get(c.ip)))).every((r) => r.status === 200 && r.body === 'v1'), 40_000).catch((e: Error) => {
    throw new Error(`${e.message}\ncontrol plane: ${printed.join('\n')}\nsidecars: ${stderr.join('')}`);
  });
  await until('both SYNCED', async () => {
    const s = await syncz();
    return s.length === 2 && s.every((p) => Object.values(p.types).every((x) => x.state === 'SYNCED'));
  }, 3000);
  const before = new Map((await syncz()).map((p) => [p.name, p.types]));
  t.same([...before.keys()].sort(), CLIENTS.map((c) => `${c.pod}.${NS}`), 'both client pods connected');

  // The load: one autocannon per sidecar, rate-limited (2 cores), recording when each version answered.
  const seen = CLIENTS.map(() => ({ lastV1: 0, firstV2: 0, v1: 0, v2: 0, other: 0 }));
  const loads = CLIENTS.map((c, i) =>
    autocannon({
      url: `http://${c.ip}:15001`,
      connections: 4,
      overallRate: 250,
      duration: 30,
      timeout: 2,
      requests: [
        {
          method: 'GET',
          path: '/',
          headers: { host: HOST },
          onResponse: (status: number, body: string) => {
            const now = performance.now();
            const s = seen[i];
            if (status === 200 && body === 'v1') {
              s.v1++;
              s.lastV1 = now;
            } else if (status === 200 && body === 'v2') {
              s.v2++;
              if (!s.firstV2) s.firstV2 = now;
            } else s.other++;
          },
        },
      ],
    }),
  );
  const results = Promise.all(loads.map((l) => Promise.resolve(l)));
  await new Promise((r) => setTimeout(r, 1000));
  t.ok(seen.every((s) => s.v1 > 0 && s.v2 === 0), 'the load reaches v1 only');

  // The edit: 100% to v2.
  const writtenAt = performance.now();
  fs.writeFileSync(path.join(dir, 'virtualservice.yaml'), virtualService('v2'));
  const acked = new Map<string, number>();
  const answered = new Map<string, number>();
  await until('every sidecar converged', async () => {
    const [s, rs] = await Promise.all([syncz(), Promise.all(CLIENTS.map((c) => (answered.has(c.ip) ? undefined : get(c.ip).catch(() => undefined))))]);
    const now = performance.now() - writtenAt;
    for (const p of s) {
      const b = before.get(p.name)!;
      if (!acked.has(p.name) && p.types.RDS.acked_version && p.types.RDS.acked_version !== b.RDS.acked_version && p.types.RDS.state === 'SYNCED') acked.set(p.name, now);
    }
    CLIENTS.forEach((c, i) => {
      if (rs[i]?.body === 'v2' && !answered.has(c.ip)) answered.set(c.ip, now);
    });
    return acked.size === CLIENTS.length && answered.size === CLIENTS.length;
  }, 3000);
  // Keep the load on the new config a little, then stop it.
  await new Promise((r) => setTimeout(r, 500));
  for (const l of loads) l.stop();
  const res = await results;

  for (const [i, c] of CLIENTS.entries()) {
    const name = `${c.pod}.${NS}`;
    const ackMs = acked.get(name)!;
    const answerMs = answered.get(c.ip)!;
    const lastV1Ms = seen[i].lastV1 - writtenAt;
    const firstV2Ms = seen[i].firstV2 - writtenAt;
    t.comment(`${name}: RDS ACKed ${ackMs.toFixed(0)} ms after the write; probe answered v2 at ${answerMs.toFixed(0)} ms; load: last v1 at ${lastV1Ms.toFixed(0)} ms, first v2 at ${firstV2Ms.toFixed(0)} ms`);
    t.ok(ackMs <= CONVERGE_MS, `${name}: new routes ACKed within ${CONVERGE_MS} ms (${ackMs.toFixed(0)} ms)`);
    t.ok(answerMs <= CONVERGE_MS, `${name}: answers v2 within ${CONVERGE_MS} ms (${answerMs.toFixed(0)} ms)`);
    t.ok(lastV1Ms <= CONVERGE_MS, `${name}: the load's last v1 response came within ${CONVERGE_MS} ms (${lastV1Ms.toFixed(0)} ms)`);
    t.ok(seen[i].v2 > 0, `${name}: the load reached v2 (${seen[i].v1} v1, ${seen[i].v2} v2 responses)`);
    const r = res[i];
    t.comment(`${name}: autocannon ${r.requests.total} requests, non2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`);
    t.equal(r.non2xx, 0, `${name}: no non-2xx response during the change`);
    t.equal(r.errors, 0, `${name}: no error during the change`);
    t.equal(seen[i].other, 0, `${name}: every response was v1 or v2`);
  }
  const after = new Map((await syncz()).map((p) => [p.name, p.types]));
  for (const [name, types] of after) {
    t.equal(types.CDS.acked_version, before.get(name)!.CDS.acked_version, `${name}: clusters unchanged (subsets existed before)`);
    t.notOk(types.RDS.last_nack, `${name}: no NACK`);
  }
  t.notOk(printed.some((l) => /rejected|Error/.test(l)), 'the control plane reported no problem');
});
