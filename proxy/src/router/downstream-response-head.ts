/**
 * Builds the response head sent downstream from the upstream's: hop-by-hop headers
 * dropped, the `server` header per `server_header_transformation`, the route's response
 * header mutations, `x-envoy-upstream-service-time`, and the framing the client gets.
 */
import { STATUS_CODES } from 'node:http';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@minimesh/mesh';
import type { HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { ResponseHead } from '../http/head-parser.js';
import { applyHeaderMutations, type HeaderMutationLevel, type MutableHeaders } from './header-mutation.js';
import { connectionTokens, HOP_BY_HOP } from './upstream-request-head.js';

/** How the body reaches the client. */
export type DownstreamFraming = 'none' | 'length' | 'chunked-passthrough' | 'chunked-encode' | 'close';

const STATUS_LINES: string[] = [];

/** `HTTP/1.1 200 OK\r\n`, built once per status code. */
export function statusLine(status: number): string {
  return (STATUS_LINES[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

export interface ResponseHeadInput {
  readonly head: ResponseHead;
  readonly hcm: HttpConnectionManagerRt;
  readonly serverName: string;
  /** Empty when the route changes no response header. */
  readonly mutations: readonly HeaderMutationLevel[];
  readonly upstreamServiceTimeMs: number;
  readonly framing: DownstreamFraming;
  /** `connection: close` (true), `connection: keep-alive` for HTTP/1.0 clients ('keep-alive'), or nothing. */
  readonly connection: 'close' | 'keep-alive' | undefined;
  /** Istio's metadata exchange is on: the upstream's peer-metadata headers are removed. */
  readonly metadataExchange?: boolean;
  /** Header lines added last (this proxy's peer metadata, when the client asked), or ''. */
  readonly extraHeaders?: string;
}

export function buildDownstreamResponseHead(input: ResponseHeadInput): string {
  const { head, hcm } = input;
  const names = head.names;
  const values = head.values;
  const named = connectionTokens(names, values);
  const mutate = input.mutations.length > 0;
  const out: MutableHeaders = { names: [], values: [] };
  let text = statusLine(head.status);
  const transformation = hcm.serverHeaderTransformation;
  const dropLength = input.framing === 'chunked-encode' || input.framing === 'close';
  let hasServer = false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (HOP_BY_HOP.has(n) || (named !== null && named.has(n))) continue;
    if (n === 'server') {
      if (transformation === 'OVERWRITE') continue;
      hasServer = true;
    } else if (n === 'content-length' && dropLength) continue;
    // This hop's router sets it (Envoy overwrites the upstream's, e.g. the server sidecar's).
    else if (n === 'x-envoy-upstream-service-time') continue;
    else if (input.metadataExchange === true && (n === PEER_METADATA_HEADER || n === PEER_METADATA_ID_HEADER)) continue;
    if (mutate) {
      out.names.push(n);
      out.values.push(values[i]);
    } else text += `${n}: ${values[i]}\r\n`;
  }
  if (transformation === 'OVERWRITE' || (transformation === 'APPEND_IF_ABSENT' && !hasServer)) {
    if (mutate) {
      out.names.push('server');
      out.values.push(input.serverName);
    } else text += `server: ${input.serverName}\r\n`;
  }
  if (mutate) {
    applyHeaderMutations(out, input.mutations);
    for (let i = 0; i < out.names.length; i++) text += `${out.names[i]}: ${out.values[i]}\r\n`;
  }
  text += `x-envoy-upstream-service-time: ${input.upstreamServiceTimeMs}\r\n`;
  if (input.extraHeaders) text += input.extraHeaders;
  if (input.framing === 'chunked-passthrough' || input.framing === 'chunked-encode') text += 'transfer-encoding: chunked\r\n';
  if (input.connection !== undefined) text += `connection: ${input.connection}\r\n`;
  return text + '\r\n';
}
