/**
 * DestinationRule trafficPolicy -> Cluster fields (Istio's cluster builder):
 *   loadBalancer.simple -> lb_policy
 *   connectionPool      -> circuit_breakers, connect_timeout (HttpProtocolOptions: upstream-protocol.ts)
 *   outlierDetection    -> outlier_detection, and common_lb_config.healthy_panic_threshold
 *                          from minHealthPercent (0, panic off, unless set), as Istio's
 *                          applyOutlierDetection writes them
 *   loadBalancer.warmup -> slow_start_config (translate-warmup.ts)
 *   loadBalancer.localityLbSetting -> common_lb_config.locality_weighted_lb_config (the
 *                          priorities and weights are in EDS: build-endpoints.ts, locality-lb.ts)
 */
import type { DestinationRule, TrafficPolicy } from '@minimesh/kube';
import { hostMatches, resolveHost } from '../model/hostnames.js';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import { compact, protoDuration, type JsonObject } from './envoy-json.js';
import { applyWarmup } from './translate-warmup.js';

/** Istio raises Envoy's circuit-breaker defaults to "unlimited" unless connectionPool says otherwise. */
export const ISTIO_MAX = 4294967295;
/** Istio's default connect timeout. */
export const ISTIO_CONNECT_TIMEOUT = '10s';
/** Istio's default load balancer. */
export const ISTIO_DEFAULT_LB = 'LEAST_REQUEST';

type PolicyFields = Omit<TrafficPolicy, 'portLevelSettings'>;

/** The DestinationRule for a service, seen from a proxy: the proxy's namespace first, then the service's, then any. */
/** Istio's root configuration namespace (meshConfig.rootNamespace). */
const ROOT_NAMESPACE = 'istio-system';

export function findDestinationRule(model: MeshModel, svc: ServiceModel, proxyNamespace: string): DestinationRule | undefined {
  const matching = model.destinationRules.filter((dr) => dr.spec && hostMatches(resolveHost(dr.spec.host, dr.metadata.namespace ?? 'default', model.domainSuffix), svc.hostname));
  // An exact host beats a wildcard, as in Istio.
  const exact = (dr: DestinationRule): boolean => resolveHost(dr.spec!.host, dr.metadata.namespace ?? 'default', model.domainSuffix) === svc.hostname;
  const ranked = [...matching.filter(exact), ...matching.filter((d) => !exact(d))];
  // Istio looks in the proxy's namespace, then the service's, then the root namespace; a rule
  // in any other namespace does not apply.
  return (
    ranked.find((d) => d.metadata.namespace === proxyNamespace) ??
    ranked.find((d) => d.metadata.namespace === svc.namespace) ??
    ranked.find((d) => d.metadata.namespace === ROOT_NAMESPACE)
  );
}

/**
 * Top-level policy, then its port-level settings for `port`. As in Istio's MergeTrafficPolicy,
 * a matching port-level entry replaces all four sections, set or not: port-level settings do
 * not inherit the top level's.
 */
export function policyForPort(tp: TrafficPolicy | undefined, port: number): PolicyFields {
  if (!tp) return {};
  const { portLevelSettings, ...base } = tp;
  const pl = portLevelSettings?.find((p) => p.port?.number === port);
  if (!pl) return base;
  return { ...base, loadBalancer: pl.loadBalancer, connectionPool: pl.connectionPool, outlierDetection: pl.outlierDetection, tls: pl.tls };
}

/** Subset policy merged over the rule's (each section of the subset's replaces the rule's). */
export function mergePolicy(base: PolicyFields, over: PolicyFields): PolicyFields {
  return { ...base, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) };
}

export function translateLbPolicy(tp: PolicyFields): string {
  switch (tp.loadBalancer?.simple) {
    case 'ROUND_ROBIN':
      return 'ROUND_ROBIN';
    case 'RANDOM':
      return 'RANDOM';
    case 'PASSTHROUGH':
      return 'CLUSTER_PROVIDED';
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
    default:
      return ISTIO_DEFAULT_LB;
  }
}

