/**
 * Builds the request head sent upstream from the downstream request: hop-by-hop headers
 * and those named in `Connection` dropped, Envoy's control headers consumed, the
 * x-forwarded-* and x-request-id headers set, the route's rewrites and header mutations
 * applied. Returns the head without its final blank line: each try appends its own
 * `x-envoy-attempt-count` and `x-envoy-expected-rq-timeout-ms`.
 */
import { randomUUID } from 'node:crypto';
import type { ForwardActionRt, HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { RequestHead } from '../http/head-parser.js';
import { applyHeaderMutations, isEmptyMutation, type HeaderMutationLevel } from './header-mutation.js';

/** Headers that describe one hop and never cross the proxy (RFC 9110 7.6.1, Envoy's list). */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'trailer', 'http2-settings']);

/** Envoy request headers that steer the router; consumed, never forwarded. */
const ENVOY_CONTROL = new Set([
  'x-envoy-retry-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-retriable-status-codes',
  'x-envoy-retry-grpc-on',
  'x-envoy-hedge-on-per-try-timeout',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-attempt-count',
  'x-envoy-upstream-rq-timeout-alt-response',
]);

/** Names listed in the `Connection` header(s), lower case. */
export function connectionTokens(names: readonly string[], values: readonly string[]): Set<string> | null {
  let out: Set<string> | null = null;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== 'connection') continue;
    const v = values[i];
    // The usual values name no header: skip the split.
    if (v.length <= 10 && /^(keep-alive|close)$/i.test(v)) continue;
    for (const t of v.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok !== '' && tok !== 'close' && tok !== 'keep-alive') (out ??= new Set()).add(tok);
    }
  }
  return out;
}

export interface UpstreamRequestInput {
  readonly head: RequestHead;
  readonly hcm: HttpConnectionManagerRt;
  readonly action: ForwardActionRt;
  /** The matched prefix of a prefix route, for prefix_rewrite. */
  readonly matchedPrefix: string | undefined;
  readonly mutations: readonly HeaderMutationLevel[];
  readonly remoteAddress: string;
  readonly chunked: boolean;
}

/** The request head for upstream, plus the values the router needs from it. */
export interface UpstreamRequest {
  readonly headText: string;
  readonly requestId: string;
  readonly path: string;
}

export function buildUpstreamRequest(input: UpstreamRequestInput): UpstreamRequest {
  const { head, hcm, action } = input;
  const names = head.names;
  const values = head.values;
  const named = connectionTokens(names, values);
  let path = head.path;
  let originalPath: string | undefined;
  if (action.prefixRewrite !== undefined && input.matchedPrefix !== undefined) {
    originalPath = path;
    path = action.prefixRewrite + path.slice(input.matchedPrefix.length);
  } else if (action.regexRewrite !== undefined) {
    const q = path.indexOf('?');
    const p = q === -1 ? path : path.slice(0, q);
    const rewritten = p.replace(action.regexRewrite.regex, action.regexRewrite.substitution);
    if (rewritten !== p) {
      originalPath = path;
      path = rewritten + (q === -1 ? '' : path.slice(q));
    }
  }

  const out = { names: [] as string[], values: [] as string[] };
  let requestId: string | undefined;
  let xff: string | undefined;
  let hasProto = false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (HOP_BY_HOP.has(n) || ENVOY_CONTROL.has(n) || (named !== null && named.has(n))) continue;
    if (n === 'x-request-id') {
      if (requestId !== undefined) continue;
      requestId = values[i];
      continue;
    }
    if (n === 'x-forwarded-for') {
      xff = xff === undefined ? values[i] : `${xff},${values[i]}`;
      continue;
    }
    if (n === 'x-forwarded-proto') hasProto = true;
    if (n === 'host') {
      if (action.hostRewriteLiteral !== undefined) continue;
      if (head.targetAuthority !== '') continue;
    }
    if (n === 'expect') continue; // answered locally with 100 Continue
    if (n === 'x-envoy-original-path' && originalPath !== undefined) continue;
    out.names.push(n);
    out.values.push(values[i]);
  }
  if (action.hostRewriteLiteral !== undefined) {
    out.names.push('host');
    out.values.push(action.hostRewriteLiteral);
  } else if (head.targetAuthority !== '') {
    out.names.push('host');
    out.values.push(head.targetAuthority);
  }
  if (hcm.useRemoteAddress) xff = xff === undefined ? input.remoteAddress : `${xff},${input.remoteAddress}`;
  if (xff !== undefined) {
    out.names.push('x-forwarded-for');
    out.values.push(xff);
  }
  if (!hasProto) {
    out.names.push('x-forwarded-proto');
    out.values.push('http');
  }
  if (requestId === undefined || (!hcm.preserveExternalRequestId && hcm.useRemoteAddress)) {
    requestId = hcm.generateRequestId ? randomUUID() : requestId;
  }
  if (requestId !== undefined) {
    out.names.push('x-request-id');
    out.values.push(requestId);
  }
  if (originalPath !== undefined) {
    out.names.push('x-envoy-original-path');
    out.values.push(originalPath);
  }
  if (!isEmptyMutation(input.mutations)) applyHeaderMutations(out, input.mutations);
  if (input.chunked) {
    out.names.push('transfer-encoding');
    out.values.push('chunked');
  }

  let text = `${head.method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < out.names.length; i++) text += `${out.names[i]}: ${out.values[i]}\r\n`;
  return { headText: text, requestId: requestId ?? '', path };
}
