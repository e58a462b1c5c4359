/**
 * Builds the request head sent upstream from the client's (neutral) head: hop-by-hop
 * headers and those named in `Connection` dropped, Envoy's control headers consumed, the
 * x-forwarded-* and x-request-id headers set, the route's rewrites and header mutations
 * applied, the authority (Host) chosen. The result is a neutral head the upstream codec
 * frames; the router adds each try's `x-envoy-attempt-count` to it.
 */
import { randomUUID } from 'node:crypto';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@minimesh/mesh';
import type { ForwardActionRt, HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { RequestHeaders } from '../http/codec/headers.js';
import type { UpstreamRequestHeaders } from '../upstream/upstream-codec.js';
import { applyHeaderMutations, type HeaderMutationLevel } from './header-mutation.js';
import type { HeaderFormatSource } from './header-format.js';
import { teHasTrailers } from '../upstream/h2/h2-headers.js';
import type { ClientCertInfo } from '../security/xfcc.js';
import { upstreamXfcc } from '../security/downstream-client-cert.js';

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
  readonly head: RequestHeaders;
  readonly hcm: HttpConnectionManagerRt;
  readonly action: ForwardActionRt;
  /** The matched prefix of a prefix route, for prefix_rewrite. */
  readonly matchedPrefix: string | undefined;
  /** Empty when the route changes no request header. */
  readonly mutations: readonly HeaderMutationLevel[];
  /** What `%OPERATOR%` values in the mutations read (undefined when they have none). */
  readonly format?: HeaderFormatSource;
  /** Host rewrite of the chosen cluster weight, else of the route. */
  readonly hostRewrite: string | undefined;
  readonly remoteAddress: string;
  /**
   * Istio's metadata exchange is on: the peer-metadata headers the client sent are removed (and
   * the value returned), and `peerHeaders` (this proxy's own, outbound) are sent instead.
   */
  readonly metadataExchange?: boolean;
  /** [metadata, id] of this proxy, sent as the peer-metadata headers; undefined: none. */
  readonly peerHeaders?: readonly [string, string];
  /** An allowed upgrade: its `Upgrade` value is sent on with `connection: upgrade` (HTTP/1.1 upstream). */
  readonly upgrade?: string;
  /** The verified client certificate of the downstream connection (for `x-forwarded-client-cert`). */
  readonly clientCert?: ClientCertInfo;
}

/** The request head for upstream, plus the values the router needs from it. */
export interface UpstreamRequest extends UpstreamRequestHeaders {
  readonly names: string[];
  readonly values: string[];
  readonly requestId: string;
  /** Envoy's control headers as the client sent them (consumed, not forwarded). */
  readonly envoyTimeout: string | undefined;
  readonly envoyRetryOn: string | undefined;
  readonly envoyRetryGrpcOn: string | undefined;
  readonly envoyMaxRetries: string | undefined;
  readonly envoyPerTryTimeout: string | undefined;
  readonly envoyRetriableStatusCodes: string | undefined;
  /** The `x-envoy-peer-metadata` the client sent (removed), with the metadata exchange on. */
  readonly peerMetadata: string | undefined;
}

