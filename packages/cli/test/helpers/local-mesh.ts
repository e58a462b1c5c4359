/**
 * The in-process local mesh the CLI's end-to-end tests share: a control plane in local mode on a
 * temp YAML folder (ports picked by the system), and sidecars in xDS mode on 127.0.0.x, each with
 * a workload identity when the control plane issues them (`tokens`). Everything started here is
 * stopped at teardown, sidecars before the control plane. Not a test file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { ControlPlane, type ControlPlaneOptions } from '@minimesh/control-plane/server/control-plane';
import { startXdsProxy, type XdsModeOptions } from '@minimesh/proxy/xds-mode';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Polls `cond` until it gives a value (not undefined/false) or `ms` pass; the last error is in the message. */
export async function until<T>(what: string, cond: () => Promise<T | undefined | false>, ms: number, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what}: not within ${ms} ms${last !== undefined ? ` (${String(last)})` : ''}`);
}

/** A workload of the local mesh: its pod IP, name, namespace and service account (default: its name). */
export interface Workload {
  readonly ip: string;
  readonly name: string;
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface LocalMesh {
  readonly cp: ControlPlane;
  /** The temp folder: `config/` is the control plane's source, the rest is the test's. */
  readonly dir: string;
  readonly configDir: string;
  /** Writes (or replaces) a file of the source folder. */
  write(name: string, yaml: string): void;
  remove(name: string): void;
  /** Starts a sidecar for `w` (with its identity when the mesh has tokens); stopped at teardown. */
  sidecar(w: Workload, extra?: Partial<XdsModeOptions>): Promise<Awaited<ReturnType<typeof startXdsProxy>>>;
}

/**
 * `files`: the source folder's YAML; `identities`: the workloads whose tokens the control plane
 * honours (--workload-tokens), so their sidecars get certificates and mTLS is on.
 */
export async function startLocalMesh(t: Teardown, files: Readonly<Record<string, string>>, opts: { identities?: readonly Workload[]; cp?: Partial<ControlPlaneOptions> } = {}): Promise<LocalMesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-mesh-'));
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(configDir, name), text);
  let workloadTokensFile: string | undefined;
  if (opts.identities !== undefined) {
    workloadTokensFile = path.join(dir, 'tokens.json');
    const tokens = Object.fromEntries(opts.identities.map((w) => [`tok-${w.name}`, { namespace: w.namespace ?? 'test', serviceAccount: w.serviceAccount ?? w.name }]));
    fs.writeFileSync(workloadTokensFile, JSON.stringify(tokens));
  }
  const cp = new ControlPlane({
    source: { kind: 'folder', dir: configDir },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    local: true,
    print: () => {},
    ...(workloadTokensFile !== undefined ? { workloadTokensFile } : {}),
    ...opts.cp,
  });
  await cp.start();
  const proxies: { stop(): Promise<void> }[] = [];
  t.teardown(async () => {
    for (const p of proxies) await p.stop();
    await cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    cp,
    dir,
    configDir,
    write: (name, yaml) => fs.writeFileSync(path.join(configDir, name), yaml),
    remove: (name) => fs.rmSync(path.join(configDir, name), { force: true }),
    sidecar: async (w, extra = {}) => {
      const ns = w.namespace ?? 'test';
      let identity: XdsModeOptions['identity'];
      if (workloadTokensFile !== undefined) {
        const tokenFile = path.join(dir, `${w.name}.token`);
        fs.writeFileSync(tokenFile, `tok-${w.name}`);
        identity = { tokenFile, retry: { initialMs: 50, maxMs: 400 } };
      }
      const p = await startXdsProxy({
        server: `127.0.0.1:${cp.xdsPort}`,
        node: { id: `sidecar~${w.ip}~${w.name}-local-00001.${ns}~${ns}.svc.cluster.local`, cluster: `${w.name}.${ns}`, metadata: { LABELS: w.labels ?? { app: w.name }, SERVICE_ACCOUNT: w.serviceAccount ?? w.name, NAMESPACE: ns, WORKLOAD_NAME: w.name } },
        adminAddress: w.ip,
        adminPort: 15000,
        healthAddress: '127.0.0.1',
        healthPort: undefined,
        drainTimeMs: 100,
        backoff: { initialMs: 50, maxMs: 200 },
        ...(identity !== undefined ? { identity } : {}),
        ...extra,
      });
      proxies.push(p);
      return p;
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly ms: number;
}

/** One request with node:http (no keep-alive): through a sidecar's forward proxy with an absolute URL, or straight to an address. */
export function httpGet(host: string, port: number, pathOrUrl: string, headers: Readonly<Record<string, string>> = {}, timeoutMs = 5000): Promise<Reply> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: pathOrUrl, headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ms: performance.now() - start }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
