/** Small helpers of a request's Istio telemetry (active-stream.ts, router-stream.ts): what to send, what to count. */
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@minimesh/mesh';
import type { HcmContext } from '../../http/hcm-context.js';
import type { RequestHeaders } from '../../http/codec/headers.js';
import type { RequestAttributes } from './attributes.js';

/**
 * A client sidecar (or gateway) sends its peer metadata upstream, except to Istio's catch-all
 * clusters (destinations outside the mesh must not learn about the workload).
 */
export function sendsPeerMetadata(ctx: HcmContext, clusterName: string): boolean {
  const t = ctx.hcm.telemetry;
  return t.metadataExchange && t.reporter === 'source' && clusterName !== PASSTHROUGH_CLUSTER && clusterName !== BLACKHOLE_CLUSTER;
}

/** The request head's size on the wire (request line, header lines, blank line). */
export function headBytes(head: RequestHeaders): number {
  let n = head.method.length + head.path.length + 12;
  const names = head.names;
  const values = head.values;
  for (let i = 0; i < names.length; i++) n += names[i].length + values[i].length + 4;
  return n + 2;
}

/** Attributes for a stream whose metrics add no tag (never read). */
export const NO_ATTRIBUTES: RequestAttributes = { method: '', path: '', protocol: '', responseCode: 0, reqHeader: () => undefined };

/**
 * A local reply of a server sidecar answers the metadata exchange too (the client learns who
 * failed: 503 UF, 504 UT, 404 NR), when the client sent its own.
 */
export function peerReplyHeaders(ctx: HcmContext, requestPeer: string | undefined, extra: Record<string, string> | undefined): Record<string, string> | undefined {
  const t = ctx.hcm.telemetry;
  if (!t.metadataExchange || ctx.hcm.direction !== 'INBOUND' || requestPeer === undefined) return extra;
  return { ...extra, [PEER_METADATA_HEADER]: ctx.istio.localHeader, [PEER_METADATA_ID_HEADER]: ctx.istio.localId };
}
