/**
 * ClusterLoadAssignments for every EDS cluster (Istio's EDS generator): the service port's
 * endpoints, filtered by the subset's labels; not-ready endpoints are left out. A cluster
 * without endpoints still gets an (empty) assignment, so the proxy knows it has none.
 */
import type { EndpointModel, MeshModel, ServiceModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import type { JsonObject } from './envoy-json.js';
import { clusterName } from './naming.js';
import { endpointWorkloadMetadata } from './istio-metadata.js';
import { TRANSPORT_SOCKET_MATCH } from './build-upstream-tls.js';

/**
 * An endpoint's metadata: `istio.workload` for metrics, and for a pod whose sidecar takes mTLS
 * `envoy.transport_socket_match: {tlsMode: istio}`, which auto mTLS clusters match on.
 */
export function endpointMetadata(e: EndpointModel): JsonObject | undefined {
  const w = endpointWorkloadMetadata(e);
  if (e.tlsMode !== 'istio') return w;
  const fm = (w?.filter_metadata ?? {}) as JsonObject;
  return { filter_metadata: { ...fm, [TRANSPORT_SOCKET_MATCH]: { tlsMode: 'istio' } } };
}
import { findDestinationRule } from './translate-traffic-policy.js';

export function buildLoadAssignment(name: string, endpoints: readonly EndpointModel[]): JsonObject {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length === 0) return { cluster_name: name };
  return {
    cluster_name: name,
    endpoints: [
      {
        // Istio sets both; gRPC's xDS clients refuse a locality that is unset or has no weight.
        locality: {},
        load_balancing_weight: ready.reduce((n, e) => n + (e.weight ?? 1), 0),
        lb_endpoints: ready.map((e) => {
          const metadata = endpointMetadata(e);
          return {
            endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
            health_status: 'HEALTHY',
            ...(metadata ? { metadata } : {}),
            load_balancing_weight: e.weight ?? 1,
          };
        }),
      },
    ],
  };
}

const matchesLabels = (labels: Readonly<Record<string, string>> | undefined, e: EndpointModel): boolean =>
  Object.entries(labels ?? {}).every(([k, v]) => e.labels[k] === v);

export function buildServiceLoadAssignments(model: MeshModel, svc: ServiceModel, proxy: ProxyIdentity): JsonObject[] {
  if (svc.resolution !== 'EDS') return [];
  const dr = findDestinationRule(model, svc, proxy.namespace);
  const out: JsonObject[] = [];
  for (const sp of svc.ports) {
    const eps = svc.endpoints.get(sp.port) ?? [];
    out.push(buildLoadAssignment(clusterName({ direction: 'outbound', port: sp.port, host: svc.hostname }), eps));
    for (const subset of dr?.spec?.subsets ?? []) {
      out.push(buildLoadAssignment(clusterName({ direction: 'outbound', port: sp.port, subset: subset.name, host: svc.hostname }), eps.filter((e) => matchesLabels(subset.labels, e))));
    }
  }
  return out;
}

export function buildEndpoints(model: MeshModel, proxy: ProxyIdentity): JsonObject[] {
  return model.services.flatMap((svc) => buildServiceLoadAssignments(model, svc, proxy));
}
