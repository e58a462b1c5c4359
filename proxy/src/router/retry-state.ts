/**
 * Decides, after each failed try, whether the request is tried again and after how long,
 * with Envoy's semantics (router/retry_state_impl.cc): `retry_on` conditions, the number
 * of retries, the cluster's `max_retries` circuit breaker, and fully jittered exponential
 * back-off: retry N waits a uniform time in [0, (2^N - 1) x base), capped at max.
 */
import type { RetryOn, RetryPolicyRt } from '@minimesh/config/runtime';
import type { Cluster } from '../upstream/cluster.js';
import { PreviousPriorities } from '../upstream/lb/retry-priority.js';

/** How a try failed, as the retry conditions see it. */
export type TryFailure = 'connect-failure' | 'reset' | 'remote-reset' | 'refused-stream' | 'per-try-timeout' | 'protocol-error' | 'overflow';

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly reason: 'not-retriable' | 'limit' | 'overflow' };

const GRPC_CODES: Partial<Record<RetryOn, string>> = {
  cancelled: '1',
  'deadline-exceeded': '4',
  'resource-exhausted': '8',
  internal: '13',
  unavailable: '14',
};

export class RetryState {
  /** Retries done so far. */
  retries = 0;
  private readonly retryOn: ReadonlySet<RetryOn>;
  private readonly numRetries: number;
  private readonly statusCodes: ReadonlySet<number>;
  /** `retry_priority` (previous_priorities): the priority loads each try's pick uses. */
  readonly priority: PreviousPriorities | undefined;

  constructor(
    private readonly policy: RetryPolicyRt,
    private readonly cluster: Cluster,
    headerRetryOn: string | undefined,
    headerMaxRetries: string | undefined,
    headerStatusCodes: string | undefined = undefined,
    private readonly random: () => number = Math.random,
  ) {
    let retryOn = policy.retryOn;
    if (headerRetryOn !== undefined) {
      // x-envoy-retry-on adds to the route's conditions.
      const extra = new Set<RetryOn>(retryOn);
      for (const v of headerRetryOn.split(',')) extra.add(v.trim() as RetryOn);
      retryOn = extra;
    }
    this.retryOn = retryOn;
    const max = headerMaxRetries !== undefined && /^\d{1,4}$/.test(headerMaxRetries) ? Number(headerMaxRetries) : policy.numRetries;
    this.numRetries = max;
    let codes = policy.retriableStatusCodes;
    if (headerStatusCodes !== undefined) {
      // x-envoy-retriable-status-codes adds to the route's codes.
      const more = new Set(codes);
      for (const v of headerStatusCodes.split(',')) if (/^\s*\d{3}\s*$/.test(v)) more.add(Number(v));
      codes = more;
    }
    this.statusCodes = codes;
    const rp = policy.retryPriority;
    this.priority = rp === undefined ? undefined : new PreviousPriorities(rp.updateFrequency);
  }

  get perTryTimeoutMs(): number {
    return this.policy.perTryTimeoutMs;
  }

  get avoidPreviousHosts(): boolean {
    return this.policy.avoidPreviousHosts;
  }

  /** Whether a response with this status (and grpc-status, if any) is worth another try. */
  statusIsRetriable(status: number, grpcStatus: string | undefined): boolean {
    const on = this.retryOn;
    if (on.has('5xx') && status >= 500) return true;
    if (on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
    if (on.has('retriable-4xx') && status === 409) return true;
    if (on.has('retriable-status-codes') && this.statusCodes.has(status)) return true;
    if (grpcStatus !== undefined) {
      for (const [cond, code] of Object.entries(GRPC_CODES)) if (code === grpcStatus && on.has(cond as RetryOn)) return true;
    }
    return false;
  }

  /**
   * Whether a try that failed without a response is worth another try (Envoy's
   * wouldRetryFromReset). `requestSent`: the request head had gone upstream.
   */
  failureIsRetriable(f: TryFailure, requestSent = true): boolean {
    if (f === 'overflow') return false;
    const on = this.retryOn;
    if ((on.has('5xx') || on.has('gateway-error') || on.has('reset')) && (f !== 'protocol-error' || on.has('5xx'))) return true;
    if (f === 'connect-failure' && on.has('connect-failure')) return true;
    if (f === 'refused-stream' && on.has('refused-stream')) return true;
    if (!requestSent && f !== 'per-try-timeout' && on.has('reset-before-request')) return true;
    return false;
  }

  /** Asks for one more try; counts it against the cluster's retry budget when granted. */
  next(retriable: boolean): RetryDecision {
    if (!retriable) return { retry: false, reason: 'not-retriable' };
    if (this.retries >= this.numRetries) return { retry: false, reason: 'limit' };
    if (this.cluster.activeRetries >= this.cluster.config.circuitBreakers.maxRetries) return { retry: false, reason: 'overflow' };
    this.retries++;
    const n = this.retries;
    const upper = Math.min((2 ** n - 1) * this.policy.baseIntervalMs, this.policy.maxIntervalMs);
    return { retry: true, delayMs: Math.floor(this.random() * upper) };
  }
}

/** The policy when only the client's `x-envoy-retry-on` asks for retries (Envoy's defaults). */
export const HEADER_ONLY_RETRY_POLICY: RetryPolicyRt = {
  retryOn: new Set<RetryOn>(),
  numRetries: 1,
  perTryTimeoutMs: 0,
  retriableStatusCodes: new Set<number>(),
  baseIntervalMs: 25,
  maxIntervalMs: 250,
  avoidPreviousHosts: false,
  hostSelectionRetryMaxAttempts: 1,
};
