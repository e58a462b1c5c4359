/** `envoy.filters.http.fault` (HTTPFault) -> HttpFaultRt, for the filter and for per-route config. */
import { TYPE_URL, unpackAny, type AnyLike, type HttpFault } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { durationMs } from './duration.js';
import { compileHeaderMatcher } from './compile-route-match.js';
import type { FaultAbortRt, FaultDelayRt, FaultPercentRt, HttpFaultRt } from './fault-runtime.js';
import type { HeaderMatcherRt } from './match-runtime.js';

export { FAULT_FILTER } from './fault-runtime.js';

const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

type Percent = { numerator?: number; denominator?: string | number } | null | undefined;

/** Unset means 0 %, as in Envoy (a FractionalPercent's numerator defaults to 0). */
function compilePercent(p: Percent, path: string, errors: Errors): FaultPercentRt {
  if (p === undefined || p === null) return { numerator: 0, denominator: 100 };
  allowOnly(p, path, ['numerator', 'denominator'], errors);
  const denominator = typeof p.denominator === 'number' ? [100, 10_000, 1_000_000][p.denominator] : DENOMINATORS[p.denominator ?? 'HUNDRED'];
  if (denominator === undefined) {
    errors.add(join(path, 'denominator'), `must be HUNDRED, TEN_THOUSAND or MILLION, not ${JSON.stringify(p.denominator)}`);
    return { numerator: 0, denominator: 100 };
  }
  return { numerator: Math.min(p.numerator ?? 0, denominator), denominator };
}

function compileDelay(d: NonNullable<HttpFault['delay']>, path: string, errors: Errors): FaultDelayRt {
  allowOnly(d, path, ['fixed_delay', 'header_delay', 'percentage'], errors, ['fault_delay_secifier']);
  const percentage = compilePercent(d.percentage, join(path, 'percentage'), errors);
  if (d.fault_delay_secifier === 'header_delay') return { fixedMs: undefined, percentage };
  if (d.fixed_delay === undefined || d.fixed_delay === null) {
    errors.add(path, 'one of fixed_delay or header_delay is required');
    return { fixedMs: 0, percentage };
  }
  return { fixedMs: durationMs(d.fixed_delay, 0, join(path, 'fixed_delay'), errors), percentage };
}

function compileAbort(a: NonNullable<HttpFault['abort']>, path: string, errors: Errors): FaultAbortRt {
  allowOnly(a, path, ['http_status', 'grpc_status', 'header_abort', 'percentage'], errors, ['error_type']);
  const percentage = compilePercent(a.percentage, join(path, 'percentage'), errors);
  switch (a.error_type) {
    case 'http_status': {
      const s = a.http_status ?? 0;
      if (s < 200 || s >= 600) errors.add(join(path, 'http_status'), `must be in [200, 600), not ${s}`);
      return { kind: 'http', httpStatus: s, grpcStatus: 0, percentage };
    }
    case 'grpc_status':
      return { kind: 'grpc', httpStatus: 200, grpcStatus: a.grpc_status ?? 0, percentage };
    case 'header_abort':
      return { kind: 'header', httpStatus: 0, grpcStatus: 0, percentage };
    default:
      errors.add(path, 'one of http_status, grpc_status or header_abort is required');
      return { kind: 'http', httpStatus: 503, grpcStatus: 0, percentage };
  }
}

/** An `Any` holding HTTPFault: the filter's `typed_config` or a `typed_per_filter_config` value. */
export function compileHttpFault(any: AnyLike | undefined | null, path: string, errors: Errors): HttpFaultRt | undefined {
  // The filter in the chain with no config at all (Istio's sidecars): no fault of its own.
  if (any === undefined || any === null) return emptyFault();
  if (any.type_url !== TYPE_URL.HttpFault) {
    errors.add(path, `expected ${TYPE_URL.HttpFault}`);
    return undefined;
  }
  const f = unpackAny<HttpFault>(any);
  allowOnly(f, path, ['delay', 'abort', 'upstream_cluster', 'headers', 'downstream_nodes', 'max_active_faults', 'disable_downstream_cluster_stats'], errors, [], {
    response_rate_limit: 'response_rate_limit is not supported by minimesh yet',
  });
  const headers: HeaderMatcherRt[] = [];
  (f.headers ?? []).forEach((h, i) => {
    const m = compileHeaderMatcher(h, `${join(path, 'headers')}[${i}]`, errors);
    if (m) headers.push(m);
  });
  return {
    delay: f.delay ? compileDelay(f.delay, join(path, 'delay'), errors) : undefined,
    abort: f.abort ? compileAbort(f.abort, join(path, 'abort'), errors) : undefined,
    upstreamCluster: f.upstream_cluster ?? '',
    headers,
    downstreamNodes: f.downstream_nodes ?? [],
    maxActiveFaults: f.max_active_faults?.value ?? undefined,
  };
}

function emptyFault(): HttpFaultRt {
  return { delay: undefined, abort: undefined, upstreamCluster: '', headers: [], downstreamNodes: [], maxActiveFaults: undefined };
}
