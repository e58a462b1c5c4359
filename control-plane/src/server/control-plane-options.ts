/** The control plane's options (its command line, main.ts), and the generate options they imply. */
import type { KubeConfig } from '@kubernetes/client-node';
import type http from 'node:http';
import type { GenerateOptions } from '../generate/generate-options.js';
import type { MeshH2UpgradePolicy } from '../generate/upstream-protocol.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { DebounceTimes } from './push-debouncer.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ControlPlaneOptions {
  readonly source: { readonly kind: 'folder'; readonly dir: string } | { readonly kind: 'kube' };
  readonly xdsAddress: HostPort;
  readonly debugAddress: HostPort;
  /**
   * The local mesh on loopback: connected sidecars register their pods (IP, labels) as
   * workloads, sidecars get the forward-proxy outbound listener on POD_IP:15001, gateways
   * listen on their own IP.
   */
  readonly local?: boolean;
  /**
   * Sidecars under real capture (iptables): Istio's virtualOutbound (15001) and virtualInbound
   * (15006) listeners instead of per-port ones (generate option `captureMode`). With `local`,
   * proxies still register their pods.
   */
  readonly capture?: boolean;
  /** Mesh config `h2UpgradePolicy` (default DO_NOT_UPGRADE; see generate-options.ts). */
  readonly meshH2UpgradePolicy?: MeshH2UpgradePolicy;
  readonly debounce?: DebounceTimes;
  /** The dashboard API (Kiali's graph, stat); undefined or 'off': none. Port 0 picks a free one. */
  readonly dashboardAddress?: HostPort | 'off';
  /** Read metrics from this Prometheus instead of scraping the proxies. */
  readonly prometheusUrl?: string;
  /** How often the proxies are scraped (default 5000 ms). */
  readonly scrapeIntervalMs?: number;
  /** Serves the dashboard page and its scripts (true when it answered). */
  readonly dashboardAssets?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Human-readable lines (default: stderr). */
  readonly print?: (line: string) => void;
  /** The same ADS service over TLS with the serving certificate (istiod's 15012). */
  readonly secureXdsAddress?: HostPort;
  /** HTTPS: POST /inject and /validate (istiod's 15017). */
  readonly webhookAddress?: HostPort;
  /** `GET /ready` alone (istiod's 8080): 200 once config is loaded and the certificates exist. */
  readonly readyAddress?: HostPort;
  /** A serving certificate from DIR/tls.crt and tls.key: in --kube mode it wins when present, else it is required for TLS ports. */
  readonly tlsDir?: string;
  /** The image injected pods run. */
  readonly proxyImage?: string;
  /** The control plane's namespace (POD_NAMESPACE; default istio-system) and revision (REVISION; default "default"). */
  readonly namespace?: string;
  readonly revision?: string;
  /** --kube mode: the API server (default: in-cluster config, else kubeconfig). */
  readonly kubeConfig?: KubeConfig;
  /** Retry timings of the Kubernetes-side loops (CA Secret, root ConfigMaps, webhook patching). */
  readonly kubeRetry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** The mesh config file (istiod's /etc/istio/config/mesh), watched; none: Istio's defaults. */
  readonly meshConfigFile?: string;
  /** Not --kube: CreateCertificate for the tokens this file lists; caDir: the CA's folder (security-runtime.ts). */
  readonly workloadTokensFile?: string;
  readonly caDir?: string;
}

/** What every proxy's config is generated with, from the options and the mesh config. */
export function generateOptionsFor(opts: ControlPlaneOptions, model: MeshModel, jwksUriOf: GenerateOptions['jwksUriOf']): GenerateOptions {
  // The flag wins over the mesh config file.
  const h2 = opts.meshH2UpgradePolicy ?? model.meshConfig.h2UpgradePolicy;
  const mesh: GenerateOptions = { ...(h2 ? { meshH2UpgradePolicy: h2 } : {}), ...(jwksUriOf ? { jwksUriOf } : {}) };
  // The sidecars take and send mTLS when this control plane issues their certificates: from
  // per-pod tokens (--workload-tokens: `npm start`, the netns test) or, in --kube, from the
  // pods' service-account tokens (Istio's default auto mTLS).
  const mtls = opts.workloadTokensFile !== undefined || opts.source.kind === 'kube';
  if (opts.capture) return { ...mesh, captureMode: true, bindProxyAddress: opts.local ?? false, mtls };
  return opts.local ? { ...mesh, outboundForwardProxy: true, bindProxyAddress: true, mtls } : mesh;
}
