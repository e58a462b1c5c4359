/**
 * The proxy's runtime tables: what a validated Envoy config compiles into.
 *
 * Everything here is built once per config (bootstrap or xDS push) and never changed
 * afterwards; the proxy swaps a whole `RuntimeConfig` atomically and each request keeps
 * the one it started with. Strings from the config are parsed here (retry_on lists,
 * regexes, durations), so the hot path only reads numbers, sets and compiled matchers.
 *
 * Durations are whole milliseconds; 0 means "disabled" where Envoy says so.
 */
import type { TelemetryRt } from './telemetry-runtime.js';
import type { RouteMatchRt } from './match-runtime.js';
import type { TcpProxyRt } from './compile-tcp-proxy.js';
import type { RbacFilterRt } from './rbac-runtime.js';
import type { HttpFaultRt } from './fault-runtime.js';
import type { CorsPolicyRt } from './cors-runtime.js';
import type { HeaderFormatPart } from './header-format-runtime.js';
import type { MirrorPolicyRt } from './mirror-runtime.js';
import type { HashPolicyRt } from './hash-runtime.js';
import type { JwtAuthnRt } from './jwt-runtime.js';

export type { TcpProxyRt } from './compile-tcp-proxy.js';
import type { ClientCertDetailsRt } from './client-cert-runtime.js';
export type { ClientCertDetailsRt, ForwardClientCertDetailsRt } from './client-cert-runtime.js';
import type { RetryPolicyRt } from './retry-runtime.js';
export type { RetryOn, RetryPolicyRt, RetryPriorityRt } from './retry-runtime.js';
import type { DownstreamTlsRt, FilterChainMatchRt, ListenerInspectorsRt } from './tls-runtime.js';
export type { PathMatchRt, RouteMatchRt, StringMatcherRt, HeaderMatchRuleRt, HeaderMatcherRt, QueryParameterMatcherRt } from './match-runtime.js';
import type { CodecType, Http2ProtocolOptionsRt, UpgradeConfigRt } from './protocol-runtime.js';

export type { CodecType, Http2ProtocolOptionsRt, UpstreamHttp2OptionsRt, UpgradeConfigRt, UpstreamProtocol } from './protocol-runtime.js';

/** A request as the router sees it. Header names are lower case. */
export interface RequestView {
  readonly method: string;
  /** The request-target as received: path plus query (`/a/b?x=1`). */
  readonly path: string;
  /** Host header (HTTP/1.1) or :authority, as received (may carry a port). */
  readonly authority: string;
  readonly headerNames: readonly string[];
  readonly headerValues: readonly string[];
  /** `http` or `https` (for `:scheme` header matchers); undefined = `http`. Added by config. */
  readonly scheme?: string;
}

export interface RuntimeConfig {
  /** A label for this config: "static" for a bootstrap, the xDS version otherwise. */
  readonly version: string;
  readonly node: NodeInfo;
  readonly admin: AdminRt | undefined;
  readonly listeners: readonly ListenerRt[];
  readonly clusters: ReadonlyMap<string, ClusterRt>;
}

export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface AdminRt {
  readonly address: string;
  readonly port: number;
}

export interface ListenerRt {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The HTTP connection manager of an HTTP listener (exactly one of `hcm` and `tcpProxy`). */
  readonly hcm?: HttpConnectionManagerRt;
  /** tcp_proxy: every connection's bytes to one cluster. */
  readonly tcpProxy?: TcpProxyRt;
  /** Set when the listener has `use_original_dst: true` (a transparent capture listener). */
  readonly capture?: CaptureRt;
  /** Set (with `inspectors`) instead of `hcm`/`tcpProxy` when a chain has a match or TLS: picked per connection. */
  readonly filterChains?: readonly FilterChainRt[];
  readonly inspectors?: ListenerInspectorsRt;
  /**
   * `bind_to_port: false` (a listener with filter chains): never bound; the outbound capture
   * listener hands it connections whose original destination port is its port, and the local
   * mesh's forward proxy the tunnels of a CONNECT to that port (as Envoy's use_original_dst).
   */
  readonly bindToPort?: false;
}

/** One of `filter_chains`: its match, TLS (undefined = plaintext) and its HCM or tcp_proxy. */ export interface FilterChainRt { readonly name: string; readonly match: FilterChainMatchRt; readonly tls: DownstreamTlsRt | undefined; readonly hcm?: HttpConnectionManagerRt; readonly tcpProxy?: TcpProxyRt }

