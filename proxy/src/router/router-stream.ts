/**
 * The router (Envoy's router filter) on a connection manager stream: picks a cluster and
 * a host, sends the request upstream through the host's pool, retries on Envoy's
 * conditions, enforces the route and per-try timeouts, and relays the response. It sees
 * neutral heads, data and trailers on both sides: the downstream codec and the upstream
 * codec do the framing.
 *
 * The stream is itself the decoder of the upstream stream it uses (no closure per
 * request). A stream that is given up on is reset first, which detaches it, so no stale
 * callback reaches a request that has moved on.
 */
import type { ForwardActionRt, RouteRt, VirtualHostRt } from '@minimesh/config/runtime';
import { pickWeightedCluster } from '@minimesh/config';
import { PEER_METADATA_HEADER } from '@minimesh/mesh';
import { MAX_TIMER_MS } from '../http/active-stream.js';
import { UpgradableStream } from './upgradable-stream.js';
import { getHeader, type HeaderList, type ResponseHeaders } from '../http/codec/headers.js';
import type { UpstreamFailure, UpstreamResponseDecoder } from '../upstream/upstream-codec.js';
import { HEADER_ONLY_RETRY_POLICY, RetryState, type TryFailure } from './retry-state.js';
import { buildUpstreamRequest } from './upstream-request-head.js';
import { buildDownstreamResponseHead } from './downstream-response-head.js';
import { routeMutations } from './route-mutations.js';
import { flagBit } from './response-flags.js';
import { LOCAL_REPLIES, resetFlag, upstreamResetReply, type LocalReply } from './local-reply.js';
import { sendsPeerMetadata } from '../observability/istio/stream-telemetry.js';
import { grpcHttpStatus, parseGrpcStatus } from '../grpc/grpc-request.js';
import { formatGrpcTimeout, grpcRouteTimeoutMs } from '../grpc/grpc-timeout.js';
import { refuseUpgrade, requestedUpgrade } from './upgrade.js';
import { streamDuration } from './stream-duration.js';
import { RequestMirror } from './request-mirror.js';
import { requestHash } from './hash-policy.js';

const EMPTY = Buffer.alloc(0);
const TIMEOUT_HEADER = /^\d{1,9}$/;

export class RouterStream extends UpgradableStream implements UpstreamResponseDecoder {
  private timeoutMs = 0;
  /** This request holds one of the cluster's `max_retries` (parallel retries) while it retries. */
  private retryHeld = false;
  private globalTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private upstreamPaused = false;
  /** The response reached its end downstream (head with endStream, or trailers). */
  private downstreamEnded = false;

