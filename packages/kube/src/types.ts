/**
 * The Kubernetes and Istio resources minimesh reads, typed only as far as we translate them.
 * Field names and meanings follow the Kubernetes API (core/v1, discovery.k8s.io/v1, apps/v1)
 * and istio/api `networking/v1alpha3` (the same schema is served as v1beta1 and v1).
 */

import type { LocalityLbSetting, WarmupConfiguration } from './types-locality.js';
import type { AuthorizationPolicySpec, PeerAuthenticationSpec, RequestAuthenticationSpec } from './types-authz.js';
import type { SecretFields, ServerTlsSettings, TlsRoute } from './types-tls.js';
import type { SidecarSpec, TCPRoute } from './types-sidecar.js';
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
}

export interface TypedObject<K extends string, S = unknown> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec?: S;
}

// ---------------------------------------------------------------- Kubernetes

export type Namespace = TypedObject<'Namespace'>;
/** A core/v1 Node: its `topology.kubernetes.io/region`/`zone` and `topology.istio.io/subzone` labels are its pods' locality. */
export type Node = TypedObject<'Node'>;
/** A core/v1 Secret (kubernetes.io/tls or Opaque): a Gateway's `credentialName`. */
export type Secret = TypedObject<'Secret'> & SecretFields;

export interface ServicePort {
  name?: string;
  port: number;
  /** A number, or the name of a container port. Defaults to `port`. */
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIP?: string;
  clusterIPs?: string[];
  selector?: Record<string, string>;
  ports?: ServicePort[];
  externalName?: string;
}
export type Service = TypedObject<'Service', ServiceSpec>;

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}
export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}
export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}
export interface Endpoints extends TypedObject<'Endpoints'> {
  subsets?: EndpointSubset[];
}

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string };
}
export interface EndpointSlice extends TypedObject<'EndpointSlice'> {
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: EndpointSliceEndpoint[];
  ports?: EndpointPort[];
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}
export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  serviceAccountName?: string;
  /** The Node the pod runs on (its locality comes from the Node's labels). */
  nodeName?: string;
}
export interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  conditions?: { type: string; status: string }[];
}
export interface Pod extends TypedObject<'Pod', PodSpec> {
  status?: PodStatus;
}

export interface DeploymentSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template?: { metadata?: Partial<ObjectMeta>; spec?: PodSpec };
}
/** Read so that a folder without a cluster can still describe its workloads. */
export type Deployment = TypedObject<'Deployment', DeploymentSpec>;

// ---------------------------------------------------------------- Istio networking

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}
export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match?: string; rewrite?: string };
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  /** The retries' base back-off interval (Envoy's retry_back_off.base_interval). */
  backoff?: string;
}

export interface Percent {
  value?: number;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; percentage?: Percent };
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: { status: number; body?: { string?: string } };
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  mirrors?: { destination: Destination; percentage?: Percent }[];
  corsPolicy?: CorsPolicy;
  headers?: Headers;
  delegate?: unknown;
}

/** VirtualService `http[].corsPolicy`. */
export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  /** Deprecated: exact origins (used when allowOrigins is unset). */
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tls?: TlsRoute[];
  tcp?: TCPRoute[];
  exportTo?: string[];
}
export type VirtualService = TypedObject<'VirtualService', VirtualServiceSpec>;

export type * from './types-destination-rule.js';
import type { DestinationRule } from './types-destination-rule.js';

export interface GatewayServer {
  port: { number: number; name?: string; protocol: string; targetPort?: number };
  hosts: string[];
  bind?: string;
  tls?: ServerTlsSettings;
  name?: string;
}
export interface GatewaySpec {
  selector?: Record<string, string>;
  servers?: GatewayServer[];
}
export type Gateway = TypedObject<'Gateway', GatewaySpec>;

export interface ServiceEntrySpec {
  hosts?: string[];
  addresses?: string[];
  ports?: { number: number; protocol?: string; name?: string; targetPort?: number }[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
}
export type ServiceEntry = TypedObject<'ServiceEntry', ServiceEntrySpec>;

/** A WorkloadEntry's spec, also a ServiceEntry's inline endpoint. */
export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  /** `region/zone/subzone`. */
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}
export type WorkloadEntry = TypedObject<'WorkloadEntry', WorkloadEntrySpec>;

