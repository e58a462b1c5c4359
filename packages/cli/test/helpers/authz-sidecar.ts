/**
 * A sidecar enforcing AuthorizationPolicies, end to end on loopback: the control plane's
 * translation (`generateForProxy`) of a workload `httpbin` in namespace `foo` (an HTTP port and
 * a TCP port, each the port of a real app on 127.0.0.1) plus the policies given, its inbound
 * listeners and clusters written as a static bootstrap, run by the real proxy. Requests go
 * from chosen loopback source addresses. Not a test file.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity, type GenerateOptions } from '@minimesh/control-plane';
import { startProxy, type RunningProxy } from '@minimesh/proxy/main';
import { log } from '@minimesh/proxy/log';

log.level = 'error';

export const POD_IP = '127.0.93.2';
const NODE = `sidecar~${POD_IP}~httpbin-00001.foo~foo.svc.cluster.local`;

interface TestLike {
  teardown(fn: () => void | Promise<void>): void;
}

/** The apps behind the sidecar: an HTTP server answering `ok <path>`, a TCP echo server. */
export interface Apps {
  readonly httpPort: number;
  readonly tcpPort: number;
  /** Paths the HTTP app received. */
  readonly seen: string[];
}

export async function startApps(t: TestLike): Promise<Apps> {
  const seen: string[] = [];
  const h = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end(`ok ${req.url}`);
  });
  const e = net.createServer((s) => s.pipe(s));
  await Promise.all([new Promise<void>((r) => h.listen(0, '127.0.0.1', r)), new Promise<void>((r) => e.listen(0, '127.0.0.1', r))]);
  t.teardown(() => {
    h.close();
    e.close();
  });
  return { httpPort: (h.address() as AddressInfo).port, tcpPort: (e.address() as AddressInfo).port, seen };
}

function workloads(apps: Apps): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: foo }
---
apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec:
  selector: { app: httpbin }
  ports: [{ name: http, port: 8000, targetPort: ${apps.httpPort} }, { name: tcp-echo, port: 9000, targetPort: ${apps.tcpPort} }]
---
apiVersion: v1
kind: Pod
metadata: { name: httpbin-00001, namespace: foo, labels: { app: httpbin, version: v1 } }
spec: { serviceAccountName: httpbin, containers: [{ name: httpbin, image: httpbin, ports: [{ containerPort: ${apps.httpPort} }, { containerPort: ${apps.tcpPort} }] }] }
status: { podIP: ${POD_IP}, phase: Running }
`;
}

export interface Sidecar {
  readonly running: RunningProxy;
  readonly warnings: string[];
  /** The generated inbound listeners (for inspection). */
  readonly listeners: Record<string, unknown>[];
  accessLog(n: number): Promise<Record<string, unknown>[]>;
  stats(): Promise<string>;
  prometheus(): Promise<string>;
  close(): Promise<void>;
}

/** Translates `policies` (YAML) for the httpbin sidecar (with the control plane's `options`) and runs its inbound side. */
export async function startSidecar(apps: Apps, policies: string, options: GenerateOptions = {}): Promise<Sidecar> {
  const loaded = loadManifests(`${workloads(apps)}---\n${policies}`, 'policies.yaml');
  if (loaded.issues.some((i) => i.level === 'error')) throw new Error(`policies do not load: ${JSON.stringify(loaded.issues)}`);
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, {}, model), options);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-'));
  const logPath = path.join(dir, 'access.log');
  const listeners = res.listeners.filter((l) => l.traffic_direction === 'INBOUND') as Record<string, unknown>[];
  for (const l of listeners) {
    const f = (l.filter_chains as { filters: { name: string; typed_config: Record<string, unknown> }[] }[])[0].filters;
    const hcm = f.find((x) => x.name === 'envoy.filters.network.http_connection_manager');
    if (hcm) hcm.typed_config.access_log = [{ name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: logPath } }];
  }
  const bootstrap = {
    node: { id: NODE, cluster: 'httpbin.foo' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: { listeners, clusters: res.clusters.filter((c) => String(c.name).startsWith('inbound|')) },
  };
  const file = path.join(dir, 'bootstrap.json');
  fs.writeFileSync(file, JSON.stringify(bootstrap));
  const running = await startProxy({ bootstrap: file, drainTimeMs: 100, healthPort: undefined, healthAddress: '127.0.0.1' });
  return {
    running,
    warnings: res.warnings,
    listeners,
    accessLog: async (n) => {
      for (let i = 0; i < 150; i++) {
        const lines = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').filter((x) => x !== '') : [];
        if (lines.length >= n) return lines.map((x) => JSON.parse(x) as Record<string, unknown>);
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`access log: fewer than ${n} lines`);
    },
    stats: () => get(`http://127.0.0.1:${running.adminPort}/stats`),
    prometheus: () => get(`http://127.0.0.1:${running.adminPort}/stats/prometheus`),
    close: () => running.stop(),
  };
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

export interface Req {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Source address (a loopback address), default 127.0.0.1. */
  from?: string;
}

export interface Resp {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One HTTP/1.1 request to the sidecar's HTTP port; the path is sent as written (no client normalization). */
export function send(apps: Apps, r: Req): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: POD_IP, port: apps.httpPort, method: r.method ?? 'GET', path: r.path ?? '/', headers: { host: 'httpbin.foo:8000', ...r.headers }, localAddress: r.from ?? '127.0.0.1', agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A TCP exchange on the sidecar's TCP port: what came back before the connection closed (or 1 s passed). */
export function tcpExchange(apps: Apps, payload: string, from = '127.0.0.1'): Promise<{ echoed: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: POD_IP, port: apps.tcpPort, localAddress: from });
    let echoed = '';
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ echoed, closed });
    };
    const timer = setTimeout(done, 1000);
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      echoed += d.toString();
      if (echoed.length >= payload.length) done();
    });
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      done();
    });
  });
}