/**
 * A capture listener (Istio's 15001 / 15006): each connection's original destination comes
 * from SO_ORIGINAL_DST. OUTBOUND: HTTP goes through the HCM, TCP and unknown destinations
 * straight to the original destination (`PassthroughCluster`). INBOUND: every connection goes
 * to 127.0.0.1:<original port> (`inbound|PORT||`).
 */
export interface CaptureRt {
  /** `traffic_direction` (UNSPECIFIED counts as OUTBOUND). */
  readonly direction: 'INBOUND' | 'OUTBOUND';
  /**
   * Destination ports proxied as plain TCP (Istio's `tcp-`, `mongo-`, `redis-`... ports), from
   * `metadata.filter_metadata["minimesh.capture"].tcp_ports` until tcp_proxy filter chains are
   * in the config model. Other ports are sniffed: HTTP/1.x from the first bytes, else TCP.
   */
  readonly tcpPorts: ReadonlySet<number>;
  /** `ADDRESS:PORT` (a service's cluster IP and TCP port) -> the outbound cluster for it. */
  readonly tcpClusters?: ReadonlyMap<string, string>;
  /** `ADDRESS:PORT` -> clusters with weights (a `tcp` route's destinations): one per connection, by weight. */
  readonly tcpWeightedClusters?: ReadonlyMap<string, readonly { readonly name: string; readonly weight: number }[]>;
  /** `registry_only: true` (outboundTrafficPolicy REGISTRY_ONLY): TCP to a destination the config does not know is closed (BlackHoleCluster), not passed through. */
  readonly registryOnly?: boolean;
}

export type ServerHeaderTransformation = 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';

export interface HttpConnectionManagerRt {
  readonly statPrefix: string;
  /** Its listener's `traffic_direction` (UNSPECIFIED counts as OUTBOUND). */
  readonly direction: 'INBOUND' | 'OUTBOUND';
  /** `server_name`, default "envoy". */
  readonly serverName: string;
  readonly serverHeaderTransformation: ServerHeaderTransformation;
  /** `use_remote_address`: append the peer address to x-forwarded-for. */
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  /** `generate_request_id`, default true. */
  readonly generateRequestId: boolean;
  /** `preserve_external_request_id` */
  readonly preserveExternalRequestId: boolean;
  /** Total size of request headers allowed, bytes (`max_request_headers_kb`, default 60 KiB). */
  readonly maxRequestHeadersBytes: number;
  /** `common_http_protocol_options.max_headers_count`, default 100. */
  readonly maxHeadersCount: number;
  /** `headers_with_underscores_action` (undefined: ALLOW, Envoy's and Istio's default). */
  readonly headersWithUnderscores?: 'REJECT_REQUEST' | 'DROP_HEADER';
  /** `codec_type` (default AUTO). */
  readonly codecType: CodecType;
  /** `http2_protocol_options` (for HTTP/2 clients). */
  readonly http2: Http2ProtocolOptionsRt;
  /** `request_headers_timeout` (0 = none). */
  readonly requestHeadersTimeoutMs: number;
  /** `request_timeout`: whole downstream request must arrive in this time (0 = none). */
  readonly requestTimeoutMs: number;
  /** `common_http_protocol_options.idle_timeout`: idle downstream connection (default 1 h). */
  readonly idleTimeoutMs: number;
  /** `stream_idle_timeout` (default 5 min; 0 = none). */
  readonly streamIdleTimeoutMs: number;
  /** `common_http_protocol_options.max_stream_duration`: a stream's life at most (0 = none). */
  readonly maxStreamDurationMs: number;
  /** `drain_timeout` (default 5 s). */
  readonly drainTimeoutMs: number;
  /** Access logs configured on this connection manager (stdout / file). */
  readonly accessLogs: readonly AccessLogRt[];
  /** Istio's metadata exchange and standard metrics (`istio.metadata_exchange`, `istio.stats`). */
  readonly telemetry: TelemetryRt;
  readonly routeConfig: RouteConfigRt;
  /**
   * `rds.route_config_name` when the routes come from RDS (over ADS). Until the xDS linker
   * (`linkXdsConfig`) fills it in, `routeConfig` is an empty placeholder of that name.
   */
  readonly rdsName?: string;
  /** `upgrade_configs` (`websocket`, ...); decide with `upgradeAllowed` (upgrade-config.ts). */
  readonly upgradeConfigs: readonly UpgradeConfigRt[];
  /** `envoy.filters.http.rbac` filters, in filter order (before the router). */
  readonly rbacFilters?: readonly RbacFilterRt[];
  /** `envoy.filters.http.jwt_authn` (request authentication), before the RBAC filters. */
  readonly jwtAuthn?: JwtAuthnRt;
  /** `envoy.filters.http.fault` is in the chain, with its own config (routes may override it). */
  readonly fault?: HttpFaultRt;
  /** `envoy.filters.http.cors` is in the chain (the policies are the routes' and virtual hosts'). */
  readonly cors?: true;
  /** `normalize_path`: `:path` is normalized (RFC 3986) before any filter or route sees it. */
  readonly normalizePath?: boolean;
  /** `forward_client_cert_details` / `set_current_client_cert_details`; undefined: SANITIZE. */
  readonly clientCert?: ClientCertDetailsRt;
}