/** One pass over the client's headers into the upstream head's lists, then the route's mutations. */
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

  const outNames: string[] = [];
  const outValues: string[] = [];
  let requestId: string | undefined;
  let xff: string | undefined;
  let xfcc: string | undefined;
  let hasProto = false;
  let envoyTimeout: string | undefined;
  let envoyRetryOn: string | undefined;
  let envoyRetryGrpcOn: string | undefined;
  let envoyMaxRetries: string | undefined;
  let envoyPerTryTimeout: string | undefined;
  let envoyRetriableStatusCodes: string | undefined;
  let teTrailers = false;
  const mx = input.metadataExchange === true;
  let peerMetadata: string | undefined;
  const hostRewrite = input.hostRewrite;
  const authority = hostRewrite ?? head.authority;
  let hostSeen = false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (HOP_BY_HOP.has(n) || (named !== null && named.has(n))) {
      if (n === 'te' && teHasTrailers(values[i])) teTrailers = true;
      continue;
    }
    if (n.charCodeAt(0) === 0x78 /* x */ && n.startsWith('x-')) {
      if (ENVOY_CONTROL.has(n)) {
        if (n === 'x-envoy-upstream-rq-timeout-ms') envoyTimeout = values[i];
        else if (n === 'x-envoy-retry-on') envoyRetryOn = values[i];
        else if (n === 'x-envoy-retry-grpc-on') envoyRetryGrpcOn = values[i];
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
      if (n === 'x-forwarded-client-cert') {
        xfcc = xfcc === undefined ? values[i] : `${xfcc},${values[i]}`;
        continue;
      }
      if (mx && (n === PEER_METADATA_HEADER || n === PEER_METADATA_ID_HEADER)) {
        if (n === PEER_METADATA_HEADER) peerMetadata = values[i];
        continue;
      }
      if (n === 'x-forwarded-proto') hasProto = true;
      else if (n === 'x-envoy-original-path' && originalPath !== undefined) continue;
    } else if (n === 'host') {
      // The client's Host stays where it was when it is the authority sent upstream.
      if (hostSeen || hostRewrite !== undefined || values[i] !== authority) continue;
      hostSeen = true;
    } else if (n === 'expect') continue; // answered locally with 100 Continue
    outNames.push(n);
    outValues.push(values[i]);
  }
  if (input.upgrade !== undefined) {
    outNames.push('connection', 'upgrade');
    outValues.push('upgrade', input.upgrade);
  }
  if (!hostSeen && authority !== '') {
    outNames.push('host');
    outValues.push(authority);
  }
  if (hcm.useRemoteAddress) xff = xff === undefined ? input.remoteAddress : `${xff},${input.remoteAddress}`;
  if (xff !== undefined) {
    outNames.push('x-forwarded-for');
    outValues.push(xff);
  }
  // forward_client_cert_details (default SANITIZE: the client's header never goes on).
  const fwdCert = xfcc === undefined && hcm.clientCert === undefined ? undefined : upstreamXfcc(hcm.clientCert, xfcc, input.clientCert);
  if (fwdCert !== undefined) {
    outNames.push('x-forwarded-client-cert');
    outValues.push(fwdCert);
  }
  if (!hasProto) {
    outNames.push('x-forwarded-proto');
    outValues.push(head.scheme);
  }
  if (requestId === undefined || (!hcm.preserveExternalRequestId && hcm.useRemoteAddress)) {
    requestId = hcm.generateRequestId ? randomUUID() : requestId;
  }
  if (requestId !== undefined) {
    outNames.push('x-request-id');
    outValues.push(requestId);
  }
  if (originalPath !== undefined) {
    outNames.push('x-envoy-original-path');
    outValues.push(originalPath);
  }
  const out = { names: outNames, values: outValues };
  let upstreamAuthority = authority;
  if (input.mutations.length > 0) {
    applyHeaderMutations(out, input.mutations, input.format);
    // A mutation may have set Host: it is the authority then.
    const i = out.names.indexOf('host');
    if (i >= 0) upstreamAuthority = out.values[i];
  }
  const peer = input.peerHeaders;
  if (peer !== undefined) {
    out.names.push(PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER);
    out.values.push(peer[0], peer[1]);
  }
  return {
    method: head.method,
    path,
    authority: upstreamAuthority,
    scheme: head.scheme,
    names: out.names,
    values: out.values,
    teTrailers,
    upgrade: input.upgrade,
    requestId: requestId ?? '',
    envoyTimeout,
    envoyRetryOn,
    envoyRetryGrpcOn,
    envoyMaxRetries,
    envoyPerTryTimeout,
    envoyRetriableStatusCodes,
    peerMetadata,
  };
}
