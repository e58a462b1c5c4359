/** A route's retry policy at run time (compiled by retry-policy.ts). */

/** Retry conditions, parsed once from `retry_on`. */
export type RetryOn =
  | '5xx'
  | 'gateway-error'
  | 'reset'
  | 'reset-before-request'
  | 'connect-failure'
  | 'retriable-4xx'
  | 'refused-stream'
  | 'retriable-status-codes'
  | 'retriable-headers'
  | 'envoy-ratelimited'
  | 'http3-post-connect-failure'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted'
  | 'unavailable';

export interface RetryPolicyRt {
  readonly retryOn: ReadonlySet<RetryOn>;
  /** `num_retries`, default 1. */
  readonly numRetries: number;
  /** `per_try_timeout` (0 = none: the route timeout applies). */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** `retry_back_off.base_interval`, default 25 ms. */
  readonly baseIntervalMs: number;
  /** `retry_back_off.max_interval`, default 10 x base. */
  readonly maxIntervalMs: number;
  /** `retry_host_predicate` contains `envoy.retry_host_predicates.previous_hosts`. */
  readonly avoidPreviousHosts: boolean;
  /** `host_selection_retry_max_attempts`, default 1. */
  readonly hostSelectionRetryMaxAttempts: number;
  /** `retry_priority`, when set. */
  readonly retryPriority?: RetryPriorityRt;
}

/**
 * `retry_priority`: Envoy's previous_priorities. Tries 1..N use the cluster's priority loads;
 * after every `updateFrequency` tries, the levels tried so far are excluded and their load
 * goes to the others (in proportion to their health).
 */
export interface RetryPriorityRt {
  readonly kind: 'previous_priorities';
  readonly updateFrequency: number;
}
