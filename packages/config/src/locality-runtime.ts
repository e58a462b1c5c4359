/** Locality and priority of endpoints (EDS `LocalityLbEndpoints`), as the proxy balances them. */

/** Envoy's `core.v3.Locality`: region, zone, sub_zone ('' when unset). */
export interface LocalityRt {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** Envoy's default overprovisioning factor (140 %: a priority at 72 % healthy still takes all its load). */
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/** `region/zone/subZone`, the way /clusters and the balancer name a locality. */
export const localityKey = (l: LocalityRt | undefined): string => (l === undefined ? '' : `${l.region}/${l.zone}/${l.subZone}`);
