/**
 * A local reply to a gRPC caller, as Envoy gives it (source/common/http/utility.cc
 * prepareLocalReply): trailers-only, `:status 200`, `content-type: application/grpc`,
 * `grpc-status` from the HTTP status unless the reply sets one, `grpc-message` the
 * percent-encoded body, and no body.
 */
import { httpToGrpcStatus, percentEncodeGrpcMessage } from './grpc-request.js';

export interface GrpcReplyHeaders {
  /** The headers to send (the given `extra` first, then the gRPC ones). */
  readonly headers: Record<string, string>;
  /** The grpc-status sent. */
  readonly grpcStatus: number;
}

/** `override`: the reply's own gRPC status (Envoy's sendLocalReply grpc_status, e.g. DEADLINE_EXCEEDED). */
export function grpcLocalReplyHeaders(status: number, body: string, extra: Record<string, string> | undefined, override?: number): GrpcReplyHeaders {
  const headers: Record<string, string> = { ...extra, 'content-type': 'application/grpc' };
  const given = extra?.['grpc-status'];
  const grpcStatus = given !== undefined && /^\d{1,2}$/.test(given) ? Number(given) : (override ?? httpToGrpcStatus(status));
  headers['grpc-status'] = String(grpcStatus);
  if (body.length > 0) headers['grpc-message'] = percentEncodeGrpcMessage(body);
  return { headers, grpcStatus };
}
