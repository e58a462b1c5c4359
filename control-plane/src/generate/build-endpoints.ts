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
import { findDestinationRule, mergePolicy, policyForPort } from './translate-traffic-policy.js';
import { applyLocalityLb, type LocalityGroup } from './locality-lb.js';
import { formatLocality } from '../model/locality.js';
import type { DestinationRule, LocalityLbSetting, TrafficPolicy } from '@minimesh/kube';

/** How a cluster's endpoints are prioritised for this proxy (absent: locality load balancing off). */
export interface EndpointLocalityLb {
  readonly proxy: ProxyIdentity;
  readonly setting: LocalityLbSetting;
  readonly enableFailover: boolean;
}

/** Ready endpoints grouped by locality (sorted by `region/zone/subzone`), each group weighted by its size. */
function groupByLocality(ready: readonly EndpointModel[]): LocalityGroup<EndpointModel>[] {
  const groups = new Map<string, EndpointModel[]>();
  for (const e of ready) {
    const k = formatLocality(e.locality);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  return [...groups.keys()].sort().map((k) => {
    const endpoints = groups.get(k)!;
    return { locality: endpoints[0].locality, endpoints, weight: endpoints.reduce((n, e) => n + (e.weight ?? 1), 0), priority: 0 };
  });
}

export function buildLoadAssignment(name: string, endpoints: readonly EndpointModel[], lb?: EndpointLocalityLb): JsonObject {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length === 0) return { cluster_name: name };
  let groups = groupByLocality(ready);
  if (lb !== undefined) groups = applyLocalityLb(groups, { proxyLocality: lb.proxy.locality, proxyLabels: lb.proxy.labels, setting: lb.setting, enableFailover: lb.enableFailover }, (e) => e.labels);
  return {
    cluster_name: name,
    endpoints: groups.map((g) => ({
      // Istio sets both; gRPC's xDS clients refuse a locality that is unset or has no weight.
      locality: g.locality === undefined ? {} : compactLocality(g.locality),
      load_balancing_weight: g.weight,
      ...(g.priority > 0 ? { priority: g.priority } : {}),
      lb_endpoints: g.endpoints.map((e) => {
        const metadata = endpointMetadata(e);
        return {
          endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
          health_status: 'HEALTHY',
          ...(metadata ? { metadata } : {}),
          load_balancing_weight: e.weight ?? 1,
        };
      }),
    })),
  };
}

function compactLocality(l: { region: string; zone: string; subZone: string }): JsonObject {
  return { ...(l.region ? { region: l.region } : {}), ...(l.zone ? { zone: l.zone } : {}), ...(l.subZone ? { sub_zone: l.subZone } : {}) };
}

const matchesLabels = (labels: Readonly<Record<string, string>> | undefined, e: EndpointModel): boolean =>
  Object.entries(labels ?? {}).every(([k, v]) => e.labels[k] === v);

/**
 * The locality setting for a cluster (Istio's GetLocalityLbSetting): the DestinationRule's
 * (port and subset merged) unless `enabled: false`, else the mesh config's (Istio's default:
 * enabled, no rules) unless that is `enabled: false`.
 */
export function localityLbFor(dr: DestinationRule | undefined, port: number, subset: string | undefined, proxy: ProxyIdentity, mesh?: LocalityLbSetting): EndpointLocalityLb | undefined {
  let tp: Omit<TrafficPolicy, 'portLevelSettings'> = policyForPort(dr?.spec?.trafficPolicy, port);
  const sub = subset === undefined ? undefined : dr?.spec?.subsets?.find((s) => s.name === subset);
  if (sub?.trafficPolicy) tp = mergePolicy(tp, policyForPort(sub.trafficPolicy, port));
  const setting = tp.loadBalancer?.localityLbSetting ?? mesh ?? {};
  if (setting.enabled === false) return undefined;
  return { proxy, setting, enableFailover: tp.outlierDetection !== undefined };
}

export function buildServiceLoadAssignments(model: MeshModel, svc: ServiceModel, proxy: ProxyIdentity): JsonObject[] {
  if (svc.resolution !== 'EDS') return [];
  const dr = findDestinationRule(model, svc, proxy.namespace);
  const out: JsonObject[] = [];
  for (const sp of svc.ports) {
    const eps = svc.endpoints.get(sp.port) ?? [];
    out.push(buildLoadAssignment(clusterName({ direction: 'outbound', port: sp.port, host: svc.hostname }), eps, localityLbFor(dr, sp.port, undefined, proxy, model.meshConfig?.localityLbSetting)));
    for (const subset of dr?.spec?.subsets ?? []) {
      const name = clusterName({ direction: 'outbound', port: sp.port, subset: subset.name, host: svc.hostname });
      out.push(buildLoadAssignment(name, eps.filter((e) => matchesLabels(subset.labels, e)), localityLbFor(dr, sp.port, subset.name, proxy, model.meshConfig?.localityLbSetting)));
    }
  }
  return out;
}

export function buildEndpoints(model: MeshModel, proxy: ProxyIdentity): JsonObject[] {
  return model.services.flatMap((svc) => buildServiceLoadAssignments(model, svc, proxy));
}
