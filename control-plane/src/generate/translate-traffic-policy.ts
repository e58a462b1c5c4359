/**
 * DestinationRule trafficPolicy -> Cluster fields (Istio's cluster builder):
 *   loadBalancer.simple -> lb_policy
 *   connectionPool      -> circuit_breakers, connect_timeout (HttpProtocolOptions: upstream-protocol.ts)
 *   outlierDetection    -> outlier_detection (minimesh's proxy rejects it until the
 *                          traffic-policy issue lands; emitted only when the rule sets it)
 */
import type { DestinationRule, TrafficPolicy } from '@minimesh/kube';
import { hostMatches, resolveHost } from '../model/hostnames.js';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import { compact, protoDuration, type JsonObject } from './envoy-json.js';

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
  if (tp.loadBalancer?.simple === 'PASSTHROUGH') cluster.type = 'ORIGINAL_DST';
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
    const c5xx = od.consecutive5xxErrors ?? od.consecutiveErrors;
    cluster.outlier_detection = compact({
      consecutive_5xx: c5xx !== undefined && c5xx > 0 ? c5xx : undefined,
      enforcing_consecutive_5xx: c5xx !== undefined ? (c5xx > 0 ? 100 : 0) : undefined,
      consecutive_gateway_failure: od.consecutiveGatewayErrors || undefined,
      enforcing_consecutive_gateway_failure: od.consecutiveGatewayErrors !== undefined ? (od.consecutiveGatewayErrors > 0 ? 100 : 0) : undefined,
      interval: od.interval ? protoDuration(od.interval) : undefined,
      base_ejection_time: od.baseEjectionTime ? protoDuration(od.baseEjectionTime) : undefined,
      max_ejection_percent: od.maxEjectionPercent,
      // Istio turns success-rate ejection off.
      enforcing_success_rate: 0,
    });
  }
}