  protected forward(vh: VirtualHostRt, route: RouteRt, action: ForwardActionRt): void {
    const ctx = this.ctx;
    const head = this.head!;
    const rc = ctx.hcm.routeConfig;
    this.action = action;
    const weighted = action.clusters.length === 1 ? action.clusters[0] : pickWeightedCluster(action, Math.random());
    const cluster = ctx.clusters.get(weighted.name);
    if (cluster === undefined) {
      ctx.stats.no_cluster++;
      this.localReply(LOCAL_REPLIES.noCluster);
      return;
    }
    this.cluster = cluster;
    const upgrade = this.encoder.upgrade !== undefined ? requestedUpgrade(head) : undefined;
    const refusal = upgrade === undefined ? undefined : refuseUpgrade(ctx, action, cluster, upgrade, head.protocol);
    if (refusal !== undefined) {
      this.encoder.closeAfterResponse();
      this.localReply(refusal);
      return;
    }

    const mutations = routeMutations(weighted, route, vh, rc);
    this.responseMutations = this.corsResponse === undefined ? mutations.response : [...mutations.response, this.corsResponse];
    this.responseFormatted = mutations.responseFormatted;
    if (action.hashPolicies !== undefined && cluster.config.hashLb !== undefined) this.hashRequest(action.hashPolicies);
    const pm = route.match.path;
    const up = buildUpstreamRequest({
      head,
      hcm: ctx.hcm,
      action,
      matchedPrefix: pm.kind === 'prefix' || pm.kind === 'path_separated_prefix' ? pm.value : undefined,
      mutations: mutations.request,
      format: mutations.requestFormatted ? this.formatSource() : undefined,
      hostRewrite: weighted.hostRewriteLiteral ?? action.hostRewriteLiteral,
      remoteAddress: this.downstream.remoteAddress,
      metadataExchange: ctx.hcm.telemetry.metadataExchange,
      peerHeaders: sendsPeerMetadata(ctx, cluster.config.name) ? ctx.istio.peerHeaders : undefined,
      upgrade: upgrade?.value,
      clientCert: ctx.hcm.clientCert === undefined ? undefined : this.downstream.clientCert,
    });
    if (ctx.hcm.direction === 'INBOUND') this.requestPeer = up.peerMetadata;
    this.requestId = up.requestId;

    // Envoy's control headers: consumed by buildUpstreamRequest, honoured here.
    const hdrTimeout = up.envoyTimeout;
    // A route with max_stream_duration has no router timeout (Envoy's "new timeouts"); else a
    // gRPC request on a route with max_grpc_timeout takes it from grpc-timeout (finalTimeout).
    const msd = action.maxStreamDuration;
    const grpcTimed = msd === undefined && this.grpc !== null && action.maxGrpcTimeoutMs !== undefined;
    const routeTimeout = msd !== undefined ? 0 : grpcTimed ? grpcRouteTimeoutMs(getHeader(head, 'grpc-timeout'), action.maxGrpcTimeoutMs!, action.grpcTimeoutOffsetMs) : action.timeoutMs;
    this.timeoutMs = hdrTimeout !== undefined && TIMEOUT_HEADER.test(hdrTimeout) ? Number(hdrTimeout) : routeTimeout;
    // x-envoy-retry-grpc-on adds its gRPC conditions as x-envoy-retry-on does.
    const grpcOn = up.envoyRetryGrpcOn;
    const hdrRetryOn = grpcOn === undefined ? up.envoyRetryOn : up.envoyRetryOn === undefined ? grpcOn : `${up.envoyRetryOn},${grpcOn}`;
    const hdrMaxRetries = up.envoyMaxRetries;
    const policy = action.retryPolicy;
    if (policy !== undefined) {
      this.retry = new RetryState(policy, cluster, hdrRetryOn, hdrMaxRetries, up.envoyRetriableStatusCodes);
    } else if (hdrRetryOn !== undefined) {
      this.retry = new RetryState(HEADER_ONLY_RETRY_POLICY, cluster, hdrRetryOn, hdrMaxRetries, up.envoyRetriableStatusCodes);
    }
    const hdrPerTry = up.envoyPerTryTimeout;
    const perTry = hdrPerTry !== undefined && TIMEOUT_HEADER.test(hdrPerTry) ? Number(hdrPerTry) : (this.retry?.perTryTimeoutMs ?? 0);
    this.perTryTimeoutMs = perTry;
    const expectedTimeoutMs = perTry > 0 ? perTry : this.timeoutMs;
    // Each try says which it is; the expected timeout is the same for all.
    this.attemptIndex = up.names.length;
    up.names.push('x-envoy-attempt-count');
    up.values.push('1');
    if (expectedTimeoutMs > 0) {
      up.names.push('x-envoy-expected-rq-timeout-ms');
      up.values.push(String(expectedTimeoutMs));
      if (grpcTimed) setGrpcTimeout(up, formatGrpcTimeout(expectedTimeoutMs));
    }
    if (msd !== undefined || ctx.hcm.maxStreamDurationMs > 0) {
      const d = streamDuration(ctx.hcm, msd, getHeader(head, 'grpc-timeout'), this.grpc !== null);
      if (d !== undefined) {
        if (d.grpcTimeoutMs !== undefined) setGrpcTimeout(up, formatGrpcTimeout(d.grpcTimeoutMs));
        this.armStreamDuration(d.ms);
      }
    }
    this.upstreamHead = up;
    if (action.mirrors !== undefined && upgrade === undefined) this.startMirror(RequestMirror.start(action.mirrors, ctx.clusters, up, head.protocol, cluster.config.perConnectionBufferLimitBytes, this.timeoutMs));
    if (this.requestComplete) this.armGlobalTimer();
    this.startTry();
  }

  /** The consistent-hash key for the cluster's ring or table; a made cookie goes out with the response. */
  private hashRequest(policies: NonNullable<ForwardActionRt['hashPolicies']>): void {
    const r = requestHash(policies, this.head!, this.downstream.remoteAddress, this.downstream.localAddress);
    this.hashKey = r.hash;
    if (r.setCookie !== undefined) this.responseMutations = [...this.responseMutations, { toAdd: [{ name: 'set-cookie', value: r.setCookie, action: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }], toRemove: [] }];
  }

  // ---- the downstream side ----

  protected onRequestComplete(): void {
    if (this.action === undefined) return;
    this.endMirror(false);
    this.armGlobalTimer();
    const up = this.upstream;
    if (up !== null && this.upstreamReady) {
      this.armTryTimer();
      this.endUpstreamRequest(up);
    }
  }