/** Applies the policy's fields to a cluster being built. */
export function applyTrafficPolicy(cluster: JsonObject, tp: PolicyFields): void {
  cluster.lb_policy = translateLbPolicy(tp);
  const ch = tp.loadBalancer?.consistentHash;
  if (ch) {
    // Istio's consistent hashing: MAGLEV when asked, else RING_HASH (1,024 points unless said).
    if (ch.maglev) {
      cluster.lb_policy = 'MAGLEV';
      if (ch.maglev.tableSize) cluster.maglev_lb_config = { table_size: ch.maglev.tableSize };
    } else {
      cluster.lb_policy = 'RING_HASH';
      if (ch.ringHash) {
        if (ch.ringHash.minimumRingSize) cluster.ring_hash_lb_config = { minimum_ring_size: ch.ringHash.minimumRingSize };
      } else cluster.ring_hash_lb_config = { minimum_ring_size: ch.minimumRingSize || 1024 };
    }
  }
  if (tp.loadBalancer?.simple === 'PASSTHROUGH') cluster.type = 'ORIGINAL_DST';
  applyWarmup(cluster, tp.loadBalancer);
  const tcp = tp.connectionPool?.tcp;
  const http = tp.connectionPool?.http;
  cluster.connect_timeout = tcp?.connectTimeout ? protoDuration(tcp.connectTimeout) : ISTIO_CONNECT_TIMEOUT;
  cluster.circuit_breakers = {
    thresholds: [
      {
        max_connections: tcp?.maxConnections ?? ISTIO_MAX,
        max_pending_requests: http?.http1MaxPendingRequests ?? ISTIO_MAX,
        max_requests: http?.http2MaxRequests ?? ISTIO_MAX,
        max_retries: http?.maxRetries ?? ISTIO_MAX,
        track_remaining: true,
      },
    ],
  };
  const od = tp.outlierDetection;
  if (od) {
    const c5xx = od.consecutive5xxErrors;
    const gateway = od.consecutiveGatewayErrors ?? (c5xx === undefined ? od.consecutiveErrors : undefined);
    const split = od.splitExternalLocalOriginErrors === true;
    const local = split && od.consecutiveLocalOriginFailures !== undefined && od.consecutiveLocalOriginFailures > 0 ? od.consecutiveLocalOriginFailures : undefined;
    cluster.outlier_detection = compact({
      consecutive_5xx: c5xx,
      // The deprecated consecutiveErrors counts gateway errors only: 5xx ejection is then off.
      enforcing_consecutive_5xx: c5xx !== undefined ? (c5xx > 0 ? 100 : 0) : gateway !== undefined && od.consecutiveGatewayErrors === undefined ? 0 : undefined,
      consecutive_gateway_failure: gateway,
      enforcing_consecutive_gateway_failure: gateway !== undefined ? (gateway > 0 ? 100 : 0) : undefined,
      interval: od.interval ? protoDuration(od.interval) : undefined,
      base_ejection_time: od.baseEjectionTime ? protoDuration(od.baseEjectionTime) : undefined,
      max_ejection_percent: od.maxEjectionPercent !== undefined && od.maxEjectionPercent > 0 ? od.maxEjectionPercent : undefined,
      split_external_local_origin_errors: split || undefined,
      consecutive_local_origin_failure: local,
      enforcing_consecutive_local_origin_failure: local !== undefined ? 100 : undefined,
      enforcing_local_origin_success_rate: split ? 0 : undefined,
      // Istio turns success-rate ejection off.
      enforcing_success_rate: 0,
    });
    // Panic mode off unless minHealthPercent asks for it (few pods per service in Kubernetes).
    cluster.common_lb_config = { healthy_panic_threshold: { value: od.minHealthPercent ?? 0 } };
  }
  // Localities weighted by EDS (distribute); set, as by Istio, when the rule has a locality setting.
  const lls = tp.loadBalancer?.localityLbSetting;
  if (lls !== undefined && lls.enabled !== false) cluster.common_lb_config = { ...((cluster.common_lb_config as JsonObject | undefined) ?? {}), locality_weighted_lb_config: {} };
}

/** A DestinationRule's `consistentHash` as the route's `hash_policy` entry (Istio's consistentHashToHashPolicy). */
export function hashPolicyOf(tp: PolicyFields): JsonObject | undefined {
  const ch = tp.loadBalancer?.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return { header: { header_name: ch.httpHeaderName } };
  if (ch.httpCookie) return { cookie: compact({ name: ch.httpCookie.name, path: ch.httpCookie.path, ttl: ch.httpCookie.ttl ? protoDuration(ch.httpCookie.ttl) : undefined }) };
  if (ch.useSourceIp) return { connection_properties: { source_ip: true } };
  if (ch.httpQueryParameterName) return { query_parameter: { name: ch.httpQueryParameterName } };
  return undefined;
}

/** The hash policy for routes to `host` (subset, port), from the DestinationRule that applies to the proxy. */
export function destinationHashPolicy(model: MeshModel, proxyNamespace: string, host: string, subset: string | undefined, port: number): JsonObject | undefined {
  const svc = model.servicesByHost.get(host);
  if (!svc) return undefined;
  const dr = findDestinationRule(model, svc, proxyNamespace);
  if (!dr?.spec) return undefined;
  let tp = policyForPort(dr.spec.trafficPolicy, port);
  const sub = subset === undefined ? undefined : dr.spec.subsets?.find((s) => s.name === subset);
  if (sub?.trafficPolicy) tp = mergePolicy(tp, policyForPort(sub.trafficPolicy, port));
  return hashPolicyOf(tp);
}
