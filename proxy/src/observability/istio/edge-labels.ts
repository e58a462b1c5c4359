/**
 * The labels of one edge of the mesh as one proxy sees it: reporter, the source and
 * destination workloads, the destination service and the protocol. Which side is the proxy's
 * own workload follows the reporter (`source` on outbound listeners and gateways,
 * `destination` on inbound ones), as in Istio's proxy.
 */
import type { ClusterRt, Reporter } from '@minimesh/config';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, UNKNOWN } from '@minimesh/mesh';
import type { WorkloadPeer } from './workload-peer.js';

export type LabelPairs = readonly (readonly [string, string])[];

/** What `destination_service`, `_name` and `_namespace` say. */
export interface ServiceLabels {
  readonly host: string;
  readonly name: string;
  readonly namespace: string;
}

/**
 * The destination service of a request: the cluster's `istio.services[0]`; else, for Istio's
 * catch-all clusters or no cluster, the Host header (unless the fallback is disabled).
 */
export function serviceLabels(cluster: ClusterRt | undefined, authority: string, hostFallback: boolean): ServiceLabels {
  const svc = cluster?.istioServices?.[0];
  if (svc !== undefined) return { host: svc.host, name: svc.name || svc.host.split('.')[0], namespace: svc.namespace || UNKNOWN };
  // As Istio's proxy: the Host header as it came (port included) names the service, unless the
  // cluster is one of Istio's catch-alls, which name themselves.
  const host = hostFallback && authority !== '' ? authority : UNKNOWN;
  const special = cluster?.name === PASSTHROUGH_CLUSTER || cluster?.name === BLACKHOLE_CLUSTER ? cluster.name : undefined;
  return { host, name: special ?? host, namespace: UNKNOWN };
}

/** The labels before `response_code`, in Istio's order. */
export function edgeLabels(reporter: Reporter, local: WorkloadPeer, peer: WorkloadPeer, service: ServiceLabels, protocol: string, peerPrincipal?: string, localPrincipal?: string): LabelPairs {
  // Principals come from the peer's certificate only (mTLS), never from what a peer claims:
  // the client's verified URI SAN on the server, the SAN the cluster verified on the client.
  // `localPrincipal`: this proxy's own identity, as the certificate it served that connection with says.
  const principal = peerPrincipal ?? UNKNOWN;
  if (localPrincipal !== undefined) local = { ...local, principal: localPrincipal };
  const src = reporter === 'source' ? local : peer;
  const dst = reporter === 'source' ? peer : local;
  // A server that knows no service reports its own canonical service (Istio's fallback).
  if (reporter === 'destination' && service.host === UNKNOWN) service = { host: local.canonicalService, name: local.canonicalService, namespace: service.namespace };
  return [
    ['reporter', reporter],
    ['source_workload', src.workloadName],
    ['source_canonical_service', src.canonicalService],
    ['source_canonical_revision', src.canonicalRevision],
    ['source_workload_namespace', src.namespace],
    ['source_principal', reporter === 'source' ? src.principal : principal],
    ['source_app', src.app],
    ['source_version', src.version],
    ['source_cluster', src.clusterId],
    ['destination_workload', dst.workloadName],
    ['destination_workload_namespace', dst.namespace],
    ['destination_principal', reporter === 'destination' ? dst.principal : principal],
    ['destination_app', dst.app],
    ['destination_version', dst.version],
    ['destination_service', service.host],
    ['destination_canonical_service', dst.canonicalService],
    ['destination_canonical_revision', dst.canonicalRevision],
    ['destination_service_name', service.name],
    ['destination_service_namespace', service.namespace !== UNKNOWN ? service.namespace : dst.namespace],
    ['destination_cluster', dst.clusterId],
    ['request_protocol', protocol],
  ];
}

/** `connection_security_policy`: a client never knows it (`unknown`); a server says `mutual_tls` or `none`. */
export function securityPolicy(reporter: Reporter, mutualTls: boolean): string {
  return reporter === 'source' ? UNKNOWN : mutualTls ? 'mutual_tls' : 'none';
}

export function escapeLabelValue(v: string): string {
  return /["\\\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

export function renderLabels(pairs: LabelPairs): string {
  let s = '';
  for (let i = 0; i < pairs.length; i++) s += `${i === 0 ? '' : ','}${pairs[i][0]}="${escapeLabelValue(pairs[i][1])}"`;
  return s;
}
