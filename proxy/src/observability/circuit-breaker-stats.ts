/**
 * Envoy's circuit breaker gauges of a cluster, `cluster.<name>.circuit_breakers.<priority>.*`:
 * `cx_open`, `cx_pool_open`, `rq_pending_open`, `rq_open`, `rq_retry_open` (1 while that
 * breaker is at its limit) for the default and the high priority, and with `track_remaining`
 * the default priority's `remaining_cx`, `remaining_pending`, `remaining_rq`,
 * `remaining_retries`, `remaining_cx_pools`. They are read from the cluster's live counts when
 * the stats are rendered, so the request path keeps nothing up to date for them. minimesh has no
 * high-priority routes: the high breakers stay closed. With `--concurrency N` each worker has its
 * own counts and the sum is shown (Envoy's breakers are shared by its workers).
 */
import type { CircuitBreakersRt } from '@minimesh/config/runtime';

/** What a cluster counts against its breakers now. */
export interface BreakerState {
  readonly limits: CircuitBreakersRt;
  readonly connections: number;
  readonly pending: number;
  readonly requests: number;
  readonly retries: number;
}

const PRIORITY_GAUGES = ['cx_open', 'cx_pool_open', 'rq_pending_open', 'rq_open', 'rq_retry_open'] as const;

/** Every gauge name (for the Prometheus TYPE line). */
export const BREAKER_GAUGES: ReadonlySet<string> = new Set([
  ...['default', 'high'].flatMap((p) => PRIORITY_GAUGES.map((g) => `circuit_breakers.${p}.${g}`)),
  ...['remaining_cx', 'remaining_pending', 'remaining_rq', 'remaining_retries', 'remaining_cx_pools'].map((g) => `circuit_breakers.default.${g}`),
]);

/** The gauges as `[name, value]` (names relative to `cluster.<name>.`). */
export function breakerEntries(b: BreakerState): [string, number][] {
  const l = b.limits;
  const open = (n: number, max: number): number => (n >= max ? 1 : 0);
  const out: [string, number][] = [
    ['circuit_breakers.default.cx_open', open(b.connections, l.maxConnections)],
    // One pool per endpoint and protocol, and no max_connection_pools limit: never open.
    ['circuit_breakers.default.cx_pool_open', 0],
    ['circuit_breakers.default.rq_pending_open', open(b.pending, l.maxPendingRequests)],
    ['circuit_breakers.default.rq_open', open(b.requests, l.maxRequests)],
    ['circuit_breakers.default.rq_retry_open', open(b.retries, l.maxRetries)],
  ];
  for (const g of PRIORITY_GAUGES) out.push([`circuit_breakers.high.${g}`, 0]);
  if (l.trackRemaining === true) {
    const left = (n: number, max: number): number => Math.max(0, max - n);
    out.push(
      ['circuit_breakers.default.remaining_cx', left(b.connections, l.maxConnections)],
      ['circuit_breakers.default.remaining_pending', left(b.pending, l.maxPendingRequests)],
      ['circuit_breakers.default.remaining_rq', left(b.requests, l.maxRequests)],
      ['circuit_breakers.default.remaining_retries', left(b.retries, l.maxRetries)],
      // Envoy's max_connection_pools default: unlimited (2^32 - 1).
      ['circuit_breakers.default.remaining_cx_pools', 4294967295],
    );
  }
  return out;
}
