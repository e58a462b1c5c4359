/** `minimesh control-plane` flags. */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { CONTROL_PLANE_READY_PORT, DEFAULT_REVISION, ISTIO_NAMESPACE, MESH_CONFIG_FILE, MINIMESH_IMAGE, PORTS } from '@minimesh/mesh';
import type { ControlPlaneOptions, HostPort } from './control-plane.js';
import { parseDuration } from '../telemetry/graph-options.js';
import { ISTIOD_TLS_DIR } from '../security/tls-dir.js';
import { workloadTtlsFromEnv } from '../security/workload-cert.js';

export const CONTROL_PLANE_USAGE = `Usage: minimesh control-plane (--config-dir DIR | --kube) [options]

Watches mesh config (Kubernetes Services, Endpoints/EndpointSlices, Pods, Deployments and
Istio's VirtualService, DestinationRule, Gateway, ServiceEntry), translates it for every
connected proxy and pushes it over xDS v3 (gRPC ADS), like istiod.

Source (one of):
      --config-dir DIR       a folder of YAML, watched (the embedded default)
      --kube                 the Kubernetes API (in-cluster config, else kubeconfig)

Options:
      --xds-address H:P      gRPC ADS (default 0.0.0.0:${PORTS.xds}; port 0 picks a free port)
      --debug-address H:P    /ready, /version, /metrics (Prometheus) and /debug/* (default
                             0.0.0.0:${PORTS.controlPlaneDebug})
      --secure-xds-address H:P  the same ADS over TLS with the serving certificate (--kube
                             default 0.0.0.0:${PORTS.xdsTls}; otherwise off unless given)
      --webhook-address H:P  HTTPS: POST /inject (sidecar injection) and /validate (Istio's
                             kinds) (--kube default 0.0.0.0:${PORTS.webhook}; otherwise off unless given)
      --ready-address H:P    GET /ready alone: 200 once config is loaded and the certificates
                             exist (--kube default 0.0.0.0:${CONTROL_PLANE_READY_PORT}; otherwise off unless given)
      --tls-dir DIR          the serving certificate from DIR/tls.crt and DIR/tls.key (ca.crt,
                             if there, is what clients are told to trust). With --kube it wins
                             when present (default ${ISTIOD_TLS_DIR}); else the control
                             plane's CA (Secret istio-ca-secret) signs one. Without --kube it
                             is required by --secure-xds-address and --webhook-address
      --proxy-image IMAGE    the image injected pods run (default ${MINIMESH_IMAGE}, pulled
                             IfNotPresent); they reach the control plane at
                             istiod.<POD_NAMESPACE>.svc:${PORTS.xdsTls}
      --local                the local mesh on loopback: connected sidecars register their pods
                             (IP from the node id, labels from metadata LABELS); sidecars get a
                             forward-proxy listener on POD_IP:${PORTS.outboundCapture}; gateways
                             listen on their own IP
      --capture              sidecars under real capture (iptables from \`minimesh iptables\`,
                             as in a pod with istio-init): Istio's virtualOutbound listener on
                             0.0.0.0:${PORTS.outboundCapture} (original destination; HTTP routed by Host
                             across every service; TCP ports by port name; anything else to
                             PassthroughCluster) and virtualInbound on 0.0.0.0:${PORTS.inboundCapture}
                             (per-port chains to inbound|PORT||, mTLS by PeerAuthentication
                             with --workload-tokens); no per-port listeners. With
                             --local, proxies still register their pods
      --mesh-config FILE     the mesh config (Istio's MeshConfig YAML, as ConfigMap istio's
                             'mesh' key), re-read when it changes: accessLogFile,
                             accessLogFormat, accessLogEncoding, rootNamespace, trustDomain,
                             h2UpgradePolicy;
                             other keys are reported and ignored (--kube default
                             ${MESH_CONFIG_FILE} when that file exists; otherwise none)
      --h2-upgrade-policy P  mesh config h2UpgradePolicy: DO_NOT_UPGRADE (default) or UPGRADE
                             (outbound clusters of HTTP ports speak HTTP/2 unless a
                             DestinationRule's connectionPool.http says otherwise); wins
                             over the --mesh-config file's
      --debounce-ms Q[,MAX]  push after Q ms without change, MAX ms at most (default 100,1000)
      --dashboard-address H:P  the dashboard API: Kiali's graph JSON, /api/stat for
                             'minimesh stat', a graph WebSocket (default 0.0.0.0:${PORTS.dashboard};
                             'off' disables it; port 0 picks a free port)
      --prometheus URL       read metrics from this Prometheus (Kiali's own queries) instead of
                             scraping the proxies; any graph duration then
      --scrape-interval D    how often the proxies' :${PORTS.mergedMetrics}/stats/prometheus (and pods
                             annotated prometheus.io/scrape) are scraped into the control
                             plane's 10-minute store (default 5s)
      --workload-tokens FILE without --kube: issue workload certificates (CreateCertificate on
                             the xDS address) to callers whose bearer token FILE lists: JSON
                             {"<token>": {"namespace": NS, "serviceAccount": SA}, ...}, re-read
                             on every call (the local mesh's launcher writes it). With --kube
                             the pods' projected tokens are checked with a TokenReview instead
      --ca-dir DIR           with --workload-tokens: the CA (ca-cert.pem, ca-key.pem,
                             root-cert.pem, cert-chain.pem, Istio's plugged-in layout); a new
                             root is written there when DIR has none. Default: a new root in
                             memory
  -h, --help                 this help

Environment: DEFAULT_WORKLOAD_CERT_TTL (default 24h) and MAX_WORKLOAD_CERT_TTL (default
2160h): a workload certificate's lifetime when none is asked for, and the most it may be.
POD_NAMESPACE (default ${ISTIO_NAMESPACE}): where the CA Secret is kept and the
names the serving certificate is for; REVISION (default "${DEFAULT_REVISION}"): the webhook
configurations labelled istio.io/rev=REVISION get the caBundle. With --kube the control plane
publishes ConfigMap istio-ca-root-cert in every namespace, as istiod does. The three TLS and
ready addresses take 'off' too.
`;

