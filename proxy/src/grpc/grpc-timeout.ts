/**
 * The `grpc-timeout` request header (gRPC over HTTP/2: 1 to 8 digits and a unit, H M S m u n)
 * and Envoy's route timeout for gRPC requests when the route sets `max_grpc_timeout`
 * (router.cc FilterUtility::finalTimeout).
 */

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** The header's value in milliseconds (rounded up, as a deadline), or undefined when malformed. */
export function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (v === undefined || v.length < 2 || v.length > 9) return undefined;
  const unit = UNIT_MS[v[v.length - 1]];
  if (unit === undefined) return undefined;
  const digits = v.slice(0, -1);
  if (!/^\d+$/.test(digits)) return undefined;
  return Math.ceil(Number(digits) * unit);
}

/**
 * The route timeout of a gRPC request under `max_grpc_timeout` (0 = no maximum): the header's
 * timeout less the offset (only when that leaves more than 0), capped at the maximum; with no
 * header, the maximum (0: none).
 */
export function grpcRouteTimeoutMs(header: string | undefined, maxMs: number, offsetMs: number): number {
  let t = parseGrpcTimeout(header) ?? 0;
  if (offsetMs > 0 && offsetMs < t) t -= offsetMs;
  if (maxMs !== 0 && (t === 0 || t > maxMs)) t = maxMs;
  return t;
}

/** A timeout in milliseconds as a `grpc-timeout` value (Envoy writes milliseconds). */
export function formatGrpcTimeout(ms: number): string {
  // At most 8 digits: larger values go to seconds, then hours.
  if (ms < 1e8) return `${ms}m`;
  const s = Math.ceil(ms / 1000);
  return s < 1e8 ? `${s}S` : `${Math.min(Math.ceil(s / 3600), 99_999_999)}H`;
}
