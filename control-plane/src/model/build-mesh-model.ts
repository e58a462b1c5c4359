/** Resources in, immutable MeshModel out. Pure. */
import {
  type AuthorizationPolicy,
  type PeerAuthentication,
  type RequestAuthentication,
  selectPortProtocol,
  type Deployment,
  type DestinationRule,
  type Endpoints,
  type EndpointSlice,
  type Gateway,
  type KubeResource,
  type Namespace,
  type Node,
  type Pod,
  type Service,
  SERVICE_EXPORT_TO_ANNOTATION,
  type Sidecar,
  type Telemetry,
  type VirtualService,
} from '@minimesh/kube';
import { serviceFqdn } from './hostnames.js';
import { buildServiceEntryServices, TLS_MODE_LABEL } from './service-entry-model.js';
import { DEFAULT_DOMAIN_SUFFIX, type EndpointModel, type MeshModel, type ServiceModel, type ServicePortModel, type WorkloadModel } from './mesh-model.js';
import { DEFAULT_MESH_CONFIG, type MeshConfig } from './mesh-config.js';
import { ISTIO_LOCALITY_LABEL, parseLocality, podLocality, type LocalityModel } from './locality.js';

const localityOf = (l: LocalityModel | undefined): { locality?: LocalityModel } => (l === undefined ? {} : { locality: l });

export interface BuildMeshModelOptions {
  readonly domainSuffix?: string;
  /**
   * Addresses for the replicas of Deployments, for sources without Pods (a folder of YAML run
   * locally): return the IP of replica `index`, or undefined to give it none. Without this,
   * Deployments contribute no endpoints.
   */
  readonly deploymentAddress?: (namespace: string, name: string, index: number) => string | undefined;
  /** The mesh config (default: Istio's defaults). */
  readonly meshConfig?: MeshConfig;
}

const nsOf = (r: { metadata: { namespace?: string } }): string => r.metadata.namespace ?? 'default';
const key = (r: KubeResource): string => `${r.kind}/${nsOf(r)}/${r.metadata.name}`;

