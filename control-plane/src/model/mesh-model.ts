/**
 * The mesh model: what the control plane knows, as one immutable snapshot. Sources feed
 * resources in; `buildMeshModel` turns them into services with ports and endpoints, and keeps
 * Istio's config by namespace. Translation reads only this.
 */
import type { AuthorizationPolicy, DestinationRule, Gateway, Namespace, PeerAuthentication, Pod, Protocol, RequestAuthentication, Secret, ServiceEntry, Sidecar, Telemetry, VirtualService } from '@minimesh/kube';
import type { MeshConfig } from './mesh-config.js';

export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local';

export interface ServicePortModel {
  readonly name: string | undefined;
  readonly port: number;
  /** A number, or a container port's name resolved per endpoint. */
  readonly targetPort: number | string;
  readonly protocol: Protocol;
}
import type { LocalityModel } from './locality.js';

export interface EndpointModel {
  readonly address: string;
  /** The port the workload listens on (the Service's targetPort resolved). */
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: boolean;
  /** `pod.namespace` when the endpoint is a known pod. */
  readonly podRef?: string;
  /** The workload behind the endpoint (a Deployment's name), when it is a known pod. */
  readonly workload?: string;
  /** The pod's service account (its SPIFFE identity), when it is a known pod. */
  readonly serviceAccount?: string;
  /** The pod's `security.istio.io/tlsMode` (`istio`: its sidecar takes mTLS). */
  readonly tlsMode?: string;
  /** `load_balancing_weight` (a WorkloadEntry's or ServiceEntry endpoint's `weight`; default 1). */
  readonly weight?: number;
  /** Where it runs (locality.ts), when known. */
  readonly locality?: LocalityModel;
}

export interface ServiceModel {
  /** FQDN: `name.namespace.svc.cluster.local`, or the ServiceEntry host. */
  readonly hostname: string;
  readonly name: string;
  readonly namespace: string;
  readonly origin: 'Service' | 'ServiceEntry';
  readonly clusterIP: string | undefined;
  readonly ports: readonly ServicePortModel[];
  readonly selector: Readonly<Record<string, string>> | undefined;
  /** Endpoints per service port number. */
  readonly endpoints: ReadonlyMap<number, readonly EndpointModel[]>;
  /** ServiceEntry resolution (Services are `STATIC` through EDS). */
  readonly resolution: 'EDS' | 'DNS' | 'NONE';
  /** For `DNS` ServiceEntries: host names to resolve per port, as endpoints (address = the name). */
  readonly dnsTargets?: ReadonlyMap<number, readonly EndpointModel[]>;
  /** ServiceEntry `resolution: DNS_ROUND_ROBIN`: one logical host (LOGICAL_DNS). */
  readonly dnsRoundRobin?: boolean;
  /** ServiceEntry `location: MESH_EXTERNAL`: outside the mesh (no auto mTLS). */
  readonly meshExternal?: boolean;
  /** The namespaces that see it (a ServiceEntry's `exportTo`, a Service's `networking.istio.io/exportTo`); absent: the mesh default. */
  readonly exportTo?: readonly string[];
}

/** A pod-like workload: a Pod, or a replica of a Deployment given an address. */
export interface WorkloadModel {
  readonly name: string;
  /** What Istio's metrics call the workload: the owning Deployment's name, else the pod's. */
  readonly workloadName: string;
  readonly namespace: string;
  readonly address: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly ready: boolean;
  /** `spec.serviceAccountName`, `default` when unset (as Kubernetes fills it in). */
  readonly serviceAccount: string;
  /** Label `security.istio.io/tlsMode` (the injector sets `istio`), else undefined. */
  readonly tlsMode?: string;
  /** Where it runs (locality.ts), when known. */
  readonly locality?: LocalityModel;
}

export interface MeshModel {
  readonly domainSuffix: string;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  /** Sorted by hostname. */
  readonly services: readonly ServiceModel[];
  readonly servicesByHost: ReadonlyMap<string, ServiceModel>;
  readonly workloads: readonly WorkloadModel[];
  /** Istio config in a stable order (creation time, then namespace/name), as Istio sorts it. */
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly gateways: readonly Gateway[];
  readonly serviceEntries: readonly ServiceEntry[];
  readonly telemetries: readonly Telemetry[];
  /** AuthorizationPolicies (security.istio.io), oldest first. */
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  /** PeerAuthentications (security.istio.io), oldest first. */
  readonly peerAuthentications: readonly PeerAuthentication[];
  /** RequestAuthentications (security.istio.io), oldest first (absent: none). */
  readonly requestAuthentications?: readonly RequestAuthentication[];
  readonly pods: readonly Pod[];
  /** Secrets (a Gateway server's `credentialName`; absent: none). */
  readonly secrets?: readonly Secret[];
  /** Sidecar resources (networking.istio.io), oldest first (absent: none). */
  readonly sidecars?: readonly Sidecar[];
  /** The mesh config (`--mesh-config`; Istio's defaults without one). */
  readonly meshConfig: MeshConfig;
}
