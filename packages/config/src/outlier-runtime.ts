/** A cluster's `outlier_detection` (Envoy's OutlierDetection), compiled with Envoy's defaults. */
export interface OutlierDetectionRt {
  /** `consecutive_5xx` (5) and `enforcing_consecutive_5xx` (100 %). */
  readonly consecutive5xx: number;
  readonly enforcing5xx: number;
  /** `consecutive_gateway_failure` (5) and `enforcing_consecutive_gateway_failure` (0 %). */
  readonly consecutiveGatewayFailure: number;
  readonly enforcingGatewayFailure: number;
  /** `split_external_local_origin_errors` (false): connect failures, timeouts and resets count apart. */
  readonly splitLocalOrigin: boolean;
  /** `consecutive_local_origin_failure` (5) and its enforcing (100 %): only when split. */
  readonly consecutiveLocalOriginFailure: number;
  readonly enforcingLocalOriginFailure: number;
  /** `interval` (10 s): how often ejected hosts are checked for their return. */
  readonly intervalMs: number;
  /** `base_ejection_time` (30 s), multiplied by the host's ejection count; at most `max_ejection_time` (300 s). */
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  /** `max_ejection_percent` (10). */
  readonly maxEjectionPercent: number;
  /** `always_eject_one_host` (false): one host may be ejected whatever the percentage. */
  readonly alwaysEjectOneHost: boolean;
}
