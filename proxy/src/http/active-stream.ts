/**
 * One request at the connection manager (Envoy's ActiveStream), protocol-neutral: it
 * counts the request, picks its route (or answers a direct response, a redirect, a
 * missing route), enforces `request_timeout` and reacts to `stream_idle_timeout`, sends
 * the proxy's own replies, and when the stream is over writes the access log line and
 * Istio's metrics. The router (router-stream.ts) extends it with the upstream side.
 *
 * Everything reaches the client through the codec's ResponseEncoder, so the same code
 * serves HTTP/1.1 and HTTP/2 requests.
 */
import type { ForwardActionRt, RouteRt, VirtualHostRt } from '@minimesh/config/runtime';
import { matchRoute, selectVirtualHost } from '@minimesh/config';
import { PEER_METADATA_HEADER } from '@minimesh/mesh';
import type { HcmContext } from './hcm-context.js';
import { getHeader, type HeaderList, type RequestHeaders, type ResponseHeaders } from './codec/headers.js';
import type { RequestDecoder, ResponseEncoder } from './codec/server-codec.js';
import { localReplyHead } from './local-reply-head.js';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import { redirectLocation } from '../router/redirect-location.js';
import { flagBit, formatFlags } from '../router/response-flags.js';
import { LOCAL_REPLIES, type LocalReply } from '../router/local-reply.js';
import { UPGRADE_REFUSED } from '../router/upgrade.js';
import type { AccessRecord } from '../observability/access-log.js';
import type { HttpMetricsScope } from '../observability/istio/istio-metrics.js';
import { UNKNOWN_PEER, type WorkloadPeer } from '../observability/istio/workload-peer.js';
import { headBytes, NO_ATTRIBUTES, peerReplyHeaders } from '../observability/istio/stream-telemetry.js';
import { isGrpcRequest } from '../grpc/grpc-request.js';
import { GrpcStreamInfo } from '../grpc/grpc-stream-info.js';
import { grpcLocalReplyHeaders } from '../grpc/grpc-local-reply.js';
import { normalizePath } from '@minimesh/config/normalize-path';
import { authorizeRequest } from '../security/rbac-filter.js';
import { upstreamLocalPrincipal, upstreamPrincipal } from '../security/upstream-principal.js';
import { authenticateRequest, type JwtOutcome } from '../security/jwt/jwt-filter.js';
import { faultAbort, faultDelay, matchFault, type StreamFault } from './fault-filter.js';
import { httpsRedirect } from '../router/require-tls.js';
import type { DownstreamInfo } from './downstream-info.js';
import { CORS_PREFLIGHT_REPLY, corsRequest, withCorsHeaders } from './cors-filter.js';
import type { HeaderMutationLevel } from '../router/header-mutation.js';

export type { DownstreamInfo } from './downstream-info.js';