export class ControlPlaneUsageError extends Error {}

export function parseHostPort(flag: string, v: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ControlPlaneUsageError(`${flag}: expected HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** An address flag: `H:P`, 'off', or the default when not given (undefined = off). */
function addressFlag(flag: string, v: string | undefined, fallback: string | undefined): HostPort | undefined {
  const text = v ?? fallback;
  return text === undefined || text === 'off' ? undefined : parseHostPort(flag, text);
}

export function parseControlPlaneArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ControlPlaneOptions | 'help' {
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
        'h2-upgrade-policy': { type: 'string' },
        'debounce-ms': { type: 'string' },
        'dashboard-address': { type: 'string' },
        prometheus: { type: 'string' },
        'scrape-interval': { type: 'string' },
        'secure-xds-address': { type: 'string' },
        'webhook-address': { type: 'string' },
        'ready-address': { type: 'string' },
        'tls-dir': { type: 'string' },
        'proxy-image': { type: 'string' },
        'mesh-config': { type: 'string' },
        'workload-tokens': { type: 'string' },
        'ca-dir': { type: 'string' },
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
  const kube = values.kube === true;
  const secureXdsAddress = addressFlag('--secure-xds-address', values['secure-xds-address'], kube ? `0.0.0.0:${PORTS.xdsTls}` : undefined);
  const webhookAddress = addressFlag('--webhook-address', values['webhook-address'], kube ? `0.0.0.0:${PORTS.webhook}` : undefined);
  const readyAddress = addressFlag('--ready-address', values['ready-address'], kube ? `0.0.0.0:${CONTROL_PLANE_READY_PORT}` : undefined);
  const tlsDir = values['tls-dir'] ?? (kube ? ISTIOD_TLS_DIR : undefined);
  if (!kube && tlsDir === undefined && (secureXdsAddress || webhookAddress)) {
    const which = [secureXdsAddress && '--secure-xds-address', webhookAddress && '--webhook-address'].filter(Boolean).join(' and ');
    throw new ControlPlaneUsageError(`${which} need${which.includes(' and ') ? '' : 's'} --tls-dir DIR (tls.crt, tls.key) without --kube: only the Kubernetes mode has a CA to sign a certificate`);
  }
  if (values['tls-dir'] === '') throw new ControlPlaneUsageError('--tls-dir: expected a folder');
  const proxyImage = values['proxy-image'] ?? MINIMESH_IMAGE;
  if (!/^[^\s]+$/.test(proxyImage)) throw new ControlPlaneUsageError(`--proxy-image: expected an image reference such as ${MINIMESH_IMAGE}, got ${JSON.stringify(proxyImage)}`);
  const namespace = env.POD_NAMESPACE || ISTIO_NAMESPACE;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new ControlPlaneUsageError(`POD_NAMESPACE: expected a namespace name, got ${JSON.stringify(namespace)}`);
  const revision = env.REVISION || DEFAULT_REVISION;
  const meshFlag = values['mesh-config'];
  if (meshFlag !== undefined && !fs.statSync(meshFlag, { throwIfNoEntry: false })?.isFile()) throw new ControlPlaneUsageError(`--mesh-config ${JSON.stringify(meshFlag)}: no such file`);
  const meshConfigFile = meshFlag ?? (kube && fs.existsSync(MESH_CONFIG_FILE) ? MESH_CONFIG_FILE : undefined);
  const workloadTokensFile = values['workload-tokens'];
  const caDir = values['ca-dir'];
  if (workloadTokensFile !== undefined && kube) throw new ControlPlaneUsageError('--workload-tokens: not with --kube (pods prove themselves with their service-account tokens, checked by TokenReview)');
  if (workloadTokensFile === '') throw new ControlPlaneUsageError('--workload-tokens: expected a file');
  if (caDir !== undefined && workloadTokensFile === undefined) throw new ControlPlaneUsageError('--ca-dir needs --workload-tokens FILE');
  if (caDir === '') throw new ControlPlaneUsageError('--ca-dir: expected a folder');
  try {
    workloadTtlsFromEnv(env);
  } catch (e) {
    throw new ControlPlaneUsageError((e as Error).message);
  }
  const h2 = values['h2-upgrade-policy'];
  if (h2 !== undefined && h2 !== 'UPGRADE' && h2 !== 'DO_NOT_UPGRADE') throw new ControlPlaneUsageError(`--h2-upgrade-policy: expected UPGRADE or DO_NOT_UPGRADE, got ${JSON.stringify(h2)}`);
  return {
    secureXdsAddress,
    webhookAddress,
    readyAddress,
    tlsDir,
    proxyImage,
    namespace,
    revision,
    ...(meshConfigFile !== undefined ? { meshConfigFile } : {}),
    ...(workloadTokensFile !== undefined ? { workloadTokensFile } : {}),
    ...(caDir !== undefined ? { caDir } : {}),
    dashboardAddress,
    prometheusUrl,
    scrapeIntervalMs,
    source: dir !== undefined ? { kind: 'folder', dir } : { kind: 'kube' },
    xdsAddress: parseHostPort('--xds-address', values['xds-address'] ?? `0.0.0.0:${PORTS.xds}`),
    debugAddress: parseHostPort('--debug-address', values['debug-address'] ?? `0.0.0.0:${PORTS.controlPlaneDebug}`),
    local: values.local ?? false,
    capture: values.capture ?? false,
    debounce,
    ...(h2 !== undefined ? { meshH2UpgradePolicy: h2 } : {}),
  };
}
