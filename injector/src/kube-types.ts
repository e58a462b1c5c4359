/**
 * The few Kubernetes shapes the injector reads and writes (core/v1 Pod and its parts).
 * Unknown fields pass through untouched: every type is open.
 */
export type StringMap = Record<string, string>;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: StringMap;
  annotations?: StringMap;
  ownerReferences?: { kind: string; name: string; apiVersion?: string; controller?: boolean }[];
  [k: string]: unknown;
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
  [k: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  grpc?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  [k: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: ContainerPort[];
  env?: EnvVar[];
  resources?: unknown;
  securityContext?: unknown;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: unknown;
  restartPolicy?: string;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  [k: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; [k: string]: unknown }[];
  hostNetwork?: boolean;
  serviceAccountName?: string;
  [k: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: PodSpec;
  [k: string]: unknown;
}

/** A namespace as the injector sees it; `labels` undefined = not known (the webhook's selector chose it). */
export interface NamespaceInfo {
  readonly name: string;
  readonly labels?: Readonly<StringMap>;
}
