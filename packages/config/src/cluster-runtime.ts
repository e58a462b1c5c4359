/** Cluster tables (a part of the runtime config, runtime.ts re-exports them). */
import type { ClusterTlsRt } from './tls-runtime.js';
import type { UpstreamHttp2OptionsRt, UpstreamProtocol } from './protocol-runtime.js';
import type { OutlierDetectionRt } from './outlier-runtime.js';
import type { HashLbRt } from './hash-runtime.js';
import type { LocalityRt } from './locality-runtime.js';
import type { SlowStartRt } from './slow-start-runtime.js';

export type ClusterDiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';

export type DnsLookupFamily = 'AUTO' | 'V4_ONLY' | 'V4_PREFERRED' | 'ALL';

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

export interface ClusterRt {
  readonly name: string;
  readonly type: ClusterDiscoveryType;
  /** `connect_timeout`, Envoy's default 5 s. */
  readonly connectTimeoutMs: number;
  readonly lbPolicy: LbPolicy;
  readonly endpoints: readonly EndpointRt[];
  readonly circuitBreakers: CircuitBreakersRt;
  /** `common_http_protocol_options.idle_timeout` for upstream connections (default 1 h). */
  readonly upstreamIdleTimeoutMs: number;
  /** `common_http_protocol_options.max_requests_per_connection` (0 = unlimited). */
  readonly maxRequestsPerConnection: number;
  /** `per_connection_buffer_limit_bytes`, default 1 MiB: also the retry replay buffer limit. */
  readonly perConnectionBufferLimitBytes: number;
  /** `dns_refresh_rate` for STRICT_DNS (default 5 s). */
  readonly dnsRefreshRateMs: number;
  /** `dns_lookup_family` for STRICT_DNS / LOGICAL_DNS (Envoy's default AUTO: IPv6, else IPv4). */
  readonly dnsLookupFamily?: DnsLookupFamily;
  /** EDS clusters: the ClusterLoadAssignment to use (`eds_cluster_config.service_name`, else the name). */
  readonly edsServiceName?: string;
  /** `upstream_bind_config.source_address.address`: where upstream connections come from. */
  readonly sourceAddress?: string;
  /** `metadata.filter_metadata.istio.services`: the mesh services this cluster reaches (Istio's metrics). */
  readonly istioServices?: readonly IstioServiceRt[];
  /** The protocol spoken to the endpoints (HttpProtocolOptions; see protocol-runtime.ts). */
  readonly upstreamProtocol: UpstreamProtocol;
  /** HTTP/2 settings for upstream sessions: set when `upstreamProtocol` is `http2` or `downstream`. */
  readonly upstreamHttp2?: UpstreamHttp2OptionsRt;
  readonly tls?: ClusterTlsRt; // transport_socket / transport_socket_matches (absent = plaintext)
  readonly outlierDetection?: OutlierDetectionRt;
  /** `common_lb_config.healthy_panic_threshold` (%, Envoy's 50; 0 = panic off). */
  readonly healthyPanicThreshold: number;
  readonly hashLb?: HashLbRt; // RING_HASH / MAGLEV settings
  /** `common_lb_config.locality_weighted_lb_config`: within a priority, localities share load by their weights. */
  readonly localityWeighted?: boolean;
  /** `slow_start_config` of the ROUND_ROBIN / LEAST_REQUEST settings. */
  readonly slowStart?: SlowStartRt;
}

/** One of a cluster's `istio.services`: what `destination_service*` labels say. */
export interface IstioServiceRt {
  readonly host: string;
  readonly name: string;
  readonly namespace: string;
}

export interface EndpointRt {
  /** IP address or hostname (STRICT_DNS / LOGICAL_DNS). */
  readonly address: string;
  readonly port: number;
  /** `load_balancing_weight`, default 1. */
  readonly weight: number;
  /** `hostname` of the endpoint, used by auto_host_rewrite. */
  readonly hostname: string;
  /** HEALTHY / UNKNOWN count as healthy; UNHEALTHY / DRAINING / TIMEOUT / DEGRADED do not. */
  readonly healthy: boolean;
  /** `metadata.filter_metadata.istio.workload` (`NAME;NAMESPACE;CANONICAL_NAME;REVISION;CLUSTER`), or ''. */
  readonly workload: string;
  readonly socketMatch?: Readonly<Record<string, string>>; // filter_metadata["envoy.transport_socket_match"]
  /** The `LocalityLbEndpoints` entry's `priority` (0, the highest, when unset). */
  readonly priority?: number;
  /** The entry's `locality`, when set. */
  readonly locality?: LocalityRt;
  /** The entry's `load_balancing_weight` (0 when unset: no load under locality-weighted balancing). */
  readonly localityWeight?: number;
}

export interface CircuitBreakersRt {
  /** Envoy's defaults: 1024 / 1024 / 1024 / 3. */
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** `track_remaining`: the `circuit_breakers.default.remaining_*` gauges are published. */
  readonly trackRemaining?: boolean;
}
