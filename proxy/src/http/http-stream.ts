/**
 * One HTTP request through the proxy, from its parsed head to the last response byte:
 * route, pick a cluster and a host, send upstream, retry on Envoy's conditions, enforce
 * the route and per-try timeouts, relay the response, answer locally when it must, and
 * write the access log line.
 *
 * The stream is itself the handler of the upstream connection it uses (no closure per
 * request). A connection that is given up on is destroyed first, which detaches it, so
 * no stale callback reaches a stream that has moved on.
 */
import type { ForwardActionRt, RouteRt, WeightedClusterRt } from '@minimesh/config/runtime';
import { matchRoute, pickWeightedCluster, selectVirtualHost } from '@minimesh/config';
import type { ResponseFlag } from '@minimesh/mesh';
import { getHeader, type BodyFraming, type RequestHead, type ResponseHead } from './head-parser.js';
import type { HcmContext } from './hcm-context.js';
import type { DownstreamConnection } from './downstream-connection.js';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import type { UpstreamConnection, UpstreamFailure, UpstreamHandler } from '../upstream/upstream-connection.js';
import { HEADER_ONLY_RETRY_POLICY, RetryState, type TryFailure } from '../router/retry-state.js';
import { redirectLocation } from '../router/redirect-location.js';
import { coalesce, COALESCE_MAX } from './coalesce.js';
import { buildUpstreamRequest } from '../router/upstream-request-head.js';
import { buildDownstreamResponseHead, type DownstreamFraming } from '../router/downstream-response-head.js';
import type { HeaderMutationLevel } from '../router/header-mutation.js';
import { routeMutations } from '../router/route-mutations.js';
import { flagBit, formatFlags } from '../router/response-flags.js';
import { LOCAL_REPLIES, upstreamResetReply, type LocalReply } from '../router/local-reply.js';
import type { AccessRecord } from '../observability/access-log.js';
import { PEER_METADATA_HEADER } from '@minimesh/mesh';
import type { HttpMetricsScope } from '../observability/istio/istio-metrics.js';
import { UNKNOWN_PEER, type WorkloadPeer } from '../observability/istio/workload-peer.js';
import { headBytes, NO_ATTRIBUTES, peerReplyHeaders, sendsPeerMetadata } from '../observability/istio/stream-telemetry.js';

