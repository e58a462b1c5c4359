/**
 * `minimesh dashboard [minimesh|kiali|prometheus|grafana|jaeger|zipkin|envoy POD]`, as
 * `istioctl dashboard`:
 *   minimesh   the control plane's own dashboard (the live mesh graph on :20001), here or
 *              port-forwarded from the pod labelled `app=istiod` (see dashboard-minimesh.ts);
 *   kiali, prometheus, ...   the add-on's pod (`app=kiali`, `app.kubernetes.io/name=prometheus`,
 *              ...), looked for in istio-system (`-i`) first, then in `-n`; port-forwarded from the
 *              add-on's port (or `-p`, else any free port) on `--address` (localhost);
 *   envoy      a proxy's admin page: `POD[.NAMESPACE]` or `-l SELECTOR`, port 15000 (`--ui-port`).
 * Prints the URL, opens a browser unless `--browser=false` ("skipping opening a browser"), and
 * forwards until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { ISTIO_NAMESPACE, PORTS } from '@minimesh/mesh';
import { contextNamespace, findPod, loadKubeConfig, podExists, startForward } from './port-forward.js';
import { announce, DEFAULT_DASHBOARD, openBrowser, type DashboardIo, type DashboardOptions as Options } from './dashboard-common.js';
import { minimeshDashboard } from './dashboard-minimesh.js';

export { checkDashboard, DEFAULT_DASHBOARD, dashboardUrl, openBrowser, parseAddress, type DashboardIo } from './dashboard-common.js';

export const DASHBOARD_USAGE = `Usage: minimesh dashboard [minimesh|kiali|prometheus|grafana|jaeger|zipkin] [options]
       minimesh dashboard envoy [POD[.NAMESPACE] | -l SELECTOR] [options]

Opens a dashboard in a browser and prints its URL.
  minimesh     the control plane's dashboard (the live mesh graph): the one answering on
               ${DEFAULT_DASHBOARD} (the local mesh), else, with a kubeconfig, the control plane's
               pod (app=istiod in istio-system) port-forwarded until Ctrl-C; --kube forces the
               cluster, --address HOST:PORT names the dashboard
  kiali, prometheus, grafana, jaeger, zipkin
               the add-on in the cluster (kubectl apply -f samples/addons/), port-forwarded from
               its pod in istio-system (else in -n) until Ctrl-C.
  envoy        a proxy's admin page (port 15000) in the cluster, until Ctrl-C.

Options:
      --address HOST        where to listen (default localhost); minimesh without --kube:
                            the dashboard's HOST:PORT (default ${DEFAULT_DASHBOARD})
  -p, --port PORT           the local port (default: the remote one if free, else any; 0: any)
      --browser=false       only print the URL ("skipping opening a browser")
  -n, --namespace NS        where else to look for the pod (envoy: the pod's namespace)
  -l, --selector SELECTOR   envoy: the first pod matching this label selector
      --ui-port PORT        envoy: the proxy's admin port (default ${PORTS.admin})
      --kube                minimesh: port-forward to the control plane in the cluster
      --context NAME        the kubeconfig context to use (minimesh: implies --kube)
      --kubeconfig FILE     the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)
  -i, --istioNamespace NS   the control plane's and add-ons' namespace (default ${ISTIO_NAMESPACE})
  -h, --help                this help
`;

/** The add-ons' pods and ports, as istioctl finds them. */
export const ADDON_DASHBOARDS: Readonly<Record<string, { selector: string; port: number; path: string }>> = {
  kiali: { selector: 'app=kiali', port: 20001, path: '/kiali' },
  prometheus: { selector: 'app.kubernetes.io/name=prometheus', port: 9090, path: '' },
  grafana: { selector: 'app.kubernetes.io/name=grafana', port: 3000, path: '' },
  jaeger: { selector: 'app=jaeger', port: 16686, path: '' },
  zipkin: { selector: 'app=zipkin', port: 9411, path: '' },
};

/** istioctl's other dashboards, which read istiod's own ports: minimesh has no such page. */
const NOT_SUPPORTED = new Set(['controlz', 'istiod-debug', 'skywalking']);

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

const portValue = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`bad ${flag} ${JSON.stringify(v)}: expected a port number`);
  return Number(v);
};

