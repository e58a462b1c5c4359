/**
 * Builds the response head sent downstream from the upstream's (both neutral): hop-by-hop
 * headers dropped, the `server` header per `server_header_transformation`, the route's
 * response header mutations and `x-envoy-upstream-service-time`. The downstream codec adds
 * its own framing and connection headers.
 */
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@minimesh/mesh';
import type { HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { ResponseHeaders } from '../http/codec/headers.js';
import { applyHeaderMutations, type HeaderMutationLevel } from './header-mutation.js';
import type { HeaderFormatSource } from './header-format.js';
import { connectionTokens, HOP_BY_HOP } from './upstream-request-head.js';

export interface ResponseHeadInput {
  readonly head: ResponseHeaders;
  readonly hcm: HttpConnectionManagerRt;
  readonly serverName: string;
  /** Empty when the route changes no response header. */
  readonly mutations: readonly HeaderMutationLevel[];
  /** What `%OPERATOR%` values in the mutations read (undefined when they have none). */
  readonly format?: HeaderFormatSource;
  readonly upstreamServiceTimeMs: number;
  /** Istio's metadata exchange is on: the upstream's peer-metadata headers are removed. */
  readonly metadataExchange?: boolean;
  /** [metadata, id] of this proxy, added last (a server sidecar answering the client's), or undefined. */
  readonly peerHeaders?: readonly [string, string];
}

export function buildDownstreamResponseHead(input: ResponseHeadInput): ResponseHeaders {
  const { head, hcm } = input;
  const names = head.names;
  const values = head.values;
  const named = connectionTokens(names, values);
  const outNames: string[] = [];
  const outValues: string[] = [];
  const transformation = hcm.serverHeaderTransformation;
  const mx = input.metadataExchange === true;
  let hasServer = false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (HOP_BY_HOP.has(n) || (named !== null && named.has(n))) continue;
    if (n === 'server') {
      if (transformation === 'OVERWRITE') continue;
      hasServer = true;
    }
    // This hop's router sets it (Envoy overwrites the upstream's, e.g. the server sidecar's).
    else if (n === 'x-envoy-upstream-service-time') continue;
    else if (mx && (n === PEER_METADATA_HEADER || n === PEER_METADATA_ID_HEADER)) continue;
    outNames.push(n);
    outValues.push(values[i]);
  }
  if (transformation === 'OVERWRITE' || (transformation === 'APPEND_IF_ABSENT' && !hasServer)) {
    outNames.push('server');
    outValues.push(input.serverName);
  }
  const out = { status: head.status, names: outNames, values: outValues };
  if (input.mutations.length > 0) applyHeaderMutations(out, input.mutations, input.format);
  out.names.push('x-envoy-upstream-service-time');
  out.values.push(String(input.upstreamServiceTimeMs));
  const peer = input.peerHeaders;
  if (peer !== undefined) {
    out.names.push(PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER);
    out.values.push(peer[0], peer[1]);
  }
  return out;
}