const CRLF = '\r\n';
/** setTimeout's limit (about 24.8 days); a longer timeout would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

export class HttpStream implements UpstreamHandler {
  readonly startTime = Date.now();
  private readonly startMono = performance.now();
  private requestEndMono = 0;
  requestComplete = false;
  bytesReceived = 0;
  bytesSent = 0;
  done = false;
  /** The response head went out: no retry, no local reply any more. */
  responseStarted = false;
  responseStatus = 0;
  private flags = 0;
  private details = '';
  private upstreamServiceTime: number | undefined;
  private responseHead: ResponseHead | undefined;
  /** Peer metadata (Istio's exchange): what the client sent (inbound), what the upstream answered (outbound). */
  private requestPeer: string | undefined;
  private responsePeer: string | undefined;
  private responseHeadBytes = 0;

  private route: RouteRt | undefined;
  private action: ForwardActionRt | undefined;
  private weighted: WeightedClusterRt | undefined;
  private cluster: Cluster | undefined;
  private requestId = '';
  private upstreamHeadText = '';
  private expectedTimeoutMs = 0;
  private perTryTimeoutMs = 0;
  private timeoutMs = 0;
  private retry: RetryState | null = null;
  /** This request holds one of the cluster's `max_retries` (parallel retries) while it retries. */
  private retryHeld = false;
  /** Request body bytes kept for replay (retries) or until the upstream connects. */
  private body: Buffer[] = [];
  private bodyBytes = 0;
  /** How many entries of `body` the current try has written. */
  private bodyWritten = 0;
  private replayable = true;
  private host: UpstreamHost | undefined;
  /** The host of the latest try, for the access log. */
  private upstreamHostKey: string | undefined;
  private lastHost: UpstreamHost | undefined;
  private tried: Set<UpstreamHost> | null = null;
  private upConn: UpstreamConnection | null = null;
  private attempts = 0;
  private responseMutations: readonly HeaderMutationLevel[] = [];
  private downFraming: DownstreamFraming = 'none';
  private globalTimer: NodeJS.Timeout | null = null;
  private tryTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private upstreamPaused = false;
  /**
   * The response head, held until the first body bytes of the same read so both leave in
   * one write (one syscall): see bench/README.md. Flushed at the end of every upstream read.
   */
  private pendingHead: string | null = null;

  constructor(
    readonly conn: DownstreamConnection,
    readonly ctx: HcmContext,
    readonly head: RequestHead,
    readonly authority: string,
    readonly requestFraming: BodyFraming,
  ) {}

  /** Routes the request and starts the first try (or answers locally). */
  start(): void {
    const { ctx, head } = this;
    ctx.stats.downstream_rq_total++;
    ctx.stats.downstream_rq_active++;
    // Inbound, the client's metadata is known before routing: local replies count and answer it too.
    if (ctx.hcm.telemetry.metadataExchange && ctx.hcm.direction === 'INBOUND') this.requestPeer = getHeader(head, PEER_METADATA_HEADER);
    const rc = ctx.hcm.routeConfig;
    const view = { method: head.method, path: head.path, authority: this.authority, headerNames: head.names, headerValues: head.values };
    const dst = this.conn.originalDst;
    // Captured inbound, a request is routed by the port it was sent to (`*:PORT`), as Envoy's
    // per-port filter chains do; captured outbound, a Host the mesh does not know is routed by
    // where the client dialled (the cluster IP and port are among a service's domains).
    let vh = dst !== undefined && ctx.hcm.direction === 'INBOUND' ? selectVirtualHost(rc, dst) : selectVirtualHost(rc, this.authority);
    if (vh === undefined && dst !== undefined) vh = selectVirtualHost(rc, dst);
    const route = vh === undefined ? undefined : matchRoute(vh, view);
    if (vh === undefined || route === undefined) {
      ctx.stats.no_route++;
      this.localReply(LOCAL_REPLIES.noRoute);
      return;
    }
    this.route = route;
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
      this.localReply({ status: action.status, body: '', flag: undefined, details: 'redirect' }, { location: redirectLocation(action, this.authority, head.path, matched) });
      return;
    }
    this.action = action;
    const weighted = action.clusters.length === 1 ? action.clusters[0] : pickWeightedCluster(action, Math.random());
    this.weighted = weighted;
    const cluster = ctx.clusters.get(weighted.name);
    if (cluster === undefined) {
      ctx.stats.no_cluster++;
      this.localReply(LOCAL_REPLIES.noCluster);
      return;
    }
    this.cluster = cluster;

    const mutations = routeMutations(weighted, route, vh, rc);
    this.responseMutations = mutations.response;
    const pm = route.match.path;
    const up = buildUpstreamRequest({
      head,
      hcm: ctx.hcm,
      action,
      matchedPrefix: pm.kind === 'prefix' || pm.kind === 'path_separated_prefix' ? pm.value : undefined,
      mutations: mutations.request,
      hostRewrite: weighted.hostRewriteLiteral ?? action.hostRewriteLiteral,
      remoteAddress: this.conn.remoteAddress,
      chunked: this.requestFraming.kind === 'chunked',
      metadataExchange: ctx.hcm.telemetry.metadataExchange,
      peerHeaders: sendsPeerMetadata(ctx, cluster.config.name) ? ctx.istio.peerHeaderLines : undefined,
    });
    if (ctx.hcm.direction === 'INBOUND') this.requestPeer = up.peerMetadata;
    this.upstreamHeadText = up.headText;
    this.requestId = up.requestId;

    // Envoy's control headers: consumed by buildUpstreamRequest, honoured here.
    const hdrTimeout = up.envoyTimeout;
    this.timeoutMs = hdrTimeout !== undefined && /^\d{1,9}$/.test(hdrTimeout) ? Number(hdrTimeout) : action.timeoutMs;
    const hdrRetryOn = up.envoyRetryOn;
    const hdrMaxRetries = up.envoyMaxRetries;
    const policy = action.retryPolicy;
    if (policy !== undefined) {
      this.retry = new RetryState(policy, cluster, hdrRetryOn, hdrMaxRetries, up.envoyRetriableStatusCodes);
    } else if (hdrRetryOn !== undefined) {
      this.retry = new RetryState(HEADER_ONLY_RETRY_POLICY, cluster, hdrRetryOn, hdrMaxRetries, up.envoyRetriableStatusCodes);
    }
    const hdrPerTry = up.envoyPerTryTimeout;
    const perTry = hdrPerTry !== undefined && /^\d{1,9}$/.test(hdrPerTry) ? Number(hdrPerTry) : (this.retry?.perTryTimeoutMs ?? 0);
    this.perTryTimeoutMs = perTry;
    this.expectedTimeoutMs = perTry > 0 ? perTry : this.timeoutMs;
    if (this.requestComplete) this.armGlobalTimer();
    this.startTry();
  }

  // ---- request body, from the downstream connection ----

  onRequestData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    if (this.done || this.action === undefined) return;
    const c = this.upConn;
    if (this.retry !== null && this.replayable) {
      this.body.push(chunk);
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > this.cluster!.config.perConnectionBufferLimitBytes) {
        // Too large to replay: this request will not be retried.
        this.replayable = false;
      }
      if (c !== null && c.connected && this.bodyWritten === this.body.length - 1) {
        this.bodyWritten++;
        if (!c.write(chunk)) this.conn.pauseReading();
        if (!this.replayable) this.dropBody();
      }
      return;
    }
    if (c !== null && c.connected && this.body.length === 0) {
      if (!c.write(chunk)) this.conn.pauseReading();
      return;
    }
    this.body.push(chunk);
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.cluster!.config.perConnectionBufferLimitBytes) this.conn.pauseReading();
  }

  onRequestEnd(): void {
    this.requestComplete = true;
    this.requestEndMono = performance.now();
    if (this.done || this.action === undefined) return;
    this.armGlobalTimer();
    if (this.upConn !== null && this.upConn.connected) {
      this.armTryTimer();
      this.upConn.endRequest();
    }
  }

  /** The downstream socket can take more: resume reading the upstream response. */
  onDownstreamDrain(): void {
    if (this.upstreamPaused && this.upConn !== null) {
      this.upstreamPaused = false;
      this.upConn.socket.resume();
    }
  }

  /** The client went away before the response was complete. */
  onDownstreamClose(): void {
    if (this.done) return;
    this.flags |= flagBit('DC');
    this.ctx.stats.downstream_rq_rx_reset++;
    if (this.cluster !== undefined && this.host !== undefined) this.cluster.stats.upstream_rq_tx_reset++;
    this.abandonTry();
    this.finish(false);
  }

  // ---- tries ----

  private startTry(): void {
    const cluster = this.cluster!;
    // A retry prefers a host that has not failed this request yet.
    const host = cluster.lb.pick(this.tried);
    if (host === undefined) {
      this.localReply(LOCAL_REPLIES.noHealthyUpstream);
      return;
    }
    if (cluster.activeRequests >= cluster.config.circuitBreakers.maxRequests) {
      cluster.stats.upstream_rq_pending_overflow++;
      this.localReply(LOCAL_REPLIES.overflow);
      return;
    }
    this.attempts++;
    this.host = host;
    this.upstreamHostKey = host.key;
    this.lastHost = host;
    host.activeRequests++;
    host.rqTotal++;
    cluster.activeRequests++;
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    this.bodyWritten = 0;
    if (host.acquire(this, this.head.method === 'HEAD') === 'overflow') {
      this.endTry();
      this.localReply(LOCAL_REPLIES.overflow);
    }
  }

  onConnecting(conn: UpstreamConnection): void {
    this.upConn = conn;
  }

  onConnected(conn: UpstreamConnection): void {
    this.upConn = conn;
    let head = `${this.upstreamHeadText}x-envoy-attempt-count: ${this.attempts}\r\n`;
    if (this.expectedTimeoutMs > 0) head += `x-envoy-expected-rq-timeout-ms: ${this.expectedTimeoutMs}\r\n`;
    head += CRLF;
    const body = this.body;
    if (body.length === 0) conn.write(head);
    else if (body.length === 1 && body[0].length <= COALESCE_MAX) conn.write(coalesce(head, body[0]));
    else {
      const socket = conn.socket;
      socket.cork();
      conn.write(head);
      for (let i = 0; i < body.length; i++) conn.write(body[i]);
      socket.uncork();
    }
    this.bodyWritten = body.length;
    if (this.retry === null || !this.replayable) this.dropBody();
    if (this.requestComplete) {
      this.armTryTimer();
      conn.endRequest();
    } else {
      this.conn.resumeReading();
    }
  }

  onUpstreamDrain(): void {
    this.conn.resumeReading();
  }

  onResponseHead(head: ResponseHead, framing: BodyFraming): void {
    const cluster = this.cluster!;
    cluster.stats.countResponse(head.status);
    if (head.status >= 500) this.host!.rqError++;
    const retry = this.retry;
    if (retry !== null && retry.statusIsRetriable(head.status, getHeader(head, 'grpc-status'))) {
      if (this.tryAgain(true)) return;
    }
    this.clearTryTimer();
    this.responseHead = head;
    this.responseStatus = head.status;
    const telemetry = this.ctx.hcm.telemetry;
    if (telemetry.metadataExchange && telemetry.reporter === 'source') this.responsePeer = getHeader(head, PEER_METADATA_HEADER);
    this.upstreamServiceTime = this.requestComplete ? Math.round(performance.now() - this.requestEndMono) : 0;
    if (this.retry !== null && this.retry.retries > 0) cluster.stats.upstream_rq_retry_success++;
    const client = this.conn;
    let down: DownstreamFraming;
    switch (framing.kind) {
      case 'none':
        down = 'none';
        break;
      case 'length':
        down = 'length';
        break;
      case 'chunked':
        down = client.minor === 1 ? 'chunked-passthrough' : 'close';
        break;
      default:
        down = client.minor === 1 ? 'chunked-encode' : 'close';
    }
    if (down === 'close' && framing.kind === 'chunked') {
      // An HTTP/1.0 client cannot read chunks: the body is de-chunked and the connection closes.
      this.upConn!.dechunk = true;
    }
    this.downFraming = down;
    // A response that starts while the request is still arriving ends the connection: the
    // client is told so now, as the rest of its body will not be read.
    const closeAfter = down === 'close' || !client.keepAlive || client.draining || !this.requestComplete;
    const text = buildDownstreamResponseHead({
      head,
      hcm: this.ctx.hcm,
      serverName: this.ctx.serverName,
      mutations: this.responseMutations,
      upstreamServiceTimeMs: this.upstreamServiceTime,
      framing: down,
      connection: closeAfter ? 'close' : client.minor === 0 ? 'keep-alive' : undefined,
      metadataExchange: telemetry.metadataExchange,
      // A server sidecar answers with its own metadata only when the client sent some.
      extraHeaders: telemetry.reporter === 'destination' && this.requestPeer !== undefined ? this.ctx.istio.peerHeaderLines : '',
    });
    this.responseHeadBytes = text.length;
    if (closeAfter) client.closeAfterResponse = true;
    this.responseStarted = true;
    this.pendingHead = text;
  }

  onUpstreamReadDone(): void {
    if (this.pendingHead !== null) {
      this.conn.writeHead(this.pendingHead);
      this.pendingHead = null;
    }
  }

  onResponseData(chunk: Buffer): void {
    this.bytesSent += chunk.length;
    let ok: boolean;
    const head = this.pendingHead;
    if (this.downFraming === 'chunked-encode') {
      if (chunk.length === 0) return;
      if (head !== null) {
        this.pendingHead = null;
        this.conn.writeHead(head);
      }
      ok = this.conn.writeChunked(chunk);
    } else if (head !== null) {
      this.pendingHead = null;
      ok = this.conn.writeHeadAndBody(head, chunk);
    } else ok = this.conn.writeBody(chunk);
    if (!ok && this.upConn !== null && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upConn.socket.pause();
    }
  }

  onResponseEnd(): void {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      if (this.downFraming === 'chunked-encode') this.conn.writeHeadAndBody(head, LAST_CHUNK);
      else this.conn.writeHead(head);
    } else if (this.downFraming === 'chunked-encode') this.conn.writeBody(LAST_CHUNK);
    if (this.upstreamPaused && this.upConn !== null) this.upConn.socket.resume();
    this.upConn = null;
    this.endTry();
    this.cluster!.stats.upstream_rq_completed++;
    this.finish(true);
  }

  onUpstreamError(kind: UpstreamFailure, reason: string): void {
    this.upConn = null;
    const stats = this.cluster!.stats;
    if (kind === 'connect-failure') {
      stats.upstream_cx_connect_fail++;
      if (reason === 'connection timeout') stats.upstream_cx_connect_timeout++;
    } else if (kind === 'reset') stats.upstream_rq_rx_reset++;
    else stats.upstream_cx_protocol_error++;
    this.host!.rqError++;
    const flag: ResponseFlag = kind === 'connect-failure' ? 'UF' : kind === 'reset' ? 'UC' : 'UPE';
    if (this.responseStarted) {
      // Part of the response is out: the client's stream can only be reset.
      this.flags |= flagBit(flag);
      this.endTry();
      this.conn.destroy();
      this.finish(false);
      return;
    }
    if (this.retry !== null && this.retry.failureIsRetriable(kind as TryFailure)) {
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
    if (afterResponse && this.upConn !== null) this.upConn.destroy();
    this.upConn = null;
    (this.tried ??= new Set()).add(this.host!);
    this.endTry();
    this.clearTryTimer();
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (!this.done) this.startTry();
    }, d.delayMs);
    return true;
  }

  /** Releases the per-try accounting of the current host. */
  private endTry(): void {
    const host = this.host;
    if (host === undefined) return;
    this.host = undefined;
    host.activeRequests--;
    const cluster = this.cluster!;
    cluster.activeRequests--;
    cluster.stats.upstream_rq_active--;
    if (this.upConn === null) cluster.cancelPending(this);
  }

  /** Drops the current try: its connection is closed (never reused half-written). */
  private abandonTry(): void {
    if (this.upConn !== null) {
      this.upConn.destroy();
      this.upConn = null;
    }
    this.endTry();
  }

  // ---- timers ----

  private armGlobalTimer(): void {
    if (this.timeoutMs > 0 && this.globalTimer === null && !this.done) {
      this.globalTimer = setTimeout(() => this.onGlobalTimeout(), Math.min(this.timeoutMs, MAX_TIMER_MS));
    }
  }

  private armTryTimer(): void {
    const perTry = this.perTryTimeoutMs;
    // Once the response has started, only the route timeout applies (as in Envoy).
    if (perTry > 0 && !this.done && !this.responseStarted) {
      if (this.tryTimer !== null) clearTimeout(this.tryTimer);
      this.tryTimer = setTimeout(() => this.onTryTimeout(), Math.min(perTry, MAX_TIMER_MS));
    }
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer);
      this.tryTimer = null;
    }
  }

  private onGlobalTimeout(): void {
    this.globalTimer = null;
    if (this.done) return;
    this.cluster!.stats.upstream_rq_timeout++;
    this.timedOut(LOCAL_REPLIES.timeout);
  }

  private onTryTimeout(): void {
    this.tryTimer = null;
    if (this.done || this.responseStarted) return;
    this.cluster!.stats.upstream_rq_per_try_timeout++;
    if (!this.responseStarted && this.retry !== null && this.retry.failureIsRetriable('per-try-timeout')) {
      const conn = this.upConn;
      if (conn !== null) conn.destroy();
      this.upConn = null;
      if (this.tryAgain(false)) return;
    }
    this.timedOut(LOCAL_REPLIES.perTryTimeout);
  }

  /** A timeout ended the request: 504 UT, or a reset if the response had started. */
  private timedOut(reply: LocalReply): void {
    this.abandonTry();
    if (this.responseStarted) {
      this.flags |= flagBit('UT');
      this.conn.destroy();
      this.finish(false);
      return;
    }
    this.localReply(reply);
  }

  // ---- endings ----

  /** Answers with a reply of the proxy's own (no upstream response). */
  localReply(r: LocalReply, extra?: Record<string, string>): void {
    if (this.done) return;
    if (this.responseStarted) {
      this.conn.destroy();
      this.finish(false);
      return;
    }
    this.abandonTry();
    if (r.flag !== undefined) this.flags |= flagBit(r.flag);
    this.details = r.details;
    this.responseStatus = r.status;
    this.responseStarted = true;
    const body = this.head.method === 'HEAD' ? '' : r.body;
    this.bytesSent += body.length;
    this.responseHeadBytes = this.conn.writeLocalReply(r.status, body, this.ctx, peerReplyHeaders(this.ctx, this.requestPeer, extra), !this.requestComplete);
    this.finish(true);
  }

  private dropBody(): void {
    this.body = [];
    this.bodyBytes = 0;
    this.bodyWritten = 0;
  }

  private finish(complete: boolean): void {
    if (this.done) return;
    this.done = true;
    if (this.globalTimer !== null) clearTimeout(this.globalTimer);
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.clearTryTimer();
    if (this.retryHeld) this.cluster!.activeRetries--;
    this.body = [];
    const stats = this.ctx.stats;
    stats.downstream_rq_active--;
    if (this.responseStatus > 0) stats.countResponse(this.responseStatus);
    if (complete) stats.downstream_rq_completed++;
    if (this.details === '' && this.responseHead !== undefined) this.details = 'via_upstream';
    if (this.ctx.accessLog.enabled) this.ctx.accessLog.write(this.accessRecord());
    if (this.ctx.istioStats !== undefined) this.recordIstio(this.ctx.istioStats);
    this.conn.streamDone(this, complete);
  }

  /** Istio's request metrics for this stream (its listener has `istio.stats`). */
  private recordIstio(scope: HttpMetricsScope): void {
    const istio = this.ctx.istio;
    let peer: WorkloadPeer;
    if (scope.stats.reporter === 'destination') peer = this.requestPeer === undefined ? UNKNOWN_PEER : istio.peers.get(this.requestPeer);
    else peer = this.responsePeer !== undefined ? istio.peers.get(this.responsePeer) : (this.lastHost?.peer ?? UNKNOWN_PEER);
    const head = this.head;
    const edge = scope.edge(peer, this.cluster?.config, this.authority);
    const requestBytes = headBytes(head) + this.bytesReceived;
    const responseBytes = this.responseHeadBytes + this.bytesSent;
    scope.record(edge, this.responseStatus, this.flags, formatFlags(this.flags), performance.now() - this.startMono, requestBytes, responseBytes, scope.stats.dimensionTags.length > 0 ? this.accessRecord() : NO_ATTRIBUTES);
  }

  private accessRecord(): AccessRecord {
    const head = this.head;
    const resp = this.responseHead;
    const requestId = this.requestId;
    const authority = this.authority;
    return {
      startTime: this.startTime,
      method: head.method,
      path: head.path,
      protocol: head.minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
      responseCode: this.responseStatus,
      responseFlags: formatFlags(this.flags),
      responseCodeDetails: this.details,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs: Math.round(performance.now() - this.startMono),
      upstreamServiceTime: this.upstreamServiceTime,
      upstreamHost: this.upstreamHostKey,
      upstreamCluster: this.cluster?.config.name,
      routeName: this.route?.name || undefined,
      downstreamRemoteAddress: `${this.conn.remoteAddress}:${this.conn.remotePort}`,
      downstreamLocalAddress: this.conn.localAddress,
      upstreamLocalAddress: undefined,
      reqHeader: (n) => (n === 'x-request-id' && requestId !== '' ? requestId : n === 'host' ? authority : getHeader(head, n)),
      respHeader: (n) => (resp === undefined ? undefined : getHeader(resp, n)),
    };
  }

}
