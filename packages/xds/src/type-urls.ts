/** The xDS resource types minimesh serves, their short names and the order they are pushed in. */
import { TYPE_URL } from '@minimesh/api';

export const CDS = TYPE_URL.Cluster;
export const EDS = TYPE_URL.ClusterLoadAssignment;
export const LDS = TYPE_URL.Listener;
export const RDS = TYPE_URL.RouteConfiguration;
/** SDS: Envoy `Secret`s (a gateway's credentialName certificates), asked by name. */
export const SDS = TYPE_URL.TlsSecret;

export type XdsTypeUrl = typeof CDS | typeof EDS | typeof LDS | typeof RDS | typeof SDS;

/**
 * Make before break (Envoy's xds_protocol "eventual consistency considerations", Istio's push
 * order): clusters, then their endpoints, then the secrets listeners use, then the listeners
 * and routes that use them.
 */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [CDS, EDS, SDS, LDS, RDS];

/** Short names as proxy-status prints them. */
export const SHORT_NAME: Readonly<Record<XdsTypeUrl, 'CDS' | 'EDS' | 'LDS' | 'RDS' | 'SDS'>> = { [CDS]: 'CDS', [EDS]: 'EDS', [LDS]: 'LDS', [RDS]: 'RDS', [SDS]: 'SDS' };

/** LDS and CDS are wildcard (empty resource_names = everything); RDS, EDS and SDS are asked by name. */
export function isWildcardType(typeUrl: string): boolean {
  return typeUrl === LDS || typeUrl === CDS;
}

export function isXdsType(typeUrl: string): typeUrl is XdsTypeUrl {
  return typeUrl === CDS || typeUrl === EDS || typeUrl === LDS || typeUrl === RDS || typeUrl === SDS;
}

/** The name of a resource (plain object), by type: `name`, or `cluster_name` for endpoints. */
export function resourceName(typeUrl: string, r: object): string {
  const o = r as { name?: string; cluster_name?: string };
  return (typeUrl === EDS ? o.cluster_name : o.name) ?? '';
}
