/**
 * Builds the request head sent upstream from the downstream request: hop-by-hop headers
 * and those named in `Connection` dropped, Envoy's control headers consumed, the
 * x-forwarded-* and x-request-id headers set, the route's rewrites and header mutations
 * applied. Returns the head without its final blank line: each try appends its own
 * `x-envoy-attempt-count` and `x-envoy-expected-rq-timeout-ms`.
 */
import { randomUUID } from 'node:crypto';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@minimesh/mesh';
import type { ForwardActionRt, HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { RequestHead } from '../http/head-parser.js';
import { applyHeaderMutations, type HeaderMutationLevel, type MutableHeaders } from './header-mutation.js';

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

/**
 * Headers a `Connection` header may not remove: the message's framing and its Host. Letting
 * `Connection: content-length` strip the length while the body is still forwarded would
 * let the body be read upstream as a second request (smuggling).
 */
const PROTECTED = new Set(['content-length', 'transfer-encoding', 'host']);

/** Names listed in the `Connection` header(s), lower case, except PROTECTED ones. */
export function connectionTokens(names: readonly string[], values: readonly string[]): Set<string> | null {
  let out: Set<string> | null = null;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== 'connection') continue;
    const v = values[i];
    // The usual values name no header: skip the split.
    if (v.length <= 10 && /^(keep-alive|close)$/i.test(v)) continue;
    for (const t of v.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok !== '' && tok !== 'close' && tok !== 'keep-alive' && !PROTECTED.has(tok)) (out ??= new Set()).add(tok);
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
  /** Empty when the route changes no request header. */
  readonly mutations: readonly HeaderMutationLevel[];
  /** Host rewrite of the chosen cluster weight, else of the route. */
  readonly hostRewrite: string | undefined;
  readonly remoteAddress: string;
  readonly chunked: boolean;
  /**
   * Istio's metadata exchange is on: the peer-metadata headers the client sent are removed (and
   * the value returned), and `peerHeaders` (this proxy's own, outbound) are sent instead.
   */
  readonly metadataExchange?: boolean;
  readonly peerHeaders?: string;
}

/** The request head for upstream, plus the values the router needs from it. */
export interface UpstreamRequest {
  readonly headText: string;
  readonly requestId: string;
  readonly path: string;
  /** Envoy's control headers as the client sent them (consumed, not forwarded). */
  readonly envoyTimeout: string | undefined;
  readonly envoyRetryOn: string | undefined;
  readonly envoyMaxRetries: string | undefined;
  readonly envoyPerTryTimeout: string | undefined;
  readonly envoyRetriableStatusCodes: string | undefined;
  /** The `x-envoy-peer-metadata` the client sent (removed), with the metadata exchange on. */
  readonly peerMetadata: string | undefined;
}

/**
 * One pass over the client's headers. With no header mutations on the route (the usual
 * case) the head text is written as the headers are read; otherwise they are collected,
 * mutated, then written.
 */
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

  const mutate = input.mutations.length > 0;
  const out: MutableHeaders = { names: [], values: [] };
  let text = '';
  const emit = (n: string, v: string): void => {
    if (mutate) {
      out.names.push(n);
      out.values.push(v);
    } else text += `${n}: ${v}\r\n`;
  };
  let requestId: string | undefined;
  let xff: string | undefined;
  let hasProto = false;
  let envoyTimeout: string | undefined;
  let envoyRetryOn: string | undefined;
  let envoyMaxRetries: string | undefined;
  let envoyPerTryTimeout: string | undefined;
  let envoyRetriableStatusCodes: string | undefined;
  const mx = input.metadataExchange === true;
  let peerMetadata: string | undefined;
  const hostRewrite = input.hostRewrite;
  const dropHost = hostRewrite !== undefined || head.targetAuthority !== '';
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (HOP_BY_HOP.has(n) || (named !== null && named.has(n))) continue;
    if (n.charCodeAt(0) === 0x78 /* x */ && n.startsWith('x-')) {
      if (ENVOY_CONTROL.has(n)) {
        if (n === 'x-envoy-upstream-rq-timeout-ms') envoyTimeout = values[i];
        else if (n === 'x-envoy-retry-on') envoyRetryOn = values[i];
        else if (n === 'x-envoy-max-retries') envoyMaxRetries = values[i];
        else if (n === 'x-envoy-upstream-rq-per-try-timeout-ms') envoyPerTryTimeout = values[i];
        else if (n === 'x-envoy-retriable-status-codes') envoyRetriableStatusCodes = values[i];
        continue;
      }
      if (n === 'x-request-id') {
        if (requestId === undefined) requestId = values[i];
        continue;
      }
      if (n === 'x-forwarded-for') {
        xff = xff === undefined ? values[i] : `${xff},${values[i]}`;
        continue;
      }
      if (mx && (n === PEER_METADATA_HEADER || n === PEER_METADATA_ID_HEADER)) {
        if (n === PEER_METADATA_HEADER) peerMetadata = values[i];
        continue;
      }
      if (n === 'x-forwarded-proto') hasProto = true;
      else if (n === 'x-envoy-original-path' && originalPath !== undefined) continue;
    } else if (n === 'host') {
      if (dropHost) continue;
    } else if (n === 'expect') continue; // answered locally with 100 Continue
    emit(n, values[i]);
  }
  if (hostRewrite !== undefined) emit('host', hostRewrite);
  else if (head.targetAuthority !== '') emit('host', head.targetAuthority);
  if (hcm.useRemoteAddress) xff = xff === undefined ? input.remoteAddress : `${xff},${input.remoteAddress}`;
  if (xff !== undefined) emit('x-forwarded-for', xff);
  if (!hasProto) emit('x-forwarded-proto', 'http');
  if (requestId === undefined || (!hcm.preserveExternalRequestId && hcm.useRemoteAddress)) {
    requestId = hcm.generateRequestId ? randomUUID() : requestId;
  }
  if (requestId !== undefined) emit('x-request-id', requestId);
  if (originalPath !== undefined) emit('x-envoy-original-path', originalPath);
  if (mutate) {
    applyHeaderMutations(out, input.mutations);
    for (let i = 0; i < out.names.length; i++) text += `${out.names[i]}: ${out.values[i]}\r\n`;
  }
  if (input.peerHeaders !== undefined) text += input.peerHeaders;
  if (input.chunked) text += 'transfer-encoding: chunked\r\n';
  return { headText: `${head.method} ${path} HTTP/1.1\r\n${text}`, requestId: requestId ?? '', path, envoyTimeout, envoyRetryOn, envoyMaxRetries, envoyPerTryTimeout, envoyRetriableStatusCodes, peerMetadata };
}
