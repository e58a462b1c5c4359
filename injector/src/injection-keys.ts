/** The annotation and label keys Istio uses for injection, spelled once. */
export const ANNOTATIONS = {
  inject: 'sidecar.istio.io/inject',
  status: 'sidecar.istio.io/status',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  rewriteAppHTTPProbers: 'sidecar.istio.io/rewriteAppHTTPProbers',
  holdApplication: 'proxy.istio.io/config',
  /** A ProxyConfig in YAML over the mesh's defaultConfig (the injector reads its `concurrency`). */
  proxyConfig: 'proxy.istio.io/config',
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  excludeInterfaces: 'traffic.sidecar.istio.io/excludeInterfaces',
  revision: 'istio.io/rev',
  defaultContainer: 'kubectl.kubernetes.io/default-container',
  defaultLogsContainer: 'kubectl.kubernetes.io/default-logs-container',
  prometheusScrape: 'prometheus.io/scrape',
  prometheusPort: 'prometheus.io/port',
  prometheusPath: 'prometheus.io/path',
} as const;

export const LABELS = {
  inject: 'sidecar.istio.io/inject',
  tlsMode: 'security.istio.io/tlsMode',
  canonicalName: 'service.istio.io/canonical-name',
  canonicalRevision: 'service.istio.io/canonical-revision',
  namespaceInjection: 'istio-injection',
  namespaceInjectionMinimesh: 'minimesh-injection',
} as const;

export const INIT_CONTAINER_NAME = 'istio-init';
export const PROXY_CONTAINER_NAME = 'istio-proxy';

/** Namespaces Istio never injects. */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease']);
