import { MINIMESH_VERSION } from '@minimesh/mesh';

/**
 * The one `minimesh` command: dispatches to each program, so one image serves every role.
 */
const USAGE = `minimesh: a service mesh you can read

Usage: minimesh <command> [options]

Commands:
  proxy         run the sidecar / gateway proxy (Envoy v3 bootstrap, or xDS from a control plane)
  control-plane run the control plane: YAML folder or Kubernetes -> xDS v3 (ADS) on :15010
  proxy-status  every proxy's sync state (SYNCED, NOT SENT, STALE, ERROR), from :15014 (here, or
                the cluster's istiod pod, port-forwarded)
  proxy-config  a proxy's clusters, listeners, routes, endpoints or secrets, as tables
  dashboard     open the mesh graph (the control plane's dashboard on :20001, here or port-forwarded),
                or kiali, prometheus, envoy POD in the cluster, port-forwarded
  analyze       check config and workloads for problems (IST0101 ... IST0173 messages)
  install       install minimesh on a Kubernetes cluster (alias apply; --set profile=demo)
  uninstall     remove what install applied (--purge: CRDs too)
  verify-install  check that every installed object is there and ready
  x precheck    check the cluster before installing
  stat          success rate, RPS, latency and TCP connections per deployment or service
  iptables      install a pod's capture rules (Istio's istio-iptables flags)
  injector      run the sidecar-injector webhook (HTTPS, POST /inject)
  kube-inject   add the sidecar to Kubernetes YAML offline (-f FILE|-)
  manifest      manifest generate: print the objects an install applies, as YAML (--set, -f)
  profile       profile list: the configuration profiles (default, demo, empty, minimal)
  wait-ready    wait until the proxy is ready (the sidecar's postStart hook)
  version       print the version

Run 'minimesh <command> --help' for a command's options.
`;

/** Runs a command; resolves to an exit code, or -1 when the command keeps running (a server). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'proxy': {
      const { proxyMain } = await import('@minimesh/proxy/main');
      return proxyMain(rest);
    }
    case 'control-plane': {
      const { controlPlaneMain } = await import('@minimesh/control-plane/main');
      return controlPlaneMain(rest);
    }
    case 'proxy-status':
    case 'ps': {
      const { proxyStatusMain } = await import('@minimesh/control-plane/cli/proxy-status');
      return proxyStatusMain(rest);
    }
    case 'proxy-config':
    case 'pc': {
      const { proxyConfigMain } = await import('@minimesh/control-plane/cli/proxy-config');
      return proxyConfigMain(rest);
    }
    case 'dashboard':
    case 'dash': {
      const { dashboardMain } = await import('@minimesh/control-plane/cli/dashboard');
      return dashboardMain(rest);
    }
    case 'analyze': {
      const { analyzeMain } = await import('@minimesh/control-plane/cli/analyze');
      return analyzeMain(rest);
    }
    case 'install':
    case 'apply': {
      const { installMain } = await import('@minimesh/install/cli/install-cli');
      return installMain(rest);
    }
    case 'uninstall': {
      const { uninstallMain } = await import('@minimesh/install/cli/uninstall-cli');
      return uninstallMain(rest);
    }
    case 'verify-install': {
      const { verifyInstallMain } = await import('@minimesh/install/cli/verify-install-cli');
      return verifyInstallMain(rest);
    }
    case 'x':
    case 'experimental': {
      if (rest[0] === 'precheck') {
        const { precheckMain } = await import('@minimesh/install/cli/precheck-cli');
        return precheckMain(rest.slice(1));
      }
      process.stderr.write(`minimesh x: unknown subcommand ${JSON.stringify(rest[0] ?? '')} (available: precheck)\n`);
      return 64;
    }
    case 'stat': {
      const { statMain } = await import('@minimesh/control-plane/cli/stat');
      return statMain(rest);
    }
    case 'iptables': {
      const { iptablesMain } = await import('@minimesh/injector/iptables/iptables-main');
      return iptablesMain(rest);
    }
    case 'injector': {
      const { injectorMain } = await import('@minimesh/injector/webhook/injector-main');
      return injectorMain(rest);
    }
    case 'kube-inject': {
      const { kubeInjectMain } = await import('@minimesh/injector/kube-inject/kube-inject-main');
      return kubeInjectMain(rest);
    }
    case 'manifest': {
      const { manifestMain } = await import('@minimesh/install/cli/manifest-generate');
      return manifestMain(rest);
    }
    case 'profile': {
      const { profileMain } = await import('@minimesh/install/cli/profile-list');
      return profileMain(rest);
    }
    case 'wait-ready': {
      const { waitReadyMain } = await import('@minimesh/injector/wait-ready');
      return waitReadyMain(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`minimesh ${MINIMESH_VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`minimesh: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}
