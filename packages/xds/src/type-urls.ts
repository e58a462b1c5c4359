/** The xDS resource types minimesh serves, their short names and the order they are pushed in. */
import { TYPE_URL } from '@minimesh/api';

export const CDS = TYPE_URL.Cluster;
export const EDS = TYPE_URL.ClusterLoadAssignment;
export const LDS = TYPE_URL.Listener;
export const RDS = TYPE_URL.RouteConfiguration;

export type XdsTypeUrl = typeof CDS | typeof EDS | typeof LDS | typeof RDS;

/**
 * Make before break (Envoy's xds_protocol "eventual consistency considerations", Istio's push
 * order): clusters, then their endpoints, then the listeners and routes that use them.
 */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [CDS, EDS, LDS, RDS];

/** Short names as proxy-status prints them. */
export const SHORT_NAME: Readonly<Record<XdsTypeUrl, 'CDS' | 'EDS' | 'LDS' | 'RDS'>> = { [CDS]: 'CDS', [EDS]: 'EDS', [LDS]: 'LDS', [RDS]: 'RDS' };

/** LDS and CDS are wildcard (empty resource_names = everything); RDS and EDS are asked by name. */
export function isWildcardType(typeUrl: string): boolean {
  return typeUrl === LDS || typeUrl === CDS;
}

export function isXdsType(typeUrl: string): typeUrl is XdsTypeUrl {
  return typeUrl === CDS || typeUrl === EDS || typeUrl === LDS || typeUrl === RDS;
}

/** The name of a resource (plain object), by type: `name`, or `cluster_name` for endpoints. */
export function resourceName(typeUrl: string, r: object): string {
  const o = r as { name?: string; cluster_name?: string };
  return (typeUrl === EDS ? o.cluster_name : o.name) ?? '';
}
