/** `networking.istio.io` Sidecar and the VirtualService `tcp` routes (Istio's TCP traffic shifting). */
import type { Destination } from './types.js';

/** `ALLOW_ANY`: unknown destinations pass through; `REGISTRY_ONLY`: they go to BlackHoleCluster. */
export type OutboundTrafficMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface SidecarEgressListener {
  port?: { number?: number; protocol?: string; name?: string };
  bind?: string;
  captureMode?: string;
  /** `namespace/dnsName`: namespace `*` (any), `.` (the Sidecar's), `~` (none) or a name; dnsName `*`, `*.suffix` or an FQDN. */
  hosts: string[];
}

/** An `ingress[]` listener: inbound traffic on `port` goes to `defaultEndpoint` (`127.0.0.1:PORT`, `0.0.0.0:PORT`, `unix:///path`). */
export interface SidecarIngressListener {
  port: { number: number; protocol?: string; name?: string; targetPort?: number };
  bind?: string;
  captureMode?: string;
  defaultEndpoint?: string;
  tls?: unknown;
  connectionPool?: unknown;
}

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: SidecarIngressListener[];
  egress?: SidecarEgressListener[];
  outboundTrafficPolicy?: { mode?: OutboundTrafficMode; egressProxy?: unknown };
  inboundConnectionPool?: unknown;
}

export interface L4MatchAttributes {
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
  destinationSubnets?: string[];
  sourceSubnet?: string;
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: RouteDestination[];
}

/** The annotation on a Service that says which namespaces see it (comma-separated, as `exportTo`). */
export const SERVICE_EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';
