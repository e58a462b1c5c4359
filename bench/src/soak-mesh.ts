// The soak's local mesh: a control plane (its own process, on free ports) watching a temp YAML
// folder, a server pod (127.0.0.231: the bench's upstream app on 127.0.0.1:APP + its sidecar) and
// a client pod (127.0.0.232: its sidecar only; the soak's load is the client app, sending
// through the sidecar's forward-proxy listener on :15001). Sidecars are started as the local
// mesh launcher (examples/local-mesh.js) starts them: same flags, node metadata and a workload
// token each, so mTLS between the sidecars is on as in the shipped local mesh. The launcher
// itself is not used: it binds fixed control plane ports (15010/15014/20001) and stops the
// whole mesh when any child exits, and the soak restarts its upstream on purpose.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';
import { distProgram, minimeshCli } from './paths.js';
import { freePorts } from './ports.js';
import { logTail, stop, waitFor200, type Pinned } from './processes.js';

export const NAMESPACE = 'soak';
export const SERVER_HOST = `soak-server.${NAMESPACE}.svc.cluster.local`;

export interface SoakPod {
  app: string;
  ip: string;
  name: string;
}
export const SERVER_POD: SoakPod = { app: 'soak-server', ip: '127.0.0.231', name: 'soak-server-local-00001' };
export const CLIENT_POD: SoakPod = { app: 'soak-client', ip: '127.0.0.232', name: 'soak-client-local-00001' };

const SIDECAR_PORTS = [15000, 15001, 15020, 15021, 15090];

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, host, () => srv.close(() => done(true)));
  });
}

/** The Service and Deployments (the pods register themselves through their sidecars). */
function meshYaml(appPort: number): string {
  const deployment = (app: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${app}, namespace: ${NAMESPACE} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${app} } }
  template:
    metadata: { labels: { app: ${app} } }
    spec: { containers: [{ name: ${app}, image: soak, ports: [{ containerPort: ${appPort} }] }] }
`;
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${NAMESPACE}, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Service
metadata: { name: soak-server, namespace: ${NAMESPACE} }
spec:
  ports: [{ port: 80, name: http, targetPort: ${appPort} }]
  selector: { app: soak-server }
---
${deployment('soak-server')}---
${deployment('soak-client')}`;
}

/** The VirtualService of push `n`: only the response header's value changes, so each push is a new route config. */
export function pushYaml(n: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: soak-server, namespace: ${NAMESPACE} }
spec:
  hosts: [${SERVER_HOST}]
  http:
  - headers: { response: { set: { x-soak-push: soak-push-${n} } } }
    route: [{ destination: { host: ${SERVER_HOST} } }]
