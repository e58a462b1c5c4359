/**
 * The settings an install honours, resolved from a profile plus `--set` and `-f` overrides
 * (resolve-values.ts). Everything else of Istio's IstioOperator is either refused (a key Istio
 * does not have) or ignored with a warning (a key Istio has that minimesh does not act on).
 */
import { DEFAULT_REVISION, ISTIO_NAMESPACE, MINIMESH_IMAGE, MINIMESH_IMAGE_PULL_POLICY } from '@minimesh/mesh';

/** Istio's profiles that minimesh renders (`manifests/profiles/*.yaml`), as `profile list` prints them. */
export const PROFILE_NAMES = ['default', 'demo', 'empty', 'minimal'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const SERVICE_TYPES = ['LoadBalancer', 'NodePort', 'ClusterIP'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const PULL_POLICIES = ['IfNotPresent', 'Always', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface ResourceRequests {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits?: { readonly cpu: string; readonly memory: string };
}

export interface GatewayValues {
  readonly enabled: boolean;
  /** `values.gateways.<name>.type` or `components.<kind>Gateways[0].k8s.service.type`. */
  readonly serviceType: ServiceType;
  /** An HPA (min 1, max 5, cpu 80%) instead of `replicas: 1`. */
  readonly autoscaleEnabled: boolean;
  readonly resources: ResourceRequests;
}

export interface InstallValues {
  readonly profile: ProfileName;
  /** Always `istio-system`: another namespace is refused. */
  readonly namespace: string;
  /** Always `default`: another revision is refused. */
  readonly revision: string;
  /** `values.global.proxy.image`: the one image of every role (control plane, gateways, sidecars). */
  readonly image: string;
  /** `values.global.imagePullPolicy`. */
  readonly imagePullPolicy: PullPolicy;
  /** Whether the Base (CRDs) and Pilot (control plane) components are rendered. */
  readonly components: { readonly base: boolean; readonly pilot: boolean };
  /** The mesh config keys honoured (`meshConfig.accessLogFile`: '' means no access log). */
  readonly meshConfig: { readonly accessLogFile: string };
  readonly pilot: {
    /** An HPA for istiod instead of `replicas: 1`. */
    readonly autoscaleEnabled: boolean;
    /** PILOT_TRACE_SAMPLING, a percentage. */
    readonly traceSampling: number;
    readonly resources: ResourceRequests;
  };
  readonly gateways: { readonly ingress: GatewayValues; readonly egress: GatewayValues };
  /** Keys given that Istio has but minimesh ignores, one line each, naming key and origin. */
  readonly warnings: readonly string[];
}

/** A bad --set or -f: the message names the key and where it came from. */
export class InstallValuesError extends Error {
  constructor(
    message: string,
    /** The key, as written (`values.gateways.istio-ingressgateway.type`), when one is at fault. */
    readonly key?: string,
    /** `--set`, `--profile` or the file's path. */
    readonly origin?: string,
  ) {
    super(message);
    this.name = 'InstallValuesError';
  }
}

const GATEWAY_LIMITS = { cpu: '2000m', memory: '1024Mi' } as const;

/** A profile's values before any override (Istio's profiles, as far as minimesh renders them). */
export function profileValues(profile: ProfileName): InstallValues {
  const demo = profile === 'demo';
  const gw = (enabled: boolean, serviceType: ServiceType): GatewayValues => ({
    enabled,
    serviceType,
    autoscaleEnabled: !demo,
    resources: { requests: demo ? { cpu: '10m', memory: '40Mi' } : { cpu: '100m', memory: '128Mi' }, limits: GATEWAY_LIMITS },
  });
  return {
    profile,
    namespace: ISTIO_NAMESPACE,
    revision: DEFAULT_REVISION,
    image: MINIMESH_IMAGE,
    imagePullPolicy: MINIMESH_IMAGE_PULL_POLICY as PullPolicy,
    components: { base: profile !== 'empty', pilot: profile !== 'empty' },
    meshConfig: { accessLogFile: demo ? '/dev/stdout' : '' },
    pilot: {
      autoscaleEnabled: !demo,
      traceSampling: demo ? 100 : 1,
      // Demo's requests are Istio's; the default profile asks for less than istiod's 500m/2048Mi,
      // which a laptop's Minikube may not have to give and minimesh's control plane does not need.
      resources: { requests: demo ? { cpu: '10m', memory: '100Mi' } : { cpu: '100m', memory: '256Mi' } },
    },
    gateways: {
      ingress: gw(profile === 'default' || demo, 'LoadBalancer'),
      egress: gw(demo, 'ClusterIP'),
    },
    warnings: [],
  };
}
