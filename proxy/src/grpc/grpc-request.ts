/**
 * What makes a request gRPC (Envoy's Grpc::Common::hasGrpcContentType) and Envoy's
 * mapping of an HTTP status to a gRPC status (source/common/grpc/status.cc), used for the
 * proxy's own replies to gRPC callers.
 */
import type { HeaderList } from '../http/codec/headers.js';

/** `content-type` is `application/grpc`, or `application/grpc+...` / `application/grpc;...` (not grpc-web). */
export function isGrpcContentType(v: string | undefined): boolean {
  if (v === undefined || v.length < 16) return false;
  if (!v.startsWith('application/grpc')) return false;
  if (v.length === 16) return true;
  const c = v.charCodeAt(16);
  return c === 0x2b /* + */ || c === 0x3b /* ; */;
}

/** True when the head's (first) content-type says gRPC. */
export function isGrpcRequest(h: HeaderList): boolean {
  const names = h.names;
  for (let i = 0; i < names.length; i++) if (names[i] === 'content-type') return isGrpcContentType(h.values[i]);
  return false;
}

/** Envoy's httpToGrpcStatus. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/**
 * gRPC's percent-encoding of `grpc-message`: bytes outside printable ASCII (0x20-0x7E) and
 * `%` become `%XX` (upper-case hex). `s` holds bytes as latin1 characters (as the proxy's
 * reply bodies do), so a UTF-8 body is encoded byte by byte.
 */
export function percentEncodeGrpcMessage(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = '';
  for (const b of Buffer.from(s, 'latin1')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** A `grpc-status` value as a number 0..99, or -1 when absent or not a status. */
export function parseGrpcStatus(v: string | undefined): number {
  if (v === undefined || v.length === 0 || v.length > 2) return -1;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

/** gRPC status -> HTTP status, as Envoy maps them (Grpc::Utility::grpcToHttpStatus), for outlier detection. */
const GRPC_TO_HTTP = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** The HTTP status a trailers-only gRPC response counts as (`fallback` when the status is not a gRPC code). */
export function grpcHttpStatus(grpcStatus: string, fallback: number): number {
  const n = parseGrpcStatus(grpcStatus);
  return n < 0 ? fallback : (GRPC_TO_HTTP[n] ?? 500);
}