export async function dashboardMain(argv: string[], io: DashboardIo = defaultIo): Promise<number> {
  const { args, browser } = normaliseBrowserFlag(argv);
  let o: Options;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args,
      options: {
        address: { type: 'string' },
        kube: { type: 'boolean' },
        context: { type: 'string' },
        kubeconfig: { type: 'string' },
        istioNamespace: { type: 'string', short: 'i' },
        'istio-namespace': { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        port: { type: 'string', short: 'p' },
        selector: { type: 'string', short: 'l' },
        'ui-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (parsed.values.help) {
      io.out(DASHBOARD_USAGE);
      return 0;
    }
    const v = parsed.values;
    positionals = parsed.positionals;
    o = {
      browser,
      address: v.address,
      port: portValue('--port', v.port),
      namespace: v.namespace,
      selector: v.selector,
      uiPort: portValue('--ui-port', v['ui-port']) ?? PORTS.admin,
      kube: v.kube === true || v.context !== undefined || v.kubeconfig !== undefined,
      context: v.context,
      kubeconfig: v.kubeconfig,
      istioNamespace: v.istioNamespace ?? v['istio-namespace'],
    };
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n\n${DASHBOARD_USAGE}`);
    return 2;
  }
  const name = positionals[0] ?? 'minimesh';
  if (NOT_SUPPORTED.has(name)) {
    io.err(`minimesh dashboard: ${name} shows istiod's own debug pages, which minimesh's control plane does not have; 'minimesh dashboard' opens its dashboard\n`);
    return 1;
  }
  const addon = ADDON_DASHBOARDS[name];
  if (addon && positionals.length === 1) return addonDashboard(name, addon, o, io);
  if (name === 'envoy' || name === 'proxy') return envoyDashboard(positionals.slice(1), o, io);
  if (name !== 'minimesh' || positionals.length > 1) {
    io.err(`minimesh dashboard: unknown dashboard ${JSON.stringify(positionals.join(' '))}\n\n${DASHBOARD_USAGE}`);
    return 2;
  }
  return minimeshDashboard(o, io);
}

async function kubeConfigOrReport(o: Options, io: DashboardIo): Promise<KubeConfig | undefined> {
  try {
    return await loadKubeConfig(o.kubeconfig, o.context, io.env, io.home);
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n`);
    return undefined;
  }
}

/** Forwards, prints the URL (`path` after HOST:PORT), waits for Ctrl-C. */
async function forwardUntilInterrupted(kc: KubeConfig, ns: string, pod: string, remotePort: number, o: Options, path: string, io: DashboardIo): Promise<number> {
  const address = o.address ?? 'localhost';
  const listenHost = address === 'localhost' ? '127.0.0.1' : address.replace(/^\[|\]$/g, '');
  let forward;
  try {
    forward = await startForward(kc, ns, pod, remotePort, listenHost, o.port !== undefined ? [o.port] : [remotePort, 0], (m) => io.err(`minimesh dashboard: ${m}\n`));
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n`);
    return 1;
  }
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  announce(`http://${host}:${forward.port}${path}`, o.browser, io);
  io.err(`Port-forwarding ${host}:${forward.port} to pod ${ns}/${pod}:${remotePort}; press Ctrl-C to stop.\n`);
  await io.interrupted();
  await forward.close();
  return 0;
}

async function addonDashboard(name: string, addon: { selector: string; port: number; path: string }, o: Options, io: DashboardIo): Promise<number> {
  const kc = await kubeConfigOrReport(o, io);
  if (!kc) return 1;
  const first = o.istioNamespace ?? ISTIO_NAMESPACE;
  const namespaces = [first, ...(o.namespace !== undefined && o.namespace !== first ? [o.namespace] : [])];
  let found: { ns: string; pod: string } | undefined;
  try {
    for (const ns of namespaces) {
      const pod = await findPod(kc, ns, addon.selector);
      if (pod) {
        found = { ns, pod };
        break;
      }
    }
  } catch (e) {
    io.err(`minimesh dashboard: not able to locate the ${name} pod: ${(e as Error).message}\n`);
    return 1;
  }
  if (!found) {
    io.err(`minimesh dashboard: no pods found with selector ${addon.selector} (namespaces: ${namespaces.join(', ')})\n`);
    if (name === 'kiali' || name === 'prometheus') io.err(`Install it with: kubectl apply -f samples/addons/${name}.yaml\n`);
    return 1;
  }
  return forwardUntilInterrupted(kc, found.ns, found.pod, addon.port, o, addon.path, io);
}

async function envoyDashboard(args: string[], o: Options, io: DashboardIo): Promise<number> {
  if (o.selector === undefined && args.length < 1) {
    io.err('minimesh dashboard: specify a pod or --selector\n');
    return 2;
  }
  if (o.selector !== undefined && args.length > 0) {
    io.err('minimesh dashboard: name cannot be provided when a selector is specified\n');
    return 2;
  }
  const kc = await kubeConfigOrReport(o, io);
  if (!kc) return 1;
  let ns = o.namespace ?? contextNamespace(kc);
  let pod: string | undefined;
  try {
    if (o.selector !== undefined) {
      pod = await findPod(kc, ns, o.selector);
      if (!pod) {
        io.err(`minimesh dashboard: no pods found with selector ${o.selector} (namespace: ${ns})\n`);
        return 1;
      }
    } else {
      const arg = args[0]!;
      const dot = arg.lastIndexOf('.');
      if (dot > 0) [pod, ns] = [arg.slice(0, dot), arg.slice(dot + 1)];
      else pod = arg;
      if (!(await podExists(kc, ns, pod))) {
        io.err(`minimesh dashboard: pod ${ns}/${pod} not found\n`);
        return 1;
      }
    }
  } catch (e) {
    io.err(`minimesh dashboard: cannot list pods: ${(e as Error).message}\n`);
    return 1;
  }
  return forwardUntilInterrupted(kc, ns, pod, o.uiPort, o, '', io);
}
