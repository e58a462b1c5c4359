/**
 * `minimesh dashboard [minimesh|kiali]`: like `istioctl dashboard kiali`, prints the URL of the
 * control plane's dashboard (the live mesh graph on :20001) and opens a browser. Locally it
 * checks that the dashboard answers; with `--kube`/`--context` it port-forwards a local port to
 * 20001 of the running pod labelled `app=istiod` in `istio-system` (`-n` to change) until Ctrl-C.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { PORTS } from '@minimesh/mesh';
import { kubeGetJson } from '../sources/kube-get.js';

export const DEFAULT_DASHBOARD = `127.0.0.1:${PORTS.dashboard}`;

export const DASHBOARD_USAGE = `Usage: minimesh dashboard [minimesh|kiali] [options]

Prints the URL of the control plane's dashboard (the live mesh graph) and opens it in a
browser. 'kiali' is another name for the same page. First checks that the dashboard answers.

Options:
      --address HOST:PORT   the dashboard's address (default ${DEFAULT_DASHBOARD});
                            with --kube, the local address to listen on
      --browser=false       only print the URL, do not open a browser
      --kube                port-forward to the control plane in a Kubernetes cluster
      --context NAME        the kubeconfig context to use (implies --kube)
      --kubeconfig FILE     the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)
  -n, --namespace NS        the control plane's namespace with --kube (default istio-system)
  -p, --port PORT           the local port with --kube (default ${PORTS.dashboard}; 0: any free port)
  -h, --help                this help
`;

/** istioctl's other dashboards: minimesh does not install these (yet). */
const NOT_INSTALLED = new Set(['prometheus', 'grafana', 'jaeger', 'zipkin', 'skywalking', 'controlz', 'envoy']);

export interface DashboardIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Opens a URL in a browser; failures are silent. */
  readonly openBrowser: (url: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly interrupted: () => Promise<void>;
}

const defaultIo: DashboardIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  openBrowser,
  interrupted: () =>
    new Promise((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }),
};

/** xdg-open (Linux) or open (macOS), detached; absent or failing openers are ignored. */
export function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? undefined : 'xdg-open';
  if (!cmd) return;
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    /* no opener: the URL is printed anyway */
  }
}

/** `host:port`, `:port`, `port` or `http://host:port/` -> host and port. */
export function parseAddress(address: string, defaultPort: number = PORTS.dashboard): { host: string; port: number } {
  const a = address.trim();
  if (/^https?:\/\//.test(a)) {
    const u = new URL(a);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort };
  }
  if (/^\d+$/.test(a)) return { host: '127.0.0.1', port: Number(a) };
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(a);
  if (!m) throw new Error(`bad address ${JSON.stringify(address)}: expected HOST:PORT`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: m[3] !== undefined ? Number(m[3]) : defaultPort };
}

export const dashboardUrl = (host: string, port: number): string => `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;

/** Undefined when the page answers 2xx; else why not, in words. */
export async function checkDashboard(url: string, timeoutMs = 5000): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok ? undefined : `it answers HTTP ${res.status}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : (err.cause?.code ?? err.cause?.message ?? err.message);
  }
}

/** `--browser=false` and friends -> a flag parseArgs understands. */
function normaliseBrowserFlag(argv: string[]): { args: string[]; browser: boolean } {
  let browser = true;
  const args: string[] = [];
  for (const a of argv) {
    const m = /^--browser(?:=(.*))?$/.exec(a);
    if (m) browser = m[1] === undefined || !/^(false|0|no|off)$/i.test(m[1]);
    else if (a === '--no-browser') browser = false;
    else args.push(a);
  }
  return { args, browser };
}

