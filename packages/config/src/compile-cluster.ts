/** Cluster (+ ClusterLoadAssignment) -> ClusterRt. */
import { isIP } from 'node:net';
import type { Cluster, ClusterLoadAssignment } from '@minimesh/api';
import { durationMs, wrapped } from './duration.js';
import { ISTIO_METADATA_KEY } from '@minimesh/mesh';
import { allowOnly, join, structToJson, Errors } from './errors.js';
import { compileSocketAddress } from './socket-address.js';
import { checkAdsConfigSource } from './compile-listener.js';
import { compileUpstreamHttpOptions } from './compile-upstream-protocol.js';
import { compileClusterTls, socketMatchOf } from './compile-cluster-tls.js';
import { compileOutlierDetection } from './compile-outlier.js';
import { compileHashLb } from './compile-hash.js';
import { compileLocalityOf } from './compile-locality.js';
import { compileSlowStart } from './compile-slow-start.js';
import type { HashLbRt } from './hash-runtime.js';
import type { DnsLookupFamily } from './cluster-runtime.js';
import type { CircuitBreakersRt, ClusterDiscoveryType, ClusterRt, CompileResult, ConfigError, EndpointRt, IstioServiceRt, LbPolicy } from './runtime.js';

export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakersRt = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
const LB_POLICIES: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED'];
const HEALTHY = new Set(['HEALTHY', 'UNKNOWN']);

export function compileCluster(c: Cluster, path = ''): CompileResult<ClusterRt> {
  const errors = new Errors();
  const warnings: ConfigError[] = [];
  const value = compileClusterInto(c, path, errors, warnings);
  return errors.count === 0 ? { ok: true, value, warnings } : { ok: false, errors: errors.list };
}

export function compileClusterInto(c: Cluster, path: string, errors: Errors, warnings: ConfigError[] = []): ClusterRt {
  const notYet = (what: string): string => `${what} is not supported by minimesh yet`;
  allowOnly(
    c,
    path,
    ['name', 'alt_stat_name', 'type', 'connect_timeout', 'lb_policy', 'load_assignment', 'circuit_breakers', 'per_connection_buffer_limit_bytes', 'dns_refresh_rate', 'dns_lookup_family', 'typed_extension_protocol_options', 'common_http_protocol_options', 'http_protocol_options', 'http2_protocol_options', 'eds_cluster_config', 'metadata', 'upstream_bind_config', 'transport_socket', 'transport_socket_matches', 'outlier_detection', 'common_lb_config', 'ring_hash_lb_config', 'maglev_lb_config', 'round_robin_lb_config', 'least_request_lb_config'],
    errors,
    ['cluster_discovery_type', 'lb_config'],
    {
      health_checks: notYet('health_checks'),
      cluster_type: 'custom cluster types are not supported by minimesh',
    },
  );
  if (!c.name) errors.add(join(path, 'name'), 'must not be empty');
  const type = (c.type ?? 'STATIC') as ClusterDiscoveryType;
  // ORIGINAL_DST (Istio's PassthroughCluster, a ServiceEntry with resolution NONE): no
  // endpoints; each connection or request goes to its original destination (the captured
  // SO_ORIGINAL_DST, else an HTTP request's or CONNECT's authority).
  if (!['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'].includes(type)) errors.add(join(path, 'type'), `unknown type ${type}`);
  const lbPolicy = (c.lb_policy ?? 'ROUND_ROBIN') as LbPolicy;
  if (!LB_POLICIES.includes(lbPolicy)) errors.add(join(path, 'lb_policy'), `${lbPolicy} is not supported by minimesh`);
  if (c.dns_lookup_family && !['AUTO', 'V4_ONLY', 'V4_PREFERRED', 'ALL'].includes(c.dns_lookup_family)) {
    errors.add(join(path, 'dns_lookup_family'), `${c.dns_lookup_family} is not supported by minimesh`);
  }
  let endpoints: EndpointRt[] = [];
  if (type === 'EDS') {
    if (c.load_assignment) errors.add(join(path, 'load_assignment'), 'an EDS cluster gets its endpoints from EDS, not load_assignment');
    allowOnly(c.eds_cluster_config, join(path, 'eds_cluster_config'), ['service_name', 'eds_config'], errors);
    if (c.eds_cluster_config?.eds_config) checkAdsConfigSource(c.eds_cluster_config.eds_config, join(path, 'eds_cluster_config.eds_config'), errors);
    warnings.push({ path: join(path, 'type'), message: 'EDS cluster: endpoints stay empty until EDS delivers them' });
  } else if (c.load_assignment) {
    endpoints = compileLoadAssignmentInto(c.load_assignment, join(path, 'load_assignment'), errors, type !== 'STATIC');
    if (type === 'LOGICAL_DNS' && endpoints.length !== 1) errors.add(join(path, 'load_assignment'), 'LOGICAL_DNS needs exactly one endpoint');
  } else if (type !== 'ORIGINAL_DST') {
    errors.add(join(path, 'load_assignment'), 'load_assignment is required');
  }
  const circuitBreakers = compileCircuitBreakers(c, join(path, 'circuit_breakers'), errors);
  const http = compileUpstreamHttpOptions(c, path, errors);
  return {
    name: c.name ?? '',
    type,
    connectTimeoutMs: durationMs(c.connect_timeout, 5_000, join(path, 'connect_timeout'), errors),
    lbPolicy,
    endpoints,
    circuitBreakers,
    upstreamIdleTimeoutMs: http.upstreamIdleTimeoutMs,
    maxRequestsPerConnection: http.maxRequestsPerConnection,
    perConnectionBufferLimitBytes: wrapped(c.per_connection_buffer_limit_bytes, 1024 * 1024),
    dnsRefreshRateMs: durationMs(c.dns_refresh_rate, 5_000, join(path, 'dns_refresh_rate'), errors),
    ...(type === 'STRICT_DNS' || type === 'LOGICAL_DNS' ? { dnsLookupFamily: (c.dns_lookup_family as DnsLookupFamily | undefined) || 'AUTO' } : {}),
    ...(type === 'EDS' ? { edsServiceName: c.eds_cluster_config?.service_name || c.name || '' } : {}),
    ...istioServicesOf(c.metadata, join(path, 'metadata'), errors),
    ...sourceAddressOf(c.upstream_bind_config, join(path, 'upstream_bind_config'), errors),
    upstreamProtocol: http.upstreamProtocol,
    ...(http.upstreamHttp2 ? { upstreamHttp2: http.upstreamHttp2 } : {}),
    ...compileClusterTls(c, path, errors),
    ...compileOutlierDetection(c, path, errors, warnings),
    ...hashLbOf(compileHashLb(c, path, errors)),
    ...compileSlowStart(c, lbPolicy, path, errors, warnings),
  };
}

