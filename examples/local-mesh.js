// The local mesh: pods as processes on loopback, without root or Kubernetes. Each pod takes its
// own loopback address (127.0.0.2, 127.0.0.3, ...), so every sidecar keeps Istio's ports
// (15000 admin, 15001 outbound, 15021 health) and the app listens on 127.0.0.1 as it would
// inside its pod. A control plane (`minimesh control-plane --local`) serves xDS on 15010 and
// its debug API on 15014; each sidecar (`minimesh proxy --xds`) announces its pod (name,
// namespace, IP, labels) in its node identity, and the control plane generates for it.
// Each sidecar gets its workload certificate (spiffe://cluster.local/ns/NS/sa/SA) from the
// control plane with a token the launcher makes for its pod: the tokens file in the log dir
// (--workload-tokens) maps each token to the pod's namespace and service account
// (`pod.serviceAccount`, else `default` as in Kubernetes).
// Used by examples/echo/run.js and examples/microservices/run.js.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';
import { PrometheusTargets } from './prometheus-targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLI = path.join(here, '..', 'packages', 'cli', 'bin', 'minimesh.js');
export const XDS_ADDRESS = '127.0.0.1:15010';
export const DEBUG_ADDRESS = '127.0.0.1:15014';
export const DASHBOARD_ADDRESS = '127.0.0.1:20001';
export const SIDECAR_PORTS = [15000, 15001, 15020, 15021, 15090];
/** Istio's default cluster name (the control plane's CLUSTER_ID). */
export const CLUSTER_ID = 'Kubernetes';

