/**
 * The two gateways Istio's profiles install (facts §2.6, §2.7): names, labels, and ports.
 * Both run `minimesh proxy --type router` with the ingress's shape; they differ in names, the
 * Service type and the ports.
 */
import type { ComponentName } from '../types.js';
import type { GatewayValues, InstallValues } from '../values/install-values.js';

export interface GatewayPort {
  readonly name: string;
  /** The Service's port. */
  readonly port: number;
  /** The container's (the proxy listens here). */
  readonly targetPort: number;
}

export interface GatewaySpec {
  readonly component: ComponentName;
  /** `istio-ingressgateway`: Deployment, Service, autoscaler and budget. */
  readonly name: string;
  /** `ingressgateway`: the `istio` label Gateways select. */
  readonly istioLabel: string;
  readonly serviceAccount: string;
  /** The Role and RoleBinding that let the gateway read TLS Secrets (`<name>-sds`). */
  readonly sdsRole: string;
  readonly ports: readonly GatewayPort[];
  readonly values: GatewayValues;
}

/** The port the proxy serves `/healthz/ready` on: the ingress Service's `status-port`. */
export const GATEWAY_STATUS_PORT: GatewayPort = { name: 'status-port', port: 15021, targetPort: 15021 };
const HTTP2: GatewayPort = { name: 'http2', port: 80, targetPort: 8080 };
const HTTPS: GatewayPort = { name: 'https', port: 443, targetPort: 8443 };
/** Added to the ingress by the demo profile. */
export const DEMO_INGRESS_PORTS: readonly GatewayPort[] = [
  { name: 'tcp', port: 31400, targetPort: 31400 },
  { name: 'tls', port: 15443, targetPort: 15443 },
];

const spec = (component: ComponentName, kind: 'ingress' | 'egress', ports: readonly GatewayPort[], values: GatewayValues): GatewaySpec => ({
  component,
  name: `istio-${kind}gateway`,
  istioLabel: `${kind}gateway`,
  serviceAccount: `istio-${kind}gateway-service-account`,
  sdsRole: `istio-${kind}gateway-sds`,
  ports,
  values,
});

export function ingressGatewaySpec(v: InstallValues): GatewaySpec {
  const ports = [GATEWAY_STATUS_PORT, HTTP2, HTTPS, ...(v.profile === 'demo' ? DEMO_INGRESS_PORTS : [])];
  return spec('IngressGateways', 'ingress', ports, v.gateways.ingress);
}

export function egressGatewaySpec(v: InstallValues): GatewaySpec {
  return spec('EgressGateways', 'egress', [HTTP2, HTTPS], v.gateways.egress);
}