/** `upstream_bind_config: {source_address: {address, port_value: 0}}` (Istio's inbound clusters bind 127.0.0.6). */
function sourceAddressOf(b: Cluster['upstream_bind_config'], path: string, errors: Errors): { sourceAddress?: string } {
  if (!b) return {};
  allowOnly(b, path, ['source_address'], errors);
  const sa = b.source_address;
  if (!sa) return {};
  allowOnly(sa, join(path, 'source_address'), ['address', 'port_value', 'protocol'], errors, ['port_specifier']);
  if (!sa.address || !isIP(sa.address)) errors.add(join(path, 'source_address.address'), `must be an IP address (got ${JSON.stringify(sa.address ?? '')})`);
  if (sa.port_value) errors.add(join(path, 'source_address.port_value'), 'a fixed source port is not supported by minimesh (use 0)');
  return sa.address ? { sourceAddress: sa.address } : {};
}

type MetadataLike = { filter_metadata?: Record<string, unknown> } | null | undefined;

/** `metadata.filter_metadata.istio` as JSON, if present. */
function istioMetadata(md: MetadataLike): Record<string, unknown> | undefined {
  const s = md?.filter_metadata?.[ISTIO_METADATA_KEY];
  return s === undefined ? undefined : structToJson(s);
}

/** `metadata.filter_metadata.istio.services: [{host, name, namespace}]` (Istio's cluster metadata). */
function istioServicesOf(md: MetadataLike, path: string, errors: Errors): { istioServices?: IstioServiceRt[] } {
  const services = istioMetadata(md)?.services;
  if (services === undefined) return {};
  const sp = join(path, `filter_metadata.${ISTIO_METADATA_KEY}.services`);
  if (!Array.isArray(services)) {
    errors.add(sp, 'must be a list of {host, name, namespace}');
    return {};
  }
  const out: IstioServiceRt[] = [];
  services.forEach((s, i) => {
    const o = (s ?? {}) as Record<string, unknown>;
    if (typeof o.host !== 'string' || o.host === '') errors.add(`${sp}[${i}].host`, 'must be a non-empty string');
    else out.push({ host: o.host, name: typeof o.name === 'string' ? o.name : '', namespace: typeof o.namespace === 'string' ? o.namespace : '' });
  });
  return { istioServices: out };
}