/** setTimeout's limit (about 24.8 days); a longer timeout would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export abstract class ActiveStream implements RequestDecoder {
  readonly startTime = Date.now();
  protected readonly startMono = performance.now();
  protected requestEndMono = 0;
  requestComplete = false;
  bytesReceived = 0;
  bytesSent = 0;
  done = false;
  /** The response head went out: no retry, no local reply any more. */
  responseStarted = false;
  responseStatus = 0;
  protected flags = 0;
  protected details = '';
  /** Peer metadata (Istio's exchange): what the client sent (inbound), what the upstream answered (outbound). */
  protected requestPeer: string | undefined;
  protected responsePeer: string | undefined;
  protected responseHeadBytes = 0;
  protected head: RequestHeaders | undefined;
  protected route: RouteRt | undefined;
  private requestTimer: NodeJS.Timeout | null = null;
  // What the router reports for the access log and the metrics (Envoy's stream info).
  protected cluster: Cluster | undefined;
  /** The host of the latest try. */
  protected lastHost: UpstreamHost | undefined;
  protected upstreamServiceTime: number | undefined;
  protected upstreamResponse: ResponseHeaders | undefined;
  protected requestId = '';
  /** Set for a gRPC request (content-type application/grpc): local replies and metrics follow gRPC. */
  protected grpc: GrpcStreamInfo | null = null;
  /** A filter (jwt_authn) is deciding asynchronously: the request waits, its body is held. */
  protected filtersPending = false;
  /** Dynamic metadata the filters wrote (jwt_authn's verified payloads), read by RBAC. */
  protected dynamicMetadata: Readonly<Record<string, unknown>> | undefined;
  /** The fault filter's hold on this request (delay timer, active fault), when one applies. */
  private fault: StreamFault | undefined;
  /** The CORS filter's headers for the response of an allowed origin (cors-filter.ts). */
  protected corsResponse: HeaderMutationLevel | undefined;

  constructor(
    readonly downstream: DownstreamInfo,
    readonly encoder: ResponseEncoder,
    readonly ctx: HcmContext,
  ) {}

  /** Sends the request upstream along `action` (the router). */
  protected abstract forward(vh: VirtualHostRt, route: RouteRt, action: ForwardActionRt): void;
  /** The whole request arrived (after `forward`). */
  protected abstract onRequestComplete(): void;
  /** The client is gone: the upstream side is dropped. */
  protected abstract onDownstreamReset(): void;
  /** A local reply replaces whatever the upstream side was doing. */
  protected abstract abandonUpstream(): void;
  /** The stream is over: the upstream side lets go of its timers and buffers. */
  protected abstract releaseUpstream(): void;

  // ---- from the codec ----

  decodeHeaders(head: RequestHeaders, endStream: boolean): void {
    this.head = head;
    const ctx = this.ctx;
    // `normalize_path`: routes, filters and the upstream all see the normalized path.
    if (ctx.hcm.normalizePath === true) (head as { path: string }).path = normalizePath(head.path);
    if (isGrpcRequest(head)) this.grpc = new GrpcStreamInfo();
    if (endStream) {
      this.requestComplete = true;
      this.requestEndMono = performance.now();
    } else if (ctx.hcm.requestTimeoutMs > 0) {
      this.requestTimer = setTimeout(onRequestTimeout, ctx.hcm.requestTimeoutMs, this);
    }
    ctx.stats.downstream_rq_total++;
    ctx.stats.downstream_rq_active++;
    // Inbound, the client's metadata is known before routing: local replies count and answer it too.
    if (ctx.hcm.telemetry.metadataExchange && ctx.hcm.direction === 'INBOUND') this.requestPeer = getHeader(head, PEER_METADATA_HEADER);
    if (ctx.jwt !== undefined) {
      const out = authenticateRequest(ctx.jwt, head);
      if (out instanceof Promise) {
        this.filtersPending = true;
        out.then(
          (o) => this.afterAuthn(o),
          () => this.afterAuthn({ reply: { local: { status: 500, body: 'jwt_authn failed', flag: undefined, details: 'jwt_authn_failed' }, headers: {} } }),
        );
        return;
      }
      if (out.reply !== undefined) return this.localReply(out.reply.local, out.reply.headers);
      this.dynamicMetadata = out.metadata;
    }
    this.routeRequest();
  }

  /** jwt_authn decided (asynchronously): the request goes on, or gets its reply. */
  private afterAuthn(o: JwtOutcome): void {
    this.filtersPending = false;
    if (this.done) return;
    if (o.reply !== undefined) return this.localReply(o.reply.local, o.reply.headers);
    this.dynamicMetadata = o.metadata;
    this.routeRequest();
  }

  /** After authentication: authorization (RBAC), then the route. */
  private routeRequest(): void {
    const ctx = this.ctx;
    const head = this.head!;
    const rc = ctx.hcm.routeConfig;
    const authority = head.authority;
    const view = { method: head.method, path: head.path, authority, headerNames: head.names, headerValues: head.values };
    if (ctx.rbac !== undefined) {
      const denied = authorizeRequest(ctx.rbac, ctx.hcm, this.downstream, view, this.dynamicMetadata);
      if (denied !== undefined) return this.localReply(denied);
    }
    const dst = this.downstream.originalDst;
    // Captured inbound, a request is routed by the port it was sent to (`*:PORT`), as Envoy's
    // per-port filter chains do; captured outbound, a Host the mesh does not know is routed by
    // where the client dialled (the cluster IP and port are among a service's domains).
    let vh = dst !== undefined && ctx.hcm.direction === 'INBOUND' ? selectVirtualHost(rc, dst) : selectVirtualHost(rc, authority);
    if (vh === undefined && dst !== undefined) vh = selectVirtualHost(rc, dst);
    if (vh?.requireTls === 'ALL' && this.downstream.secure !== true) return this.localReply(...httpsRedirect(authority, head.path));
    const route = vh === undefined ? undefined : matchRoute(vh, view);
    // A CONNECT the connection manager did not take (connect-terminate.ts) is never forwarded:
    // its bytes after the head are tunnel data, so the connection closes after the reply.
    if (head.method === 'CONNECT') this.encoder.closeAfterResponse();
    const fault = ctx.fault === undefined ? undefined : matchFault(ctx.fault, vh, route, head, view);
    if (fault !== undefined) {
      this.fault = fault;
      const delayMs = faultDelay(fault, head);
      if (delayMs !== undefined) {
        // The request and its body wait (as for an asynchronous filter); timers of the router start after.
        this.flags |= flagBit('DI');
        this.filtersPending = true;
        fault.timer = setTimeout(() => this.afterFaultDelay(fault, vh, route), Math.min(delayMs, MAX_TIMER_MS));
        return;
      }
      const abort = faultAbort(fault, head);
      if (abort !== undefined) return this.localReply(abort);
    }
    this.dispatchRoute(vh, route);
  }

  /** A fault's delay is over: an abort may follow, else the request goes on. */
  private afterFaultDelay(fault: StreamFault, vh: VirtualHostRt | undefined, route: RouteRt | undefined): void {
    fault.timer = null;
    this.filtersPending = false;
    if (this.done) return;
    const abort = faultAbort(fault, this.head!);
    if (abort !== undefined) return this.localReply(abort);
    fault.release();
    this.dispatchRoute(vh, route);
  }

  /** The route decided: a local answer (no route, direct response, redirect) or the router. */
  private dispatchRoute(vh: VirtualHostRt | undefined, route: RouteRt | undefined): void {
    const ctx = this.ctx;
    const head = this.head!;
    if (vh === undefined || route === undefined) {
      ctx.stats.no_route++;
      this.localReply(LOCAL_REPLIES.noRoute);
      return;
    }
    this.route = route;
    if (head.method === 'CONNECT') {
      ctx.stats.downstream_rq_ws_on_non_ws_route++;
      this.localReply(UPGRADE_REFUSED);
      return;
    }
    const action = route.action;
    if (action.kind === 'direct') {
      ctx.stats.rq_direct_response++;
      this.localReply({ status: action.status, body: action.body?.toString('latin1') ?? '', flag: undefined, details: 'direct_response' });
      return;
    }
    if (action.kind === 'redirect') {
      ctx.stats.rq_redirect++;
      const pm = route.match.path;
      const matched = pm.kind === 'prefix' || pm.kind === 'path_separated_prefix' ? pm.value : '';
      this.localReply({ status: action.status, body: '', flag: undefined, details: 'redirect' }, { location: redirectLocation(action, head.authority, head.path, matched) });
      return;
    }
    if (ctx.cors !== undefined) {
      const cors = corsRequest(ctx.cors, vh, route, head);
      if (cors?.preflight !== undefined) return this.localReply(CORS_PREFLIGHT_REPLY, cors.preflight);
      this.corsResponse = cors?.response;
    }
    this.forward(vh, route, action);
  }

  abstract decodeData(chunk: Buffer): void;
  abstract decodeTrailers(trailers: HeaderList): void;
  abstract onEncoderDrain(): void;

  decodeEnd(): void {
    this.requestComplete = true;
    this.requestEndMono = performance.now();
    this.clearRequestTimer();
    if (this.done) return;
    this.onRequestComplete();
  }

  onResetStream(): void {
    if (this.done) return;
    this.flags |= flagBit('DC');
    this.ctx.stats.downstream_rq_rx_reset++;
    this.onDownstreamReset();
    this.finish(false);
  }

  onIdleTimeout(): void {
    if (this.done) return;
    if (this.responseStarted) {
      this.encoder.resetStream();
      return;
    }
    this.encoder.closeAfterResponse();
    this.localReply({ status: 408, body: 'stream timeout', flag: 'SI', details: 'stream_idle_timeout' });
  }

  onProtocolError(status: number, details: string): void {
    this.localReply({ status, body: '', flag: 'DPE', details });
  }

  /** `request_timeout`: the whole request did not arrive in time. */
  requestTimedOut(): void {
    this.requestTimer = null;
    if (this.done) return;
    this.ctx.stats.downstream_rq_timeout++;
    if (this.responseStarted) {
      this.encoder.resetStream();
      return;
    }
    this.encoder.closeAfterResponse();
    this.localReply({ status: 408, body: 'request timeout', flag: undefined, details: 'request_overall_timeout' });
  }

  // ---- endings ----

  /** Answers with a reply of the proxy's own (no upstream response). */
  localReply(r: LocalReply, extra?: Record<string, string>): void {
    if (this.done) return;
    if (this.responseStarted) {
      this.finish(false);
      return;
    }
    this.abandonUpstream();
    // The CORS filter decorates the router's replies (503, 504, ...) for an allowed origin too.
    if (this.corsResponse !== undefined) extra = withCorsHeaders(extra, this.corsResponse);
    if (r.flag !== undefined) this.flags |= flagBit(r.flag);
    this.details = r.details;
    this.responseStarted = true;
    let body = this.head?.method === 'HEAD' ? '' : r.body;
    let head: ResponseHeaders;
    const grpc = this.grpc;
    if (grpc !== null) {
      // Trailers-only, as Envoy answers gRPC callers: the body becomes grpc-message.
      const g = grpcLocalReplyHeaders(r.status, body, peerReplyHeaders(this.ctx, this.requestPeer, extra), r.grpcStatus);
      grpc.status = g.grpcStatus;
      body = '';
      this.responseStatus = 200;
      head = localReplyHead(this.ctx, 200, '', g.headers);
    } else {
      this.responseStatus = r.status;
      head = localReplyHead(this.ctx, r.status, body, peerReplyHeaders(this.ctx, this.requestPeer, extra));
    }
    this.bytesSent += body.length;
    // The rest of a request still arriving is not read: the connection ends after the reply.
    if (!this.requestComplete) this.encoder.closeAfterResponse();
    if (body.length === 0) this.responseHeadBytes = this.encoder.encodeHeaders(head, true);
    else {
      this.responseHeadBytes = this.encoder.encodeHeaders(head, false);
      this.encoder.encodeData(Buffer.from(body, 'latin1'), true);
    }
    this.finish(true);
  }

  protected finish(complete: boolean): void {
    if (this.done) return;
    this.done = true;
    this.clearRequestTimer();
    this.fault?.release();
    this.releaseUpstream();
    const stats = this.ctx.stats;
    stats.downstream_rq_active--;
    if (this.responseStatus > 0) stats.countResponse(this.responseStatus);
    if (complete) stats.downstream_rq_completed++;
    if (this.details === '' && this.upstreamResponse !== undefined) this.details = 'via_upstream';
    if (this.ctx.accessLog.enabled) this.ctx.accessLog.write(this.accessRecord());
    if (this.ctx.istioStats !== undefined) this.recordIstio(this.ctx.istioStats);
    this.encoder.streamDone(complete);
  }

  private clearRequestTimer(): void {
    if (this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.requestTimer = null;
    }
  }

  /** Istio's request metrics for this stream (its listener has `istio.stats`). */
  private recordIstio(scope: HttpMetricsScope): void {
    const istio = this.ctx.istio;
    let peer: WorkloadPeer;
    if (scope.stats.reporter === 'destination') peer = this.requestPeer === undefined ? UNKNOWN_PEER : istio.peers.get(this.requestPeer);
    else peer = this.responsePeer !== undefined ? istio.peers.get(this.responsePeer) : (this.lastHost?.peer ?? UNKNOWN_PEER);
    const head = this.head!;
    const grpc = this.grpc;
    const server = scope.stats.reporter === 'destination';
    const principal = server ? this.downstream.peerPrincipal : upstreamPrincipal(this.lastHost);
    const own = server ? (principal !== undefined ? this.downstream.clientCert?.localUri || undefined : undefined) : upstreamLocalPrincipal(this.lastHost);
    const edge = scope.edge(peer, this.cluster?.config, head.authority, grpc !== null, principal, own);
    const requestBytes = headBytes(head) + this.bytesReceived;
    const responseBytes = this.responseHeadBytes + this.bytesSent;
    const attrs = scope.stats.dimensionTags.length > 0 ? this.accessRecord() : NO_ATTRIBUTES;
    scope.record(edge, this.responseStatus, this.flags, formatFlags(this.flags), performance.now() - this.startMono, requestBytes, responseBytes, attrs, grpc);
  }

  private accessRecord(): AccessRecord {
    const head = this.head!;
    const resp = this.upstreamResponse;
    const requestId = this.requestId;
    const authority = head.authority;
    return {
      startTime: this.startTime,
      method: head.method,
      path: head.path,
      protocol: head.protocol,
      responseCode: this.responseStatus,
      responseFlags: formatFlags(this.flags),
      responseCodeDetails: this.details,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs: Math.round(performance.now() - this.startMono),
      upstreamServiceTime: this.upstreamServiceTime,
      upstreamHost: this.lastHost?.key,
      upstreamCluster: this.cluster?.config.name,
      routeName: this.route?.name || undefined,
      downstreamRemoteAddress: `${this.downstream.remoteAddress}:${this.downstream.remotePort}`,
      downstreamLocalAddress: this.downstream.localAddress,
      upstreamLocalAddress: undefined,
      downstreamPeerUriSan: this.downstream.peerPrincipal,
      reqHeader: (n) => (n === 'x-request-id' && requestId !== '' ? requestId : n === 'host' ? authority : getHeader(head, n)),
      respHeader: (n) => (resp === undefined ? undefined : getHeader(resp, n)),
    };
  }
}

function onRequestTimeout(stream: ActiveStream): void {
  stream.requestTimedOut();
}