export interface AccessLogRt {
  /** '/dev/stdout', '/dev/stderr' or a file path. */
  readonly path: string;
  /** `log_format.text_format_source` / `format` if given; undefined = Envoy's default format. */
  readonly textFormat: string | undefined;
  /** `log_format.json_format` if given. */
  readonly jsonFormat: Readonly<Record<string, string>> | undefined;
}

export interface RouteConfigRt {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostRt[];
  readonly requestHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly responseHeadersToRemove: readonly string[];
  /**
   * Precompiled domain lookup for selectVirtualHost (built by the compiler; when absent,
   * selectVirtualHost builds it once and caches it).
   */
  readonly vhostIndex?: VirtualHostIndex;
}

/** Virtual hosts by domain kind; wildcard lists are sorted longest first. */
export interface VirtualHostIndex {
  readonly exact: ReadonlyMap<string, VirtualHostRt>;
  /** `*.foo.com` is stored as suffix `.foo.com`. */
  readonly suffixes: readonly { readonly suffix: string; readonly vh: VirtualHostRt }[];
  /** `foo.*` is stored as prefix `foo.`. */
  readonly prefixes: readonly { readonly prefix: string; readonly vh: VirtualHostRt }[];
  readonly star: VirtualHostRt | undefined;
}

export interface VirtualHostRt {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly RouteRt[];
  readonly retryPolicy: RetryPolicyRt | undefined;
  /** `require_tls` ALL: a request on a plain-text connection gets a 301 to https (absent: NONE). */
  readonly requireTls?: 'ALL';
  readonly requestHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly responseHeadersToRemove: readonly string[];
  /** `typed_per_filter_config` for `envoy.filters.http.fault`. */
  readonly fault?: HttpFaultRt;
  /** `typed_per_filter_config` for `envoy.filters.http.cors`. */
  readonly cors?: CorsPolicyRt;
}

/** `append_action` of Envoy's HeaderValueOption. */
export type HeaderAppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

export interface HeaderValueOptionRt {
  /** Lower case. */
  readonly name: string;
  readonly value: string;
  readonly action: HeaderAppendAction;
  /** `keep_empty_value` */
  readonly keepEmptyValue: boolean;
  /** `value` with `%OPERATOR%`s, precompiled (header-format-runtime.ts); absent for a literal value. */
  readonly format?: readonly HeaderFormatPart[];
}

export interface RouteRt {
  /** `name` (may be empty). */
  readonly name: string;
  readonly match: RouteMatchRt;
  readonly action: RouteActionRt;
  readonly requestHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly responseHeadersToRemove: readonly string[];
  /** `typed_per_filter_config` for `envoy.filters.http.fault` (overrides the virtual host's and the filter's). */
  readonly fault?: HttpFaultRt;
  /** `typed_per_filter_config` for `envoy.filters.http.cors` (its set fields override the virtual host's). */
  readonly cors?: CorsPolicyRt;
}

export type RouteActionRt = ForwardActionRt | RedirectActionRt | DirectResponseActionRt;