function compileCircuitBreakers(c: Cluster, path: string, errors: Errors): CircuitBreakersRt {
  if (!c.circuit_breakers) return DEFAULT_CIRCUIT_BREAKERS;
  allowOnly(c.circuit_breakers, path, ['thresholds'], errors, [], { per_host_thresholds: 'per_host_thresholds is not supported by minimesh yet' });
  let cb = DEFAULT_CIRCUIT_BREAKERS;
  (c.circuit_breakers.thresholds ?? []).forEach((t, i) => {
    const tp = `${join(path, 'thresholds')}[${i}]`;
    allowOnly(t, tp, ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries', 'track_remaining'], errors, [], {
      retry_budget: 'retry_budget is not supported by minimesh yet',
    });
    // HIGH-priority thresholds only apply to HIGH-priority routes, which minimesh does not have.
    if ((t.priority ?? 'DEFAULT') !== 'DEFAULT') return;
    cb = {
      maxConnections: wrapped(t.max_connections, DEFAULT_CIRCUIT_BREAKERS.maxConnections),
      maxPendingRequests: wrapped(t.max_pending_requests, DEFAULT_CIRCUIT_BREAKERS.maxPendingRequests),
      maxRequests: wrapped(t.max_requests, DEFAULT_CIRCUIT_BREAKERS.maxRequests),
      maxRetries: wrapped(t.max_retries, DEFAULT_CIRCUIT_BREAKERS.maxRetries),
      ...(t.track_remaining === true ? { trackRemaining: true } : {}),
    };
  });
  return cb;
}

/** Endpoints of a ClusterLoadAssignment (EDS resource or a cluster's load_assignment). */
export function compileLoadAssignment(cla: ClusterLoadAssignment, path = '', allowHostnames = false): CompileResult<EndpointRt[]> {
  const errors = new Errors();
  const value = compileLoadAssignmentInto(cla, path, errors, allowHostnames);
  return errors.count === 0 ? { ok: true, value } : { ok: false, errors: errors.list };
}

export function compileLoadAssignmentInto(cla: ClusterLoadAssignment, path: string, errors: Errors, allowHostnames: boolean): EndpointRt[] {
  allowOnly(cla, path, ['cluster_name', 'endpoints'], errors, [], { policy: 'policy is not supported by minimesh yet', named_endpoints: 'named_endpoints is not supported by minimesh' });
  const out: EndpointRt[] = [];
  (cla.endpoints ?? []).forEach((lle, i) => {
    const lp = `${join(path, 'endpoints')}[${i}]`;
    // A locality's load_balancing_weight matters under locality-weighted balancing
    // (`common_lb_config.locality_weighted_lb_config`); Envoy ignores it otherwise, and so does minimesh.
    allowOnly(lle, lp, ['lb_endpoints', 'locality', 'metadata', 'load_balancing_weight', 'priority'], errors, ['lb_config']);
    const place = compileLocalityOf(lle, lp, errors);
    (lle.lb_endpoints ?? []).forEach((le, j) => {
      const ep = `${join(lp, 'lb_endpoints')}[${j}]`;
      allowOnly(le, ep, ['endpoint', 'load_balancing_weight', 'health_status', 'metadata'], errors, ['host_identifier'], {
        endpoint_name: 'endpoint_name is not supported by minimesh',
      });
      const e = le.endpoint;
      if (!e) {
        errors.add(join(ep, 'endpoint'), 'endpoint is required');
        return;
      }
      allowOnly(e, join(ep, 'endpoint'), ['address', 'hostname'], errors, [], { health_check_config: 'health checks are not supported by minimesh yet' });
      const a = compileSocketAddress(e.address, join(ep, 'endpoint.address'), errors, { allowHostname: allowHostnames });
      if (!a) return;
      if (a.port === 0) errors.add(join(ep, 'endpoint.address.socket_address.port_value'), 'must be set');
      const weight = wrapped(le.load_balancing_weight, 1);
      if (weight < 1) errors.add(join(ep, 'load_balancing_weight'), 'must be at least 1');
      const workload = istioMetadata(le.metadata)?.workload;
      if (workload !== undefined && typeof workload !== 'string') errors.add(join(ep, `metadata.filter_metadata.${ISTIO_METADATA_KEY}.workload`), 'must be a string NAME;NAMESPACE;CANONICAL_NAME;REVISION;CLUSTER');
      out.push({ address: a.address, port: a.port, weight, hostname: e.hostname ?? '', healthy: HEALTHY.has(le.health_status ?? 'UNKNOWN'), workload: typeof workload === 'string' ? workload : '', ...socketMatchOf(le.metadata, join(ep, 'metadata'), errors), ...place });
    });
  });
  return out;
}

function hashLbOf(hashLb: HashLbRt | undefined): { hashLb?: HashLbRt } {
  return hashLb === undefined ? {} : { hashLb };
}