  /** The client can take more: resume reading the upstream response. */
  onEncoderDrain(): void {
    if (this.upstreamPaused && this.upstream !== null) {
      this.upstreamPaused = false;
      this.upstream.readDisable(false);
    }
  }

  protected onDownstreamReset(): void {
    if (this.cluster !== undefined && this.host !== undefined) this.cluster.stats.upstream_rq_tx_reset++;
    this.abandonTry();
  }

  // ---- the response, from the upstream codec ----

  /** A gRPC request's messages are counted as they pass (Istio's request_messages_total). */
  override decodeData(chunk: Buffer): void {
    if (this.grpc !== null) this.grpc.requestMessages.feed(chunk);
    super.decodeData(chunk);
  }

  onUpstreamHeaders(head: ResponseHeaders, endStream: boolean): void {
    const cluster = this.cluster!;
    cluster.stats.countResponse(head.status);
    if (head.status >= 500) this.host!.rqError++;
    const retry = this.retry;
    // Only a grpc-status in the response headers (trailers-only) can ask for a retry, as in Envoy.
    const grpcStatus = retry !== null || this.grpc !== null ? getHeader(head, 'grpc-status') : undefined;
    if (cluster.outlier !== undefined) cluster.outlier.putHttpStatus(this.host!, grpcStatus === undefined ? head.status : grpcHttpStatus(grpcStatus, head.status));
    if (retry !== null && retry.statusIsRetriable(head.status, grpcStatus)) {
      if (this.tryAgain(true)) return;
    }
    if (this.grpc !== null && grpcStatus !== undefined) this.grpc.status = parseGrpcStatus(grpcStatus);
    this.clearTryTimer();
    this.upstreamResponse = head;
    this.responseStatus = head.status;
    const ctx = this.ctx;
    const telemetry = ctx.hcm.telemetry;
    if (telemetry.metadataExchange && telemetry.reporter === 'source') this.responsePeer = getHeader(head, PEER_METADATA_HEADER);
    this.upstreamServiceTime = this.requestComplete ? Math.round(performance.now() - this.requestEndMono) : 0;
    if (retry !== null && retry.retries > 0) cluster.stats.upstream_rq_retry_success++;
    const out = buildDownstreamResponseHead({
      head,
      hcm: ctx.hcm,
      serverName: ctx.serverName,
      mutations: this.responseMutations,
      format: this.responseFormatted ? this.formatSource() : undefined,
      upstreamServiceTimeMs: this.upstreamServiceTime,
      metadataExchange: telemetry.metadataExchange,
      // A server sidecar answers with its own metadata only when the client sent some.
      peerHeaders: telemetry.reporter === 'destination' && this.requestPeer !== undefined ? ctx.istio.peerHeaders : undefined,
    });
    this.responseStarted = true;
    this.downstreamEnded = endStream;
    this.responseHeadBytes = this.encoder.encodeHeaders(out, endStream);
  }

  /** The upgrade went through: the route timeout stops, the response is the tunnel's. */
  protected onTunnelStart(): void {
    if (this.globalTimer !== null) clearTimeout(this.globalTimer);
    this.globalTimer = null;
    this.downstreamEnded = true;
  }

  onUpstreamReadDone(): void {
    this.encoder.flush();
  }

  onUpstreamData(chunk: Buffer): void {
    this.bytesSent += chunk.length;
    if (this.grpc !== null) this.grpc.responseMessages.feed(chunk);
    if (!this.encoder.encodeData(chunk, false) && this.upstream !== null && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream.readDisable(true);
    }
  }

  onUpstreamTrailers(trailers: HeaderList): void {
    this.downstreamEnded = true;
    if (this.grpc !== null) {
      const gs = getHeader(trailers, 'grpc-status');
      if (gs !== undefined) this.grpc.status = parseGrpcStatus(gs);
    }
    this.encoder.encodeTrailers(trailers);
  }

  onUpstreamEnd(): void {
    if (!this.downstreamEnded) {
      this.downstreamEnded = true;
      this.encoder.encodeData(EMPTY, true);
    }
    if (this.upstreamPaused && this.upstream !== null) this.upstream.readDisable(false);
    this.upstream = null;
    this.endTry();
    this.cluster!.stats.upstream_rq_completed++;
    this.finish(true);
  }

