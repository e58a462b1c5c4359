/**
 * A stream's maximum duration, as Envoy's connection manager computes it once the route is
 * known (ConnectionManagerImpl::ActiveStream::refreshDurationTimeout): the route's
 * `max_stream_duration` message, else the connection manager's
 * `common_http_protocol_options.max_stream_duration`; a request with `grpc-timeout` on a route
 * that sets `grpc_timeout_header_max` takes its duration from the header (capped, less the
 * offset). Pure.
 */
import type { HttpConnectionManagerRt, MaxStreamDurationRt } from '@minimesh/config/runtime';
import { parseGrpcTimeout } from '../grpc/grpc-timeout.js';

export interface StreamDuration {
  /** The stream's life at most, from its start (0: it is over at once). */
  readonly ms: number;
  /**
   * The `grpc-timeout` to send upstream (the duration before the time already spent is taken
   * off): set for a gRPC request on a route with `max_stream_duration`, undefined otherwise.
   */
  readonly grpcTimeoutMs: number | undefined;
}

/** The duration limit of a stream, or undefined when it has none. */
export function streamDuration(
  hcm: HttpConnectionManagerRt,
  msd: MaxStreamDurationRt | undefined,
  grpcTimeoutHeader: string | undefined,
  isGrpc: boolean,
): StreamDuration | undefined {
  const grpcTimeout = grpcTimeoutHeader === undefined ? undefined : parseGrpcTimeout(grpcTimeoutHeader);
  const headerMax = msd?.grpcTimeoutHeaderMaxMs;
  let ms: number;
  if (grpcTimeout === undefined || headerMax === undefined) {
    const routeMax = msd?.maxStreamDurationMs;
    if (routeMax !== undefined) {
      // An explicit 0 on the route turns the limit off (the connection manager's too).
      if (routeMax === 0) return undefined;
      ms = routeMax;
    } else if (hcm.maxStreamDurationMs > 0) ms = hcm.maxStreamDurationMs;
    else return undefined;
  } else {
    ms = grpcTimeout;
    if (headerMax !== 0 && ms > headerMax) ms = headerMax;
    const offset = msd?.grpcTimeoutHeaderOffsetMs;
    if (ms !== 0 && offset !== undefined) ms = offset < ms ? ms - offset : 0;
  }
  return { ms, grpcTimeoutMs: msd !== undefined && isGrpc ? ms : undefined };
}
