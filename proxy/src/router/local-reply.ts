/**
 * Envoy's local replies: the status and body the proxy answers with itself, and the flag
 * the access log records. Bodies are Envoy's own texts, so a user's grep still works.
 */
import type { ResponseFlag } from '@minimesh/mesh';
import type { UpstreamFailure } from '../upstream/upstream-codec.js';

export interface LocalReply {
  readonly status: number;
  readonly body: string;
  readonly flag: ResponseFlag | undefined;
  /** Envoy's %RESPONSE_CODE_DETAILS% */
  readonly details: string;
  /** The grpc-status a gRPC caller gets, when not the one mapped from `status`. */
  readonly grpcStatus?: number;
}

export const LOCAL_REPLIES = {
  noRoute: { status: 404, body: '', flag: 'NR', details: 'route_not_found' },
  noCluster: { status: 503, body: '', flag: 'NC', details: 'cluster_not_found' },
  noHealthyUpstream: { status: 503, body: 'no healthy upstream', flag: 'UH', details: 'no_healthy_upstream' },
  overflow: { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow', flag: 'UO', details: 'upstream_reset_before_response_started{overflow}' },
  timeout: { status: 504, body: 'upstream request timeout', flag: 'UT', details: 'upstream_response_timeout' },
  perTryTimeout: { status: 504, body: 'upstream request timeout', flag: 'UT', details: 'upstream_per_try_timeout' },
} as const satisfies Record<string, { status: number; body: string; flag: string; details: string }>;

/** A reset kind as Envoy names it in local replies and %RESPONSE_CODE_DETAILS%, and its response flag. */
const RESET: Record<UpstreamFailure, { readonly text: string; readonly flag: ResponseFlag }> = {
  'connect-failure': { text: 'connection failure', flag: 'UF' },
  reset: { text: 'connection termination', flag: 'UC' },
  'remote-reset': { text: 'remote reset', flag: 'UR' },
  'refused-stream': { text: 'remote refused stream reset', flag: 'UR' },
  'protocol-error': { text: 'protocol error', flag: 'UPE' },
  overflow: { text: 'overflow', flag: 'UO' },
};

/** The response flag of a reset kind (UF, UC, UR, UPE, UO). */
export function resetFlag(kind: UpstreamFailure): ResponseFlag {
  return RESET[kind].flag;
}

/** The reply for a try that failed before response headers (UF, UC, UR, UPE; overflow is LOCAL_REPLIES.overflow). */
export function upstreamResetReply(kind: UpstreamFailure, reason: string, retried: boolean): LocalReply {
  if (kind === 'overflow') return LOCAL_REPLIES.overflow;
  const resetReason = RESET[kind].text;
  const flag = RESET[kind].flag;
  const lead = retried ? 'retried and the latest reset reason' : 'reset reason';
  const transport = kind === 'connect-failure' && reason ? `, transport failure reason: ${reason}` : '';
  return {
    status: kind === 'protocol-error' ? 502 : 503,
    body: `upstream connect error or disconnect/reset before headers. ${lead}: ${resetReason}${transport}`,
    flag,
    details: `upstream_reset_before_response_started{${resetReason.replace(/ /g, '_')}}`,
  };
}