/** The workload a local pod stands for: `echo-deployment-local-00001` -> `echo-deployment`. */
export function workloadOf(pod) {
  return pod.workload ?? pod.name.replace(/-local-\d+$/, '');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves true when host:port accepts a listener (nothing else holds it). */
export function portFree(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

async function waitHttp(url, timeoutMs, isAlive) {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    if (!isAlive()) throw new Error(`exited before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

export class LocalMesh {
  /** @param {{ name: string, configDir: string }} opts */
  constructor(opts) {
    this.name = opts.name;
    this.configDir = opts.configDir;
    this.children = [];
    this.stopping = false;
    this.logDir = fs.mkdtempSync(path.join(os.tmpdir(), `minimesh-${opts.name}-`));
    /** A Prometheus scrape configuration of the running pods (file-based discovery). */
    this.prometheus = new PrometheusTargets(path.join(this.logDir, 'prometheus'));
    /** token -> { namespace, serviceAccount }: who each sidecar is, for the control plane's CA. */
    this.tokensFile = path.join(this.logDir, 'workload-tokens.json');
    this.tokens = {};
    fs.writeFileSync(this.tokensFile, '{}\n', { mode: 0o600 });
  }

  /** A new token for the pod (its identity added to the tokens file); returns the file holding it. */
  issueToken(pod) {
    const token = randomBytes(24).toString('base64url');
    this.tokens[token] = { namespace: pod.namespace, serviceAccount: pod.serviceAccount ?? 'default' };
    fs.writeFileSync(this.tokensFile, `${JSON.stringify(this.tokens, null, 2)}\n`, { mode: 0o600 });
    const dir = path.join(this.logDir, 'tokens');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${pod.name}.${pod.namespace}.token`);
    fs.writeFileSync(file, token, { mode: 0o600 });
    return file;
  }

  /** Every address:port the mesh will bind; returns the busy ones. */
  async busyPorts(pods) {
    const wanted = [XDS_ADDRESS, DEBUG_ADDRESS, DASHBOARD_ADDRESS];
    for (const p of pods) {
      for (const port of SIDECAR_PORTS) wanted.push(`${p.ip}:${port}`);
      for (const port of p.appPorts ?? []) wanted.push(`127.0.0.1:${port}`, `${p.ip}:${port}`);
      for (const port of p.listenPorts ?? []) wanted.push(`${p.ip}:${port}`);
    }
    const busy = [];
    for (const hp of wanted) {
      const i = hp.lastIndexOf(':');
      if (!(await portFree(hp.slice(0, i), Number(hp.slice(i + 1))))) busy.push(hp);
    }
    return busy;
  }

  /** Starts a child; `label` prefixes its lines on stdout, or its output goes to a log file. */
  spawn(label, args, { env = {}, show = false } = {}) {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { label, child, exited: false };
    child.on('exit', (code, signal) => {
      entry.exited = true;
      if (!this.stopping && !entry.expectedExit) {
        console.log(`${label} exited (${signal ?? `code ${code}`}); see ${this.logDir}`);
        void this.stop(1);
      }
    });
    const file = fs.createWriteStream(path.join(this.logDir, `${label.replace(/[^\w.-]+/g, '_')}.log`));
    for (const stream of [child.stdout, child.stderr]) {
      stream.pipe(file, { end: false });
      if (show) {
        let buf = '';
        stream.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            console.log(`${label} | ${buf.slice(0, i)}`);
            buf = buf.slice(i + 1);
          }
        });
      }
    }
    this.children.push(entry);
    return entry;
  }

  async startControlPlane() {
    const cp = this.spawn('control-plane', [CLI, 'control-plane', '--config-dir', this.configDir, '--local', '--workload-tokens', this.tokensFile, '--xds-address', XDS_ADDRESS, '--debug-address', DEBUG_ADDRESS, '--dashboard-address', DASHBOARD_ADDRESS], { show: true });
    // 30 s, as for the sidecars: a machine busy with other work starts it slowly.
    await waitHttp(`http://${DEBUG_ADDRESS}/ready`, 30000, () => !cp.exited);
    console.log(`control plane ready (xDS ${XDS_ADDRESS}, debug http://${DEBUG_ADDRESS}, config ${path.relative(process.cwd(), this.configDir) || '.'})`);
    console.log(`dashboard: the mesh graph at http://${DASHBOARD_ADDRESS}/ (or: npx minimesh dashboard)`);
  }

  /** Starts the app of a pod: a node script with its environment. */
  startApp(pod, script, env = {}, show = false) {
    return this.spawn(`${pod.app} app`, [script], { env: { POD_IP: pod.ip, ...env }, show });
  }

  /**
   * Starts the pod's sidecar (or gateway: type 'router'), waits until it holds a config.
   * @param {{ app: string, ip: string, name: string, namespace: string, labels: Record<string,string>, type?: string, serviceAccount?: string, proxyArgs?: string[] }} pod
   */
  async startSidecar(pod) {
    const type = pod.type ?? 'sidecar';
    const args = [...PROXY_NODE_FLAGS, CLI, 'proxy', '--xds', XDS_ADDRESS, '--type', type, '--admin-address', pod.ip, '--health-address', pod.ip, '--drain-time-s', '1', '--ca-token-file', this.issueToken(pod), ...(pod.proxyArgs ?? [])];
    // The node metadata Istio's injector gives a pod's proxy (its identity in the mesh's metrics).
    const workload = workloadOf(pod);
    const env = {
      POD_NAME: pod.name,
      POD_NAMESPACE: pod.namespace,
      INSTANCE_IP: pod.ip,
      ISTIO_METAJSON_LABELS: JSON.stringify(pod.labels),
      ISTIO_META_ISTIO_VERSION: '0.1.0',
      ISTIO_META_WORKLOAD_NAME: workload,
      ISTIO_META_OWNER: `kubernetes://apis/apps/v1/namespaces/${pod.namespace}/deployments/${workload}`,
      ISTIO_META_CLUSTER_ID: CLUSTER_ID,
      ISTIO_META_MESH_ID: 'cluster.local',
      // Its service account, as in the token the CA checks: the control plane's mesh identity of the pod.
      ISTIO_META_SERVICE_ACCOUNT: pod.serviceAccount ?? 'default',
    };
    const entry = this.spawn(`${pod.app} ${type === 'router' ? 'gateway' : 'sidecar'}`, args, { env });
    // Its certificate and first config: 30 s, for a machine busy with other work.
    await waitHttp(`http://${pod.ip}:15021/healthz/ready`, 30000, () => !entry.exited);
    console.log(`${pod.app} pod ${pod.ip}: ${type === 'router' ? 'gateway' : 'sidecar'} ready (${pod.name}.${pod.namespace}, admin http://${pod.ip}:15000, metrics http://${pod.ip}:15020/stats/prometheus)`);
    this.prometheus.add(pod);
  }

  /** Stops one pod's sidecar (or gateway) and leaves the mesh running: a pod leaving in a task's step. */
  async stopSidecar(pod) {
    const label = `${pod.app} ${(pod.type ?? 'sidecar') === 'router' ? 'gateway' : 'sidecar'}`;
    const entry = this.children.find((c) => c.label === label && !c.exited);
    if (entry === undefined) return;
    entry.expectedExit = true;
    entry.child.kill('SIGTERM');
    while (!entry.exited) await sleep(20);
  }

  /** Stops every child (SIGTERM, then SIGKILL after 3 s) and exits the process with `code`. */
  async stop(code = 0) {
    if (this.stopping) return;
    this.stopping = true;
    const alive = () => this.children.filter((c) => !c.exited);
    for (const c of [...alive()].reverse()) c.child.kill('SIGTERM');
    const end = Date.now() + 3000;
    while (alive().length > 0 && Date.now() < end) await sleep(50);
    for (const c of alive()) c.child.kill('SIGKILL');
    while (alive().length > 0) await sleep(20);
    console.log(`stopped ${this.children.length} processes; logs in ${this.logDir}`);
    process.exit(code);
  }

  /** Ctrl-C and SIGTERM stop everything. */
  handleSignals() {
    const quit = () => void this.stop(0);
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    process.on('SIGHUP', quit);
  }

  /** Checks ports, prints a clear message and exits 2 when some are taken. */
  async requireFreePorts(pods) {
    const busy = await this.busyPorts(pods);
    if (busy.length > 0) {
      console.error(`cannot start the local mesh: these addresses are in use: ${busy.join(', ')}\n(is another 'npm start' running?)`);
      process.exit(2);
    }
  }
}