export async function dashboardMain(argv: string[], io: DashboardIo = defaultIo): Promise<number> {
  const { args, browser } = normaliseBrowserFlag(argv);
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        address: { type: 'string' },
        kube: { type: 'boolean' },
        context: { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }));
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n\n${DASHBOARD_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(DASHBOARD_USAGE);
    return 0;
  }
  const name = positionals[0] ?? 'minimesh';
  if (NOT_INSTALLED.has(name)) {
    io.err(`minimesh dashboard: ${name} is not installed by minimesh yet; 'minimesh dashboard' opens the mesh graph (the page Kiali shows)\n`);
    return 1;
  }
  if ((name !== 'minimesh' && name !== 'kiali') || positionals.length > 1) {
    io.err(`minimesh dashboard: unknown dashboard ${JSON.stringify(positionals.join(' '))}\n\n${DASHBOARD_USAGE}`);
    return 2;
  }
  let address: { host: string; port: number };
  try {
    address = parseAddress(values.address ?? DEFAULT_DASHBOARD);
    if (values.port !== undefined) {
      if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new Error(`bad port ${JSON.stringify(values.port)}`);
      address = { ...address, port: Number(values.port) };
    }
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n`);
    return 2;
  }
  if (values.kube || values.context !== undefined || values.kubeconfig !== undefined) {
    return portForwardDashboard({ address, namespace: values.namespace ?? 'istio-system', context: values.context, kubeconfig: values.kubeconfig, browser }, io);
  }
  const url = dashboardUrl(address.host, address.port);
  const problem = await checkDashboard(url);
  if (problem) {
    io.err(
      `minimesh dashboard: the dashboard at ${url} does not answer (${problem}).\n` +
        `Is the control plane running? Start it with 'minimesh control-plane', give its address with --address,\n` +
        `or use --kube to reach the control plane in a Kubernetes cluster.\n`,
    );
    return 1;
  }
  io.out(`${url}\n`);
  if (browser) io.openBrowser(url);
  return 0;
}

interface ForwardOptions {
  readonly address: { host: string; port: number };
  readonly namespace: string;
  readonly context: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly browser: boolean;
}

interface PodList {
  items?: { metadata?: { name?: string; deletionTimestamp?: string }; status?: { phase?: string; conditions?: { type?: string; status?: string }[] } }[];
}

/** The name of a Running (preferably Ready) pod labelled app=istiod, or undefined. */
export async function findControlPlanePod(kc: KubeConfig, namespace: string): Promise<string | undefined> {
  const list = (await kubeGetJson(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent('app=istiod')}`)) as PodList;
  const running = (list.items ?? []).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.name);
  const ready = running.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  return (ready[0] ?? running[0])?.metadata?.name;
}

async function portForwardDashboard(o: ForwardOptions, io: DashboardIo): Promise<number> {
  // Loaded on first use, as the control plane's Kubernetes source does (its undici needs a recent Node).
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  let pod: string | undefined;
  try {
    if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
    if (o.context !== undefined) {
      if (!kc.getContextObject(o.context)) throw new Error(`no context ${JSON.stringify(o.context)} in the kubeconfig`);
      kc.setCurrentContext(o.context);
    }
    pod = await findControlPlanePod(kc, o.namespace);
  } catch (e) {
    io.err(`minimesh dashboard: cannot list the control plane's pods: ${(e as Error).message}\n`);
    return 1;
  }
  if (!pod) {
    io.err(`minimesh dashboard: no running pod labelled app=istiod in namespace ${o.namespace}. Is minimesh installed ('minimesh install')? Use -n for another namespace.\n`);
    return 1;
  }
  const forward = new k8s.PortForward(kc);
  const podName = pod;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    forward.portForward(o.namespace, podName, [PORTS.dashboard], socket, null, socket).catch((e: unknown) => {
      io.err(`minimesh dashboard: port-forward to ${podName}: ${(e as Error).message ?? e}\n`);
      socket.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.address.port, o.address.host, () => resolve());
    });
  } catch (e) {
    io.err(`minimesh dashboard: cannot listen on ${o.address.host}:${o.address.port}: ${(e as Error).message} (try --port 0)\n`);
    return 1;
  }
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  const port = (server.address() as net.AddressInfo).port;
  const url = dashboardUrl(o.address.host, port);
  const problem = await checkDashboard(url, 15_000);
  if (problem) {
    io.err(`minimesh dashboard: the control plane pod ${o.namespace}/${podName} does not answer on port ${PORTS.dashboard} (${problem}). Is its dashboard enabled?\n`);
    await close();
    return 1;
  }
  io.out(`${url}\n`);
  io.err(`Port-forwarding ${url} to pod ${o.namespace}/${podName}:${PORTS.dashboard}; press Ctrl-C to stop.\n`);
  if (o.browser) io.openBrowser(url);
  await io.interrupted();
  await close();
  return 0;
}
