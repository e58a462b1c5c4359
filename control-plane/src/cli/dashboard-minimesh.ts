/**
 * `minimesh dashboard [minimesh]`: the control plane's own dashboard (the live mesh graph,
 * port 20001), found as control-plane-target.ts says: `--address HOST:PORT` is checked as is;
 * `--kube`/`--context`/`--kubeconfig`/`-i` port-forward to the control plane's pod; otherwise a
 * dashboard answering on 127.0.0.1:20001 (or `-p`; its /api/proxies, which Kiali's forward on
 * 20001 does not answer) is used, else, with a kubeconfig present, the pod.
 * Forwarded, the local port is 20001 when free, else any (`-p` to choose), and the page is
 * checked before its URL is printed; then it forwards until Ctrl-C.
 */
import { PORTS } from '@minimesh/mesh';
import { announce, checkDashboard, DEFAULT_DASHBOARD, dashboardUrl, parseAddress, type DashboardIo, type DashboardOptions } from './dashboard-common.js';
import { answers, chooseRoute, DASHBOARD_PROBE_PATH, forwardToControlPlane, kubeconfigPresent, type KubeFlags, type Target } from './control-plane-target.js';

export async function minimeshDashboard(o: DashboardOptions, io: DashboardIo): Promise<number> {
  let address: { host: string; port: number };
  try {
    address = parseAddress(o.address ?? DEFAULT_DASHBOARD);
    if (o.port !== undefined) address = { ...address, port: o.port };
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n`);
    return 2;
  }
  // -n named the control plane's namespace before -i did: both are understood.
  const flags: KubeFlags = { kubeconfig: o.kubeconfig, context: o.context, istioNamespace: o.istioNamespace ?? (o.kube ? o.namespace : undefined) };
  const route = o.kube
    ? 'cluster'
    : await chooseRoute({
        explicit: o.address !== undefined,
        flags,
        localAnswers: () => answers(`${address.host}:${address.port}`, DASHBOARD_PROBE_PATH),
        kubeconfigPresent: () => kubeconfigPresent(flags, io.env, io.home),
      });
  if (route === 'cluster') return forwardDashboard(o.address !== undefined ? address.host : '127.0.0.1', flags, o, io);
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
  announce(url, o.browser, io);
  return 0;
}

/** The control plane's dashboard through its pod, checked before printing, until Ctrl-C. */
async function forwardDashboard(listenHost: string, flags: KubeFlags, o: DashboardOptions, io: DashboardIo): Promise<number> {
  let target: Target;
  try {
    target = await forwardToControlPlane({
      flags,
      remotePort: PORTS.dashboard,
      localDefault: DEFAULT_DASHBOARD,
      listenHost,
      localPorts: o.port !== undefined ? [o.port] : [PORTS.dashboard, 0],
      onError: (m) => io.err(`minimesh dashboard: ${m}\n`),
      env: io.env,
      home: io.home,
    });
  } catch (e) {
    io.err(`minimesh dashboard: ${(e as Error).message}\n`);
    return 1;
  }
  const pod = `${target.pod!.namespace}/${target.pod!.name}`;
  const url = `http://${target.hostPort}/`;
  const problem = await checkDashboard(url, 15_000);
  if (problem) {
    io.err(`minimesh dashboard: the control plane pod ${pod} does not answer on port ${PORTS.dashboard} (${problem}). Is its dashboard enabled?\n`);
    await target.close();
    return 1;
  }
  announce(url, o.browser, io);
  io.err(`Port-forwarding ${url} to pod ${pod}:${PORTS.dashboard}; press Ctrl-C to stop.\n`);
  await io.interrupted();
  await target.close();
  return 0;
}
