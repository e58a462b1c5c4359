/** Envoy's HTTP fault filter (`envoy.filters.http.fault`), compiled. */
import type { HeaderMatcherRt } from './match-runtime.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';

/** A FractionalPercent as parts per million (Envoy rolls `random % denominator < numerator`). */
export interface FaultPercentRt {
  readonly numerator: number;
  /** 100, 10,000 or 1,000,000. */
  readonly denominator: number;
}

export interface FaultDelayRt {
  /** `fixed_delay`; undefined with `header_delay` (the delay comes from `x-envoy-fault-delay-request`). */
  readonly fixedMs: number | undefined;
  readonly percentage: FaultPercentRt;
}

export interface FaultAbortRt {
  /** `http_status`, `grpc_status`, or `header_abort` (the status comes from the request's headers). */
  readonly kind: 'http' | 'grpc' | 'header';
  readonly httpStatus: number;
  readonly grpcStatus: number;
  readonly percentage: FaultPercentRt;
}

/** HTTPFault: the filter's own config, or a route's / virtual host's `typed_per_filter_config` entry. */
export interface HttpFaultRt {
  readonly delay: FaultDelayRt | undefined;
  readonly abort: FaultAbortRt | undefined;
  /** Faults only for requests routed to this cluster ('' = any). */
  readonly upstreamCluster: string;
  /** Faults only when every matcher matches. */
  readonly headers: readonly HeaderMatcherRt[];
  /** Faults only for these `x-envoy-downstream-service-node` values (empty = any). */
  readonly downstreamNodes: readonly string[];
  /** `max_active_faults` (undefined = no limit). */
  readonly maxActiveFaults: number | undefined;
}
