/** Envoy's slow start (`slow_start_config` of ROUND_ROBIN / LEAST_REQUEST; Istio's warmup). */
export interface SlowStartRt {
  /** `slow_start_window`: how long a new host ramps up. */
  readonly windowMs: number;
  /** `aggression` (default 1: linear); weight × timeFactor^(1/aggression). */
  readonly aggression: number;
  /** `min_weight_percent` (default 10): the floor of the scaled weight, in percent. */
  readonly minWeightPercent: number;
}