/** Istio orders config by creation time, then namespace and name. */
function byCreation<T extends KubeResource>(list: T[]): T[] {
  const ts = (r: T): string => ((r.metadata as { creationTimestamp?: string }).creationTimestamp ?? '');
  return list.sort((a, b) => ts(a).localeCompare(ts(b)) || nsOf(a).localeCompare(nsOf(b)) || a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * VirtualServices in pilot's order (sortConfigByCreationTime): creation time, then name, then
 * namespace, compared bytewise; resources without a timestamp (the folder source) tie on time.
 */
function virtualServiceOrder<T extends KubeResource>(list: T[]): T[] {
  const ts = (r: T): string => ((r.metadata as { creationTimestamp?: string }).creationTimestamp ?? '');
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return list.sort((a, b) => cmp(ts(a), ts(b)) || cmp(a.metadata.name, b.metadata.name) || cmp(nsOf(a), nsOf(b)));
}

const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

function podReady(p: Pod): boolean {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready) return ready.status === 'True';
  return p.status?.phase === undefined || p.status.phase === 'Running';
}

export { TLS_MODE_LABEL };

/** An endpoint's identity fields from its workload. */
const identityOf = (w: WorkloadModel | undefined): Pick<EndpointModel, 'serviceAccount' | 'tlsMode' | 'locality'> =>
  w === undefined ? {} : { serviceAccount: w.serviceAccount, ...(w.tlsMode !== undefined ? { tlsMode: w.tlsMode } : {}), ...(w.locality !== undefined ? { locality: w.locality } : {}) };

function buildWorkloads(pods: Pod[], deployments: Deployment[], nodes: ReadonlyMap<string, Node>, opts: BuildMeshModelOptions): WorkloadModel[] {
  const out: WorkloadModel[] = [];
  for (const p of pods) {
    out.push({
      name: p.metadata.name,
      workloadName: workloadNameOf(p, deployments),
      namespace: nsOf(p),
      address: p.status?.podIP,
      labels: p.metadata.labels ?? {},
      ports: (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
      ready: podReady(p),
      serviceAccount: p.spec?.serviceAccountName || 'default',
      ...(p.metadata.labels?.[TLS_MODE_LABEL] ? { tlsMode: p.metadata.labels[TLS_MODE_LABEL] } : {}),
      ...localityOf(podLocality(p, nodes)),
    });
  }
  if (opts.deploymentAddress) {
    for (const d of deployments) {
      const n = d.spec?.replicas ?? 1;
      for (let i = 0; i < n; i++) {
        out.push({
          name: `${d.metadata.name}-${i}`,
          workloadName: d.metadata.name,
          namespace: nsOf(d),
          address: opts.deploymentAddress(nsOf(d), d.metadata.name, i),
          labels: d.spec?.template?.metadata?.labels ?? {},
          ports: (d.spec?.template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
          ready: true,
          serviceAccount: d.spec?.template?.spec?.serviceAccountName || 'default',
          ...localityOf(parseLocality(d.spec?.template?.metadata?.labels?.[ISTIO_LOCALITY_LABEL], '.')),
        });
      }
    }
  }
  return out;
}

/**
 * The workload a pod belongs to, as Istio's injector names it (`ISTIO_META_WORKLOAD_NAME`):
 * the `service.istio.io/workload-name` label, else the Deployment that owns it (through its
 * ReplicaSet, or a Deployment of its namespace whose template labels it carries), else the pod.
 */
function workloadNameOf(p: Pod, deployments: readonly Deployment[]): string {
  const labels = p.metadata.labels ?? {};
  if (labels['service.istio.io/workload-name']) return labels['service.istio.io/workload-name'];
  const owners = (p.metadata as { ownerReferences?: { kind?: string; name?: string }[] }).ownerReferences ?? [];
  const rs = owners.find((o) => o.kind === 'ReplicaSet' && o.name);
  // A Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`; another ReplicaSet is the workload itself.
  const hash = labels['pod-template-hash'];
  if (rs?.name) return hash && rs.name.endsWith(`-${hash}`) ? rs.name.slice(0, -hash.length - 1) : rs.name;
  const owner = owners.find((o) => o.name && o.kind !== 'Node');
  if (owner?.name) return owner.name;
  const d = deployments.find((x) => nsOf(x) === nsOf(p) && Object.keys(x.spec?.template?.metadata?.labels ?? {}).length > 0 && selects(x.spec?.template?.metadata?.labels ?? {}, labels));
  return d?.metadata.name ?? p.metadata.name;
}

function targetPortOf(sp: ServicePortModel, w: WorkloadModel): number | undefined {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  return w.ports.find((p) => p.name === sp.targetPort)?.containerPort;
}

function endpointsFromWorkloads(ports: readonly ServicePortModel[], selector: Readonly<Record<string, string>>, ns: string, workloads: readonly WorkloadModel[]): Map<number, EndpointModel[]> {
  const m = new Map<number, EndpointModel[]>();
  for (const sp of ports) m.set(sp.port, []);
  // Kubernetes: a Service without a selector gets no endpoints from pods.
  if (Object.keys(selector).length === 0) return m;
  for (const w of workloads) {
    if (w.namespace !== ns || !w.address || !selects(selector, w.labels)) continue;
    for (const sp of ports) {
      const port = targetPortOf(sp, w);
      if (port !== undefined) m.get(sp.port)!.push({ address: w.address, port, labels: w.labels, ready: w.ready, podRef: `${w.name}.${w.namespace}`, workload: w.workloadName, ...identityOf(w) });
    }
  }
  return m;
}

function workloadByIp(workloads: readonly WorkloadModel[], ns: string, ip: string, podName?: string): WorkloadModel | undefined {
  return workloads.find((w) => w.namespace === ns && (podName ? w.name === podName : w.address === ip)) ?? workloads.find((w) => w.address === ip);
}

/** Endpoint port for a service port: matched by name (Kubernetes copies the Service port's name). */
function matchEndpointPort(sp: ServicePortModel, ports: readonly { name?: string; port: number }[], single: boolean): number | undefined {
  const p = ports.find((x) => (x.name ?? '') === (sp.name ?? '')) ?? (single && ports.length === 1 ? ports[0] : undefined);
  return p?.port;
}

function endpointsFromEndpoints(ports: readonly ServicePortModel[], e: Endpoints, workloads: readonly WorkloadModel[]): Map<number, EndpointModel[]> {
  const m = new Map<number, EndpointModel[]>();
  for (const sp of ports) m.set(sp.port, []);
  for (const s of e.subsets ?? []) {
    for (const sp of ports) {
      const port = matchEndpointPort(sp, s.ports ?? [], ports.length === 1);
      if (port === undefined) continue;
      const add = (ready: boolean) => (a: { ip: string; targetRef?: { name?: string } }) => {
        const w = workloadByIp(workloads, nsOf(e), a.ip, a.targetRef?.name);
        m.get(sp.port)!.push({ address: a.ip, port, labels: w?.labels ?? {}, ready, podRef: w ? `${w.name}.${w.namespace}` : undefined, workload: w?.workloadName, ...identityOf(w) });
      };
      (s.addresses ?? []).forEach(add(true));
      (s.notReadyAddresses ?? []).forEach(add(false));
    }
  }
  return m;
}

function endpointsFromSlices(ports: readonly ServicePortModel[], slices: EndpointSlice[], workloads: readonly WorkloadModel[]): Map<number, EndpointModel[]> {
  const m = new Map<number, EndpointModel[]>();
  for (const sp of ports) m.set(sp.port, []);
  for (const sl of slices) {
    if (sl.addressType === 'FQDN') continue;
    for (const sp of ports) {
      const port = matchEndpointPort(sp, sl.ports ?? [], ports.length === 1);
      if (port === undefined) continue;
      for (const ep of sl.endpoints ?? []) {
        const ready = ep.conditions?.ready !== false;
        for (const ip of ep.addresses) {
          const w = workloadByIp(workloads, nsOf(sl), ip, ep.targetRef?.name);
          m.get(sp.port)!.push({ address: ip, port, labels: w?.labels ?? {}, ready, podRef: w ? `${w.name}.${w.namespace}` : undefined, workload: w?.workloadName, ...identityOf(w) });
        }
      }
    }
  }
  return m;
}

function sortEndpoints(m: Map<number, EndpointModel[]>): Map<number, EndpointModel[]> {
  for (const list of m.values()) list.sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }) || a.port - b.port);
  return m;
}

