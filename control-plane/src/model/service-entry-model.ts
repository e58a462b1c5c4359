/**
 * ServiceEntries as mesh services (Istio's serviceentry controller): one service per host,
 * its ports with their declared protocol, and its endpoints:
 *   - `endpoints` inline (each a WorkloadEntry spec), or
 *   - `workloadSelector`: the WorkloadEntries and pods of the entry's namespace it selects.
 * STATIC entries give EDS endpoints (address, port, labels, weight, locality, and an identity:
 * `serviceAccount` and `security.istio.io/tlsMode` from the labels); DNS entries give names to
 * resolve (STRICT_DNS; DNS_ROUND_ROBIN is LOGICAL_DNS); NONE gives none.
 */
import { parseProtocol, type ServiceEntry, type WorkloadEntry, type WorkloadEntrySpec } from '@minimesh/kube';
import { resolveHost } from './hostnames.js';
import type { EndpointModel, ServiceModel, ServicePortModel, WorkloadModel } from './mesh-model.js';
import { parseLocality } from './locality.js';

/** The pod (or WorkloadEntry) label that says its sidecar takes mTLS (`istio`), set by the injector. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

const nsOf = (r: { metadata: { namespace?: string } }): string => r.metadata.namespace ?? 'default';
const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The port a workload serves a service port on: its named `ports` entry, else the targetPort, else the port. */
function targetOf(sp: ServicePortModel, ports: Readonly<Record<string, number>> | undefined): number {
  return (sp.name !== undefined && ports?.[sp.name]) || (typeof sp.targetPort === 'number' ? sp.targetPort : sp.port);
}

/** An endpoint from a WorkloadEntry spec (`name`: the WorkloadEntry's, for metrics and identity). */
function fromWorkloadEntry(e: WorkloadEntrySpec, sp: ServicePortModel, ns: string, name: string | undefined): EndpointModel {
  const labels = e.labels ?? {};
  return {
    address: e.address ?? '',
    port: targetOf(sp, e.ports),
    labels,
    ready: true,
    ...(name !== undefined ? { podRef: `${name}.${ns}`, workload: labels['service.istio.io/workload-name'] ?? name } : {}),
    // Istio gives a WorkloadEntry an identity only when it names its service account.
    ...(e.serviceAccount ? { serviceAccount: e.serviceAccount, ...(name === undefined ? { podRef: `${e.address}.${ns}` } : {}) } : {}),
    ...(labels[TLS_MODE_LABEL] ? { tlsMode: labels[TLS_MODE_LABEL] } : {}),
    ...(e.weight !== undefined && e.weight > 0 ? { weight: e.weight } : {}),
    ...(parseLocality(e.locality) !== undefined ? { locality: parseLocality(e.locality) } : {}),
  };
}

function fromPod(w: WorkloadModel, sp: ServicePortModel): EndpointModel | undefined {
  if (!w.address) return undefined;
  return {
    address: w.address,
    port: typeof sp.targetPort === 'number' ? sp.targetPort : sp.port,
    labels: w.labels,
    ready: w.ready,
    podRef: `${w.name}.${w.namespace}`,
    workload: w.workloadName,
    serviceAccount: w.serviceAccount,
    ...(w.tlsMode !== undefined ? { tlsMode: w.tlsMode } : {}),
  };
}

function sortEndpoints(list: EndpointModel[]): EndpointModel[] {
  return list.sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }) || a.port - b.port);
}

/** The services of one ServiceEntry (one per host), with its endpoints per port. */
export function buildServiceEntryServices(se: ServiceEntry, workloads: readonly WorkloadModel[], workloadEntries: readonly WorkloadEntry[], domainSuffix: string): ServiceModel[] {
  const spec = se.spec ?? {};
  const ns = nsOf(se);
  const ports: ServicePortModel[] = (spec.ports ?? []).map((p) => ({
    name: p.name,
    port: p.number,
    targetPort: p.targetPort ?? p.number,
    // Istio reads a ServiceEntry port's `protocol` alone (protocol.Parse); no protocol is sniffed.
    protocol: parseProtocol(p.protocol),
  }));
  const resolution = spec.resolution === 'STATIC' ? 'EDS' : spec.resolution === 'DNS' || spec.resolution === 'DNS_ROUND_ROBIN' ? 'DNS' : 'NONE';
  const selector = spec.workloadSelector?.labels;
  const selectedEntries = selector === undefined ? [] : workloadEntries.filter((we) => nsOf(we) === ns && selects(selector, we.spec?.labels ?? {}));
  const selectedPods = selector === undefined ? [] : workloads.filter((w) => w.namespace === ns && selects(selector, w.labels));
  const endpointsFor = (sp: ServicePortModel): EndpointModel[] => {
    if (selector === undefined) return (spec.endpoints ?? []).filter((e) => e.address).map((e) => fromWorkloadEntry(e, sp, ns, undefined));
    const out = selectedEntries.filter((we) => we.spec?.address).map((we) => fromWorkloadEntry(we.spec!, sp, ns, we.metadata.name));
    for (const w of selectedPods) {
      const e = fromPod(w, sp);
      if (e !== undefined) out.push(e);
    }
    return out;
  };
  return (spec.hosts ?? []).map((h) => {
    const hostname = resolveHost(h, ns, domainSuffix);
    const endpoints = new Map<number, EndpointModel[]>();
    const dnsTargets = new Map<number, EndpointModel[]>();
    for (const sp of ports) {
      const list = resolution === 'NONE' ? [] : endpointsFor(sp);
      endpoints.set(sp.port, resolution === 'EDS' ? sortEndpoints(list) : []);
      // DNS without endpoints resolves the host itself, on the service port.
      if (resolution === 'DNS') dnsTargets.set(sp.port, list.length > 0 ? list : [{ address: hostname, port: targetOf(sp, undefined), labels: {}, ready: true }]);
    }
    return {
      hostname,
      name: hostname,
      namespace: ns,
      origin: 'ServiceEntry' as const,
      clusterIP: spec.addresses?.[0],
      ports,
      selector: undefined,
      endpoints,
      resolution,
      ...(resolution === 'DNS' ? { dnsTargets, ...(spec.resolution === 'DNS_ROUND_ROBIN' ? { dnsRoundRobin: true } : {}) } : {}),
      ...(spec.location === 'MESH_EXTERNAL' ? { meshExternal: true } : {}),
      ...(spec.exportTo !== undefined && spec.exportTo.length > 0 ? { exportTo: spec.exportTo } : {}),
    };
  });
}