`;
}

/**
 * The environment for the soak's processes: this one's without NODE_OPTIONS (under tap it loads
 * tap's hooks into every child, which would be measured as the proxies' memory and CPU).
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/** Spawns `node args` with `env` added, output to `logFile` (the shape processes.ts works with). */
function spawnNode(args: readonly string[], logFile: string, env: Record<string, string> = {}): Pinned {
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: childEnv(env) });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
  const exited = new Promise<number | string>((resolveExit) => {
    proc.once('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
    proc.once('error', (err) => resolveExit(`error: ${err.message}`));
  });
  return { proc, pid: proc.pid, exited, logFile };
}

export class SoakMesh {
  readonly configDir: string;
  readonly tokensFile: string;
  controlPlane: Pinned | undefined;
  server: Pinned | undefined;
  readonly sidecars = new Map<string, Pinned>();
  xdsPort = 0;
  debugPort = 0;
  appPort = 0;

  constructor(readonly dir: string) {
    this.configDir = join(dir, 'config');
    this.tokensFile = join(dir, 'workload-tokens.json');
  }

  adminUrl(pod: SoakPod, path: string): string {
    return `http://${pod.ip}:15000${path}`;
  }

  /** Writes the YAML, starts the control plane, the server app and both sidecars; resolves when all are ready. */
  async start(): Promise<void> {
    const busy: string[] = [];
    for (const pod of [SERVER_POD, CLIENT_POD]) for (const port of SIDECAR_PORTS) if (!(await portFree(pod.ip, port))) busy.push(`${pod.ip}:${port}`);
    if (busy.length > 0) throw new Error(`the soak's pod addresses are in use: ${busy.join(', ')} (is another soak running?)`);
    mkdirSync(this.configDir, { recursive: true });
    const [xds, debug, dashboard, app] = await freePorts(4);
    this.xdsPort = xds;
    this.debugPort = debug;
    this.appPort = app;
    writeFileSync(join(this.configDir, 'mesh.yaml'), meshYaml(app));
    writeFileSync(join(this.configDir, 'virtual-service.yaml'), pushYaml(0));
    const tokens: Record<string, { namespace: string; serviceAccount: string }> = {};
    for (const pod of [SERVER_POD, CLIENT_POD]) {
      tokens[`soak-${pod.app}`] = { namespace: NAMESPACE, serviceAccount: 'default' };
      writeFileSync(join(this.dir, `${pod.app}.token`), `soak-${pod.app}`, { mode: 0o600 });
    }
    writeFileSync(this.tokensFile, JSON.stringify(tokens), { mode: 0o600 });
    const cpArgs = [minimeshCli, 'control-plane', '--config-dir', this.configDir, '--local', '--workload-tokens', this.tokensFile,
      '--xds-address', `127.0.0.1:${xds}`, '--debug-address', `127.0.0.1:${debug}`, '--dashboard-address', `127.0.0.1:${dashboard}`];
    this.controlPlane = spawnNode(cpArgs, join(this.dir, 'control-plane.log'));
    await waitFor200(`http://127.0.0.1:${debug}/ready`, this.controlPlane, 30_000, 'the control plane');
    await this.startServerApp();
    for (const pod of [SERVER_POD, CLIENT_POD]) await this.startSidecar(pod);
  }

  /** The upstream app (bench/dist/src/upstream.js) on 127.0.0.1:appPort; resolves once it answers 200. */
  async startServerApp(): Promise<void> {
    this.server = spawnNode([distProgram('upstream'), '--port', String(this.appPort)], join(this.dir, 'server-app.log'));
    await waitFor200(`http://127.0.0.1:${this.appPort}/`, this.server, 30_000, 'the server app');
  }

  /** Kills the server app (SIGKILL: connections drop as in a crash) and waits until it is gone. */
  async killServerApp(): Promise<void> {
    if (this.server === undefined) return;
    this.server.proc.kill('SIGKILL');
    await this.server.exited;
  }

  private async startSidecar(pod: SoakPod): Promise<void> {
    const args = [...PROXY_NODE_FLAGS, minimeshCli, 'proxy', '--xds', `127.0.0.1:${this.xdsPort}`, '--type', 'sidecar', '--admin-address', pod.ip,
      '--health-address', pod.ip, '--drain-time-s', '1', '--ca-token-file', join(this.dir, `${pod.app}.token`)];
    const env = {
      POD_NAME: pod.name,
      POD_NAMESPACE: NAMESPACE,
      INSTANCE_IP: pod.ip,
      ISTIO_METAJSON_LABELS: JSON.stringify({ app: pod.app }),
      ISTIO_META_WORKLOAD_NAME: pod.app,
      ISTIO_META_OWNER: `kubernetes://apis/apps/v1/namespaces/${NAMESPACE}/deployments/${pod.app}`,
      ISTIO_META_CLUSTER_ID: 'Kubernetes',
      ISTIO_META_MESH_ID: 'cluster.local',
      ISTIO_META_SERVICE_ACCOUNT: 'default',
    };
    const p = spawnNode(args, join(this.dir, `${pod.app}-sidecar.log`), env);
    this.sidecars.set(pod.app, p);
    await waitFor200(`http://${pod.ip}:15021/healthz/ready`, p, 60_000, `the ${pod.app} sidecar`);
  }

  /** Every process still running, for the samples. */
  pids(): { name: string; pid: number }[] {
    const out: { name: string; pid: number }[] = [];
    for (const [app, p] of this.sidecars) out.push({ name: `${app} sidecar`, pid: p.pid });
    if (this.controlPlane !== undefined) out.push({ name: 'control plane', pid: this.controlPlane.pid });
    return out;
  }

  /** A process that exited when it should not have (the server app is allowed to, during its restart). */
  deadProcess(): string | null {
    for (const [name, p] of [['control plane', this.controlPlane], ...[...this.sidecars].map(([app, s]) => [`${app} sidecar`, s])] as [string, Pinned | undefined][]) {
      if (p !== undefined && (p.proc.exitCode !== null || p.proc.signalCode !== null)) return `${name} exited (${p.proc.exitCode ?? p.proc.signalCode})${logTail(p)}`;
    }
    return null;
  }

  async stop(): Promise<void> {
    for (const p of [...this.sidecars.values(), this.server, this.controlPlane]) if (p !== undefined) await stop(p, 'SIGTERM', 5000);
  }
}