export type WorkloadMode = 'CLIENT' | 'SERVER' | 'CLIENT_AND_SERVER';
export interface TelemetryProviderRef {
  name: string;
}
export interface MetricsOverride {
  match?: { metric?: string; customMetric?: string; mode?: WorkloadMode };
  disabled?: boolean;
  tagOverrides?: Record<string, { operation?: 'UPSERT' | 'REMOVE'; value?: string }>;
}
export interface TelemetrySpec {
  selector?: { matchLabels?: Record<string, string> };
  metrics?: { providers?: TelemetryProviderRef[]; overrides?: MetricsOverride[]; reportingInterval?: string }[];
  accessLogging?: { providers?: TelemetryProviderRef[]; disabled?: boolean; match?: { mode?: WorkloadMode }; filter?: { expression?: string } }[];
}
export type Telemetry = TypedObject<'Telemetry', TelemetrySpec>;

export type * from './types-authz.js';
export * from './types-tls.js';
export * from './types-locality.js';
export type AuthorizationPolicy = TypedObject<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type PeerAuthentication = TypedObject<'PeerAuthentication', PeerAuthenticationSpec>;
export type RequestAuthentication = TypedObject<'RequestAuthentication', RequestAuthenticationSpec>;
export * from './types-sidecar.js';
export type Sidecar = TypedObject<'Sidecar', SidecarSpec>;

/** Every kind the control plane reads. */
export type KubeResource = Namespace | Node | Service | Endpoints | EndpointSlice | Pod | Deployment | VirtualService | DestinationRule | Gateway | ServiceEntry | Telemetry | AuthorizationPolicy | PeerAuthentication | RequestAuthentication | Secret | Sidecar | WorkloadEntry;
export type KubeKind = KubeResource['kind'];

export const ISTIO_NETWORKING_GROUP = 'networking.istio.io';
export const ISTIO_NETWORKING_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'] as const;
export const ISTIO_KINDS = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'WorkloadEntry', 'Sidecar', 'Telemetry'] as const;
export const ISTIO_TELEMETRY_GROUP = 'telemetry.istio.io';
export const ISTIO_TELEMETRY_VERSIONS = ['v1alpha1', 'v1'] as const;
export const ISTIO_SECURITY_GROUP = 'security.istio.io';
export const ISTIO_SECURITY_VERSIONS = ['v1beta1', 'v1'] as const;

/** apiVersions accepted per kind. */
export const API_VERSIONS: Readonly<Record<KubeKind, readonly string[]>> = {
  Namespace: ['v1'],
  Node: ['v1'],
  Secret: ['v1'],
  Service: ['v1'],
  Endpoints: ['v1'],
  Pod: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Deployment: ['apps/v1'],
  VirtualService: ISTIO_NETWORKING_VERSIONS.map((v) => `${ISTIO_NETWORKING_GROUP}/${v}`),
  DestinationRule: ISTIO_NETWORKING_VERSIONS.map((v) => `${ISTIO_NETWORKING_GROUP}/${v}`),
  Gateway: ISTIO_NETWORKING_VERSIONS.map((v) => `${ISTIO_NETWORKING_GROUP}/${v}`),
  ServiceEntry: ISTIO_NETWORKING_VERSIONS.map((v) => `${ISTIO_NETWORKING_GROUP}/${v}`),
  Sidecar: ISTIO_NETWORKING_VERSIONS.map((v) => `${ISTIO_NETWORKING_GROUP}/${v}`),
  WorkloadEntry: ISTIO_NETWORKING_VERSIONS.map((v) => `${ISTIO_NETWORKING_GROUP}/${v}`),
  Telemetry: ISTIO_TELEMETRY_VERSIONS.map((v) => `${ISTIO_TELEMETRY_GROUP}/${v}`),
  AuthorizationPolicy: ISTIO_SECURITY_VERSIONS.map((v) => `${ISTIO_SECURITY_GROUP}/${v}`),
  PeerAuthentication: ISTIO_SECURITY_VERSIONS.map((v) => `${ISTIO_SECURITY_GROUP}/${v}`),
  RequestAuthentication: ISTIO_SECURITY_VERSIONS.map((v) => `${ISTIO_SECURITY_GROUP}/${v}`),
};

export const isKnownKind = (k: unknown): k is KubeKind => typeof k === 'string' && Object.prototype.hasOwnProperty.call(API_VERSIONS, k);

/** `kind namespace/name`, the way every message names a resource. */
export function resourceRef(r: { kind: string; metadata?: Partial<ObjectMeta> }): string {
  const ns = r.metadata?.namespace ?? 'default';
  return `${r.kind} ${ns}/${r.metadata?.name ?? '(unnamed)'}`;
}