export interface ForwardActionRt {
  readonly kind: 'forward';
  /** One cluster, or several with weights (weights sum to `totalWeight`). */
  readonly clusters: readonly WeightedClusterRt[];
  readonly totalWeight: number;
  readonly prefixRewrite: string | undefined;
  /**
   * `regexRewrite.regex` is global (every match is replaced, as Envoy does) and
   * `substitution` is already in JavaScript form (`$1`), so `path.replace(regex, substitution)`.
   */
  readonly regexRewrite: { readonly regex: RegExp; readonly substitution: string } | undefined;
  readonly hostRewriteLiteral: string | undefined;
  /** `auto_host_rewrite`: Host becomes the chosen endpoint's hostname/address. */
  readonly autoHostRewrite: boolean;
  /** Route timeout covering all tries; Envoy's default 15 s; 0 = none. */
  readonly timeoutMs: number;
  /**
   * `max_grpc_timeout`: when set, a gRPC request's route timeout comes from its `grpc-timeout`
   * header, capped at this (0 = no cap); undefined = not set (the route timeout applies).
   */
  readonly maxGrpcTimeoutMs: number | undefined;
  /** `grpc_timeout_offset`, subtracted from `grpc-timeout` (0 = none). */
  readonly grpcTimeoutOffsetMs: number;
  /** `idle_timeout` of the route (0 = none). */
  readonly idleTimeoutMs: number;
  /** The route's retry policy, or the virtual host's when the route has none. */
  readonly retryPolicy: RetryPolicyRt | undefined;
  /** The route's `upgrade_configs` (they override the HCM's per type; see `upgradeAllowed`). */
  readonly upgradeConfigs: readonly UpgradeConfigRt[];
  /**
   * `max_stream_duration` (RouteAction.MaxStreamDuration), undefined when absent. When present,
   * the route uses Envoy's stream-duration timeouts: `timeoutMs` and `maxGrpcTimeoutMs` are not used.
   */
  readonly maxStreamDuration?: MaxStreamDurationRt;
  /** `request_mirror_policies` (undefined: none). */
  readonly mirrors?: readonly MirrorPolicyRt[];
  readonly hashPolicies?: readonly HashPolicyRt[]; // `hash_policy`, for RING_HASH / MAGLEV clusters
}

/** A route's `max_stream_duration` message; each field undefined when unset. */
export interface MaxStreamDurationRt {
  /** `max_stream_duration`: the stream's life at most (0 = none, and the HCM's is disabled for the route). */
  readonly maxStreamDurationMs: number | undefined;
  /** `grpc_timeout_header_max`: a gRPC request's `grpc-timeout` is its duration, capped at this (0 = no cap). */
  readonly grpcTimeoutHeaderMaxMs: number | undefined;
  /** `grpc_timeout_header_offset`: subtracted from `grpc-timeout` (a result of 0 or less times out at once). */
  readonly grpcTimeoutHeaderOffsetMs: number | undefined;
}

export interface WeightedClusterRt {
  readonly name: string;
  readonly weight: number;
  /** `host_rewrite_literal` of this cluster weight (wins over the route's). */
  readonly hostRewriteLiteral?: string;
  readonly requestHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOptionRt[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface RedirectActionRt {
  readonly kind: 'redirect';
  /** 301 (default), 302, 303, 307, 308 */
  readonly status: number;
  readonly schemeRedirect: string | undefined;
  readonly httpsRedirect: boolean;
  readonly hostRedirect: string | undefined;
  readonly portRedirect: number | undefined;
  readonly pathRedirect: string | undefined;
  readonly prefixRewrite: string | undefined;
  readonly stripQuery: boolean;
}

export interface DirectResponseActionRt {
  readonly kind: 'direct';
  readonly status: number;
  /** Body bytes (from `inline_string` or `inline_bytes`), undefined for none. */
  readonly body: Buffer | undefined;
}

export type { ClusterDiscoveryType, LbPolicy, ClusterRt, IstioServiceRt, EndpointRt, CircuitBreakersRt } from './cluster-runtime.js';
import type { ClusterRt } from './cluster-runtime.js';

/** A config error, naming the field by its path (`virtual_hosts[0].routes[2].match.safe_regex`). */
export interface ConfigError {
  readonly path: string;
  readonly message: string;
}

export type CompileResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings?: readonly ConfigError[] }
  | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** Formats errors one per line: `path: message`. */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('\n');
}
