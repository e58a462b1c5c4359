/**
 * Builds the response head sent downstream from the upstream's: hop-by-hop headers
 * dropped, the `server` header per `server_header_transformation`, the route's response
 * header mutations, `x-envoy-upstream-service-time`, and the framing the client gets.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { ResponseHead } from '../http/head-parser.js';
import { applyHeaderMutations, isEmptyMutation, type HeaderMutationLevel } from './header-mutation.js';
import { connectionTokens, HOP_BY_HOP } from './upstream-request-head.js';

/** How the body reaches the client. */
export type DownstreamFraming = 'none' | 'length' | 'chunked-passthrough' | 'chunked-encode' | 'close';

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
}

export interface ResponseHeadInput {
  readonly head: ResponseHead;
  readonly hcm: HttpConnectionManagerRt;
  readonly serverName: string;
  readonly mutations: readonly HeaderMutationLevel[];
  readonly upstreamServiceTimeMs: number;
  readonly framing: DownstreamFraming;
  /** `connection: close` (true), `connection: keep-alive` for HTTP/1.0 clients ('keep-alive'), or nothing. */
  readonly connection: 'close' | 'keep-alive' | undefined;
}

export function buildDownstreamResponseHead(input: ResponseHeadInput): string {
  const { head, hcm } = input;
  const names = head.names;
  const values = head.values;
  const named = connectionTokens(names, values);
  const out = { names: [] as string[], values: [] as string[] };
  let hasServer = false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (HOP_BY_HOP.has(n) || (named !== null && named.has(n))) continue;
    if (n === 'server') {
      if (hcm.serverHeaderTransformation === 'OVERWRITE') continue;
      hasServer = true;
    }
    if (n === 'content-length' && (input.framing === 'chunked-encode' || input.framing === 'close')) continue;
    out.names.push(n);
    out.values.push(values[i]);
  }
  if (hcm.serverHeaderTransformation === 'OVERWRITE' || (hcm.serverHeaderTransformation === 'APPEND_IF_ABSENT' && !hasServer)) {
    out.names.push('server');
    out.values.push(input.serverName);
  }
  if (!isEmptyMutation(input.mutations)) applyHeaderMutations(out, input.mutations);
  out.names.push('x-envoy-upstream-service-time');
  out.values.push(String(input.upstreamServiceTimeMs));
  if (input.framing === 'chunked-passthrough' || input.framing === 'chunked-encode') {
    out.names.push('transfer-encoding');
    out.values.push('chunked');
  }
  if (input.connection !== undefined) {
    out.names.push('connection');
    out.values.push(input.connection);
  }
  let text = statusLine(head.status);
  for (let i = 0; i < out.names.length; i++) text += `${out.names[i]}: ${out.values[i]}\r\n`;
  return text + '\r\n';
}
