/** `minimesh control-plane` flags. */
import { parseArgs } from 'node:util';
import { PORTS } from '@minimesh/mesh';
import type { ControlPlaneOptions, HostPort } from './control-plane.js';
import { parseDuration } from '../telemetry/graph-options.js';

export const CONTROL_PLANE_USAGE = `Usage: minimesh control-plane (--config-dir DIR | --kube) [options]

Watches mesh config (Kubernetes Services, Endpoints/EndpointSlices, Pods, Deployments and
Istio's VirtualService, DestinationRule, Gateway, ServiceEntry), translates it for every
connected proxy and pushes it over xDS v3 (gRPC ADS), like istiod.

Source (one of):
      --config-dir DIR       a folder of YAML, watched (the embedded default)
      --kube                 the Kubernetes API (in-cluster config, else kubeconfig)

Options:
      --xds-address H:P      gRPC ADS (default 0.0.0.0:${PORTS.xds}; port 0 picks a free port)
      --debug-address H:P    /ready and /debug/* (default 0.0.0.0:${PORTS.controlPlaneDebug})
      --local                the local mesh on loopback: connected sidecars register their pods
                             (IP from the node id, labels from metadata LABELS); sidecars get a
                             forward-proxy listener on POD_IP:${PORTS.outboundCapture}; gateways
                             listen on their own IP
      --capture              sidecars under real capture (iptables from \`minimesh iptables\`,
                             as in a pod with istio-init): Istio's virtualOutbound listener on
                             0.0.0.0:${PORTS.outboundCapture} (original destination; HTTP routed by Host
                             across every service; TCP ports by port name; anything else to
                             PassthroughCluster) and virtualInbound on 0.0.0.0:${PORTS.inboundCapture}
                             (to inbound|PORT|| on 127.0.0.1); no per-port listeners. With
                             --local, proxies still register their pods
      --debounce-ms Q[,MAX]  push after Q ms without change, MAX ms at most (default 100,1000)
      --dashboard-address H:P  the dashboard API: Kiali's graph JSON, /api/stat for
                             'minimesh stat', a graph WebSocket (default 0.0.0.0:${PORTS.dashboard};
                             'off' disables it; port 0 picks a free port)
      --prometheus URL       read metrics from this Prometheus (Kiali's own queries) instead of
                             scraping the proxies; any graph duration then
      --scrape-interval D    how often the proxies' :${PORTS.mergedMetrics}/stats/prometheus (and pods
                             annotated prometheus.io/scrape) are scraped into the control
                             plane's 10-minute store (default 5s)
  -h, --help                 this help
`;

export class ControlPlaneUsageError extends Error {}

export function parseHostPort(flag: string, v: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ControlPlaneUsageError(`${flag}: expected HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function parseControlPlaneArgs(argv: string[]): ControlPlaneOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'config-dir': { type: 'string' },
        kube: { type: 'boolean' },
        'xds-address': { type: 'string' },
        'debug-address': { type: 'string' },
        local: { type: 'boolean' },
        capture: { type: 'boolean' },
        'debounce-ms': { type: 'string' },
        'dashboard-address': { type: 'string' },
        prometheus: { type: 'string' },
        'scrape-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ControlPlaneUsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const dir = values['config-dir'];
  if (dir !== undefined && values.kube) throw new ControlPlaneUsageError('--config-dir and --kube exclude each other');
  if (dir === undefined && !values.kube) throw new ControlPlaneUsageError('a source is required: --config-dir DIR or --kube');
  let debounce;
  if (values['debounce-ms'] !== undefined) {
    const [q, max] = values['debounce-ms'].split(',').map(Number);
    if (!Number.isFinite(q) || q < 0 || (max !== undefined && (!Number.isFinite(max) || max < q))) throw new ControlPlaneUsageError(`--debounce-ms: expected QUIET[,MAX] in ms, got ${values['debounce-ms']}`);
    debounce = { quietMs: q, maxMs: max ?? Math.max(q, 1000) };
  }
  const dashText = values['dashboard-address'] ?? `0.0.0.0:${PORTS.dashboard}`;
  const dashboardAddress = dashText === 'off' ? ('off' as const) : parseHostPort('--dashboard-address', dashText);
  let scrapeIntervalMs: number | undefined;
  if (values['scrape-interval'] !== undefined) {
    scrapeIntervalMs = parseDuration(values['scrape-interval']);
    if (scrapeIntervalMs === undefined || scrapeIntervalMs < 100) throw new ControlPlaneUsageError(`--scrape-interval: expected a duration of at least 100ms (e.g. 5s, 500ms), got ${JSON.stringify(values['scrape-interval'])}`);
  }
  const prometheusUrl = values.prometheus;
  if (prometheusUrl !== undefined && !/^https?:\/\/[^/]/.test(prometheusUrl)) throw new ControlPlaneUsageError(`--prometheus: expected an http(s) URL such as http://prometheus.istio-system:9090, got ${JSON.stringify(prometheusUrl)}`);
  return {
    dashboardAddress,
    prometheusUrl,
    scrapeIntervalMs,
    source: dir !== undefined ? { kind: 'folder', dir } : { kind: 'kube' },
    xdsAddress: parseHostPort('--xds-address', values['xds-address'] ?? `0.0.0.0:${PORTS.xds}`),
    debugAddress: parseHostPort('--debug-address', values['debug-address'] ?? `0.0.0.0:${PORTS.controlPlaneDebug}`),
    local: values.local ?? false,
    capture: values.capture ?? false,
    debounce,
  };
}