  onUpstreamReset(kind: UpstreamFailure, reason: string, requestSent = kind !== 'connect-failure'): void {
    this.upstream = null;
    const stats = this.cluster!.stats;
    if (kind === 'overflow') {
      // The pending queue was full (an HTTP/2 pool finds out once the request is handed over).
      stats.upstream_rq_pending_overflow++;
      this.endTry();
      this.localReply(LOCAL_REPLIES.overflow);
      return;
    }
    if (kind === 'connect-failure') {
      stats.upstream_cx_connect_fail++;
      if (reason === 'connection timeout') stats.upstream_cx_connect_timeout++;
    } else if (kind === 'protocol-error') stats.upstream_cx_protocol_error++;
    else stats.upstream_rq_rx_reset++;
    this.host!.rqError++;
    this.cluster!.outlier?.putLocalOrigin(this.host!, 'connect-failed');
    if (this.responseStarted) {
      // Part of the response is out: the client's stream can only be reset.
      this.flags |= flagBit(resetFlag(kind));
      this.endTry();
      this.finish(false);
      return;
    }
    if (this.retry !== null && this.retry.failureIsRetriable(kind as TryFailure, requestSent)) {
      if (this.tryAgain(false)) return;
    }
    this.endTry();
    this.localReply(upstreamResetReply(kind, reason, this.retry !== null && this.retry.retries > 0));
  }

  /**
   * Asks the retry state for another try. True when one is scheduled (the current try is
   * dropped); false when the caller goes on with what it has (URX recorded if the limit hit).
   */
  private tryAgain(afterResponse: boolean): boolean {
    const retry = this.retry!;
    const cluster = this.cluster!;
    if (!this.replayable || this.done) return false;
    const d = retry.next(true);
    if (!d.retry) {
      if (d.reason === 'limit') {
        this.flags |= flagBit('URX');
        cluster.stats.upstream_rq_retry_limit_exceeded++;
      } else if (d.reason === 'overflow') cluster.stats.upstream_rq_retry_overflow++;
      return false;
    }
    cluster.stats.upstream_rq_retry++;
    if (!this.retryHeld) {
      cluster.activeRetries++;
      this.retryHeld = true;
    }
    if (afterResponse && this.upstream !== null) this.upstream.reset();
    this.upstream = null;
    (this.tried ??= new Set()).add(this.host!);
    this.endTry();
    this.clearTryTimer();
    this.backoffTimer = setTimeout(onBackoffDone, d.delayMs, this);
    return true;
  }

  /** The back-off before a retry is over. */
  retryNow(): void {
    this.backoffTimer = null;
    if (!this.done) this.startTry();
  }

  // ---- timers ----

  private armGlobalTimer(): void {
    if (this.timeoutMs > 0 && this.globalTimer === null && !this.done) {
      this.globalTimer = setTimeout(onGlobalTimeout, Math.min(this.timeoutMs, MAX_TIMER_MS), this);
    }
  }

  /** The route's timeout fired. */
  globalTimedOut(): void {
    this.globalTimer = null;
    if (this.done) return;
    this.cluster!.stats.upstream_rq_timeout++;
    if (this.host !== undefined) this.cluster!.outlier?.putLocalOrigin(this.host, 'timeout');
    this.timedOut(LOCAL_REPLIES.timeout);
  }

  /** The per-try timeout fired. */
  protected tryTimedOut(): void {
    if (this.done || this.responseStarted) return;
    this.cluster!.stats.upstream_rq_per_try_timeout++;
    if (this.host !== undefined) this.cluster!.outlier?.putLocalOrigin(this.host, 'timeout');
    if (this.retry !== null && this.retry.failureIsRetriable('per-try-timeout')) {
      const up = this.upstream;
      if (up !== null) up.reset();
      this.upstream = null;
      if (this.tryAgain(false)) return;
    }
    this.timedOut(LOCAL_REPLIES.perTryTimeout);
  }

  /** A timeout ended the request: 504 UT, or a reset if the response had started. */
  private timedOut(reply: LocalReply): void {
    this.abandonTry();
    if (this.responseStarted) {
      this.flags |= flagBit('UT');
      this.finish(false);
      return;
    }
    this.localReply(reply);
  }

  // ---- endings ----

  protected abandonUpstream(): void {
    this.abandonTry();
  }

  protected releaseUpstream(): void {
    if (this.globalTimer !== null) clearTimeout(this.globalTimer);
    this.clearStreamDuration();
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.clearTryTimer();
    if (this.retryHeld) this.cluster!.activeRetries--;
    this.endMirror(true);
    this.dropBody();
  }

}

/** Replaces (or adds) the upstream head's grpc-timeout. */
function setGrpcTimeout(up: { names: string[]; values: string[] }, value: string): void {
  const i = up.names.indexOf('grpc-timeout');
  if (i >= 0) up.values[i] = value;
  else {
    up.names.push('grpc-timeout');
    up.values.push(value);
  }
}

function onGlobalTimeout(s: RouterStream): void {
  s.globalTimedOut();
}

function onBackoffDone(s: RouterStream): void {
  s.retryNow();
}
