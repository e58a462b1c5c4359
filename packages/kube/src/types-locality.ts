/** DestinationRule `trafficPolicy.loadBalancer.localityLbSetting` (Istio's LocalityLoadBalancerSetting). */
export interface LocalityLbSetting {
  /** `from` locality (`region/zone/subzone`, `*` wildcards) -> `to` localities with their % of the traffic. */
  distribute?: { from?: string; to?: Record<string, number> }[];
  /** From region -> to region when the proxy's region has no healthy endpoint. */
  failover?: { from?: string; to?: string }[];
  /** Labels (optionally `label=value`) whose match with the proxy orders the priorities. */
  failoverPriority?: string[];
  enabled?: boolean;
}

/** `loadBalancer.warmup` (Envoy's slow start), the successor of `warmupDurationSecs`. */
export interface WarmupConfiguration {
  duration?: string;
  /** Floor of the ramping weight, percent (default 10). */
  minimumPercent?: number;
  /** Ramp curve (default 1, linear). */
  aggression?: number;
}