function buildService(s: Service, workloads: readonly WorkloadModel[], endpoints: Endpoints | undefined, slices: EndpointSlice[], domainSuffix: string): ServiceModel {
  const ports: ServicePortModel[] = (s.spec?.ports ?? []).map((p) => ({
    name: p.name,
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    protocol: selectPortProtocol(p),
  }));
  const selector = s.spec?.selector;
  // EndpointSlices are the current API; Endpoints the legacy one; pods by selector the fallback
  // for sources that carry no endpoints (a folder of YAML).
  const eps =
    slices.length > 0
      ? endpointsFromSlices(ports, slices, workloads)
      : endpoints
        ? endpointsFromEndpoints(ports, endpoints, workloads)
        : endpointsFromWorkloads(ports, selector ?? {}, nsOf(s), workloads);
  const ip = s.spec?.clusterIP;
  const exportTo = s.metadata.annotations?.[SERVICE_EXPORT_TO_ANNOTATION]?.split(',').map((x) => x.trim()).filter((x) => x !== '');
  return {
    ...(exportTo !== undefined && exportTo.length > 0 ? { exportTo } : {}),
    hostname: serviceFqdn(s.metadata.name, nsOf(s), domainSuffix),
    name: s.metadata.name,
    namespace: nsOf(s),
    origin: 'Service',
    clusterIP: ip && ip !== 'None' ? ip : undefined,
    ports,
    selector,
    endpoints: sortEndpoints(eps),
    resolution: 'EDS',
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    if (o instanceof Map) for (const v of o.values()) deepFreeze(v);
    else for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Builds the model from validated resources (later duplicates of the same kind/namespace/name win). */
export function buildMeshModel(resources: readonly KubeResource[], opts: BuildMeshModelOptions = {}): MeshModel {
  const domainSuffix = opts.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX;
  const unique = new Map<string, KubeResource>();
  for (const r of resources) unique.set(key(r), structuredClone(r));
  const all = [...unique.values()];
  const of = <K extends KubeResource['kind']>(kind: K) => all.filter((r): r is Extract<KubeResource, { kind: K }> => r.kind === kind);

  const workloads = buildWorkloads(of('Pod'), of('Deployment'), new Map(of('Node').map((n) => [n.metadata.name, n])), opts);
  const endpointsByService = new Map(of('Endpoints').map((e) => [`${nsOf(e)}/${e.metadata.name}`, e]));
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const sl of of('EndpointSlice')) {
    const k = `${nsOf(sl)}/${sl.metadata.labels?.['kubernetes.io/service-name']}`;
    slicesByService.set(k, [...(slicesByService.get(k) ?? []), sl]);
  }
  const services: ServiceModel[] = [];
  for (const s of of('Service')) {
    if (s.spec?.type === 'ExternalName') continue;
    const k = `${nsOf(s)}/${s.metadata.name}`;
    services.push(buildService(s, workloads, endpointsByService.get(k), slicesByService.get(k) ?? [], domainSuffix));
  }
  const serviceEntries = byCreation(of('ServiceEntry'));
  const workloadEntries = byCreation(of('WorkloadEntry'));
  for (const se of serviceEntries) {
    for (const svc of buildServiceEntryServices(se, workloads, workloadEntries, domainSuffix)) {
      // A Kubernetes Service wins over a ServiceEntry for the same host.
      if (!services.some((s) => s.hostname === svc.hostname)) services.push(svc);
    }
  }
  services.sort((a, b) => a.hostname.localeCompare(b.hostname));
  return deepFreeze({
    domainSuffix,
    namespaces: new Map(of('Namespace').map((n: Namespace) => [n.metadata.name, n])),
    services,
    servicesByHost: new Map(services.map((s) => [s.hostname, s])),
    workloads,
    virtualServices: virtualServiceOrder(of('VirtualService')) as VirtualService[],
    destinationRules: byCreation(of('DestinationRule')) as DestinationRule[],
    gateways: byCreation(of('Gateway')) as Gateway[],
    serviceEntries,
    telemetries: byCreation(of('Telemetry')) as Telemetry[],
    authorizationPolicies: byCreation(of('AuthorizationPolicy')) as AuthorizationPolicy[],
    peerAuthentications: byCreation(of('PeerAuthentication')) as PeerAuthentication[],
    requestAuthentications: byCreation(of('RequestAuthentication')) as RequestAuthentication[],
    pods: of('Pod'),
    secrets: of('Secret'),
    sidecars: byCreation(of('Sidecar')) as Sidecar[],
    meshConfig: opts.meshConfig ?? DEFAULT_MESH_CONFIG,
  });
}
