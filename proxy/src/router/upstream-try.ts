/**
 * The tries of a routed request (the per-try half of Envoy's router, its UpstreamRequest):
 * a host's pool gives each try an upstream stream; the request head, the body (kept for
 * a replay while a retry is possible, or until the stream is ready) and the trailers go
 * out on it with flow control both ways; the per-try timeout is armed once the request is
 * sent. RouterStream decides what a try's outcome means (retry, reply, relay).
 */
import { ActiveStream } from '../http/active-stream.js';
import type { HeaderList } from '../http/codec/headers.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import type { ConnectionPool, UpstreamFailure, UpstreamResponseDecoder, UpstreamStream } from '../upstream/upstream-codec.js';
import type { ResponseHeaders } from '../http/codec/headers.js';
import type { RetryState } from './retry-state.js';
import type { RequestMirror } from './request-mirror.js';
import type { UpstreamRequest } from './upstream-request-head.js';
import { LOCAL_REPLIES } from './local-reply.js';
import { originalDstTarget, resolveDestination } from './original-dst-target.js';
import type { Cluster } from '../upstream/cluster.js';
import { MAX_TIMER_MS } from '../http/active-stream.js';
import type { TunnelSocket } from '../http/tunnel.js';

const EMPTY = Buffer.alloc(0);
/** Request body held while a filter decides (Envoy's default connection buffer limit, 1 MiB). */
const PENDING_BODY_LIMIT = 1024 * 1024;

export abstract class UpstreamTryStream extends ActiveStream implements UpstreamResponseDecoder {
  protected upstreamHead: UpstreamRequest | undefined;
  /** Where `x-envoy-attempt-count` sits in the upstream head (set per try). */
  protected attemptIndex = 0;
  protected perTryTimeoutMs = 0;
  protected retry: RetryState | null = null;
  /** Request body bytes kept for replay (retries) or until the upstream is ready. */
  private body: Buffer[] = [];
  private bodyBytes = 0;
  /** How many entries of `body` the current try has written. */
  private bodyWritten = 0;
  protected replayable = true;
  private trailers: HeaderList | null = null;
  protected host: UpstreamHost | undefined;
  /** The pool of `host` this try's stream comes from (HTTP/1.1 or HTTP/2). */
  private pool: ConnectionPool | undefined;
  protected tried: Set<UpstreamHost> | null = null;
  /** ORIGINAL_DST: the address the request's authority resolved to (the forward proxy, by name). */
  private resolvedDst: string | undefined;
  /** The consistent-hash key (hash_policy), for RING_HASH / MAGLEV clusters. */
  protected hashKey: number | undefined;
  protected upstream: UpstreamStream | null = null;
  /** Shadows of this request (request_mirror_policies), collecting its body until it is complete. */
  private mirror: RequestMirror | null = null;
  /** The upstream stream took the request head (onPoolReady). */
  protected upstreamReady = false;
  private attempts = 0;
  private tryTimer: NodeJS.Timeout | null = null;

  /** The per-try timeout fired. */
  protected abstract tryTimedOut(): void;
  // The response side (RouterStream).
  abstract onUpstreamHeaders(head: ResponseHeaders, endStream: boolean): void;
  abstract onUpstreamData(chunk: Buffer): void;
  abstract onUpstreamTrailers(trailers: HeaderList): void;
  abstract onUpstreamEnd(): void;
  abstract onUpstreamReset(kind: UpstreamFailure, reason: string, requestSent?: boolean): void;
  abstract onUpstreamReadDone(): void;
  abstract onUpstreamUpgrade(head: ResponseHeaders, socket: TunnelSocket, pending: Buffer | null): void;

  // ---- request body, from the downstream codec ----

  decodeData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    if (this.done) return;
    if (this.mirror !== null) this.mirror.data(chunk);
    if (this.upstreamHead === undefined) {
      // A filter still decides on the request (jwt_authn): its body waits with it.
      if (this.filtersPending) {
        this.body.push(chunk);
        this.bodyBytes += chunk.length;
        if (this.bodyBytes > PENDING_BODY_LIMIT) this.encoder.readDisable(true);
      }
      return;
    }
    const up = this.upstreamReady ? this.upstream : null;
    if (this.retry !== null && this.replayable) {
      this.body.push(chunk);
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > this.cluster!.config.perConnectionBufferLimitBytes) {
        // Too large to replay: this request will not be retried.
        this.replayable = false;
      }
      if (up !== null && this.bodyWritten === this.body.length - 1) {
        this.bodyWritten++;
        if (!up.encodeData(chunk, false)) this.encoder.readDisable(true);
        if (!this.replayable) this.dropBody();
      }
      return;
    }
    if (up !== null && this.body.length === 0) {
      if (!up.encodeData(chunk, false)) this.encoder.readDisable(true);
      return;
    }
    this.body.push(chunk);
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.cluster!.config.perConnectionBufferLimitBytes) this.encoder.readDisable(true);
  }

  decodeTrailers(trailers: HeaderList): void {
    // Sent with the end of the request (decodeEnd follows), and kept for a retry.
    this.trailers = trailers;
  }

  // ---- shadows ----

  /** Mirrors this request: the body so far, and the rest as it comes; out when it is complete. */
  protected startMirror(m: RequestMirror | null): void {
    if (m === null) return;
    for (const c of this.body) m.data(c);
    if (this.requestComplete) m.end(this.trailers);
    else this.mirror = m;
  }

  /** The request is complete (the shadows go out) or abandoned (they never do). */
  protected endMirror(abandoned: boolean): void {
    const m = this.mirror;
    if (m === null) return;
    this.mirror = null;
    if (abandoned) m.cancel();
    else m.end(this.trailers);
  }

  // ---- tries ----

  protected startTry(): void {
    const cluster = this.cluster!;
    // With the previous_hosts predicate a retry prefers a host that has not failed this request
    // yet; with previous_priorities its priority loads leave out the levels already tried.
    const retry = this.retry;
    let host: UpstreamHost | undefined;
    if (cluster.originalDst !== undefined) {
      const target = originalDstTarget(cluster, this.downstream.originalDst, this.head!.authority, this.resolvedDst);
      if (target.kind === 'resolve') return this.resolveThenTry(cluster, target.name);
      host = target.kind === 'host' ? target.host : undefined;
    } else host = cluster.pick(retry !== null && retry.avoidPreviousHosts ? this.tried : null, this.hashKey, retry?.priority);
    if (host === undefined) {
      this.localReply(LOCAL_REPLIES.noHealthyUpstream);
      return;
    }
    retry?.priority?.onHostAttempted(host.priority);
    if (cluster.activeRequests >= cluster.config.circuitBreakers.maxRequests) {
      cluster.stats.upstream_rq_pending_overflow++;
      this.localReply(LOCAL_REPLIES.overflow);
      return;
    }
    this.attempts++;
    this.host = host;
    this.lastHost = host;
    host.activeRequests++;
    host.rqTotal++;
    cluster.activeRequests++;
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    this.bodyWritten = 0;
    const pool = host.poolFor(this.head!.protocol);
    this.pool = pool;
    if (pool.newStream(this, this.head!.method === 'HEAD') === 'overflow') {
      this.endTry();
      this.localReply(LOCAL_REPLIES.overflow);
    }
  }

  /** ORIGINAL_DST by name (the forward proxy): the try starts once the name has an address. */
  private resolveThenTry(cluster: Cluster, name: string): void {
    void resolveDestination(cluster, name).then((address) => {
      if (this.done) return;
      if (address === undefined) return this.localReply(LOCAL_REPLIES.noHealthyUpstream);
      this.resolvedDst = address;
      this.startTry();
    });
  }

  onPoolConnecting(stream: UpstreamStream): void {
    this.upstream = stream;
    this.upstreamReady = false;
  }

  onPoolReady(stream: UpstreamStream): void {
    this.upstream = stream;
    this.upstreamReady = true;
    if (this.cluster!.outlier !== undefined && this.host !== undefined) this.cluster!.outlier.putConnectSuccess(this.host, false);
    const head = this.upstreamHead!;
    if (this.attempts > 1) head.values[this.attemptIndex] = String(this.attempts);
    const body = this.body;
    const complete = this.requestComplete;
    if (complete && body.length === 0 && this.trailers === null) stream.encodeHeaders(head, true);
    else {
      stream.encodeHeaders(head, false);
      const last = complete && this.trailers === null ? body.length - 1 : -1;
      for (let i = 0; i < body.length; i++) stream.encodeData(body[i], i === last);
      if (complete && this.trailers !== null) stream.encodeTrailers(this.trailers);
      else if (!complete) stream.flush();
    }
    this.bodyWritten = body.length;
    if (this.retry === null || !this.replayable) this.dropBody();
    if (complete) this.armTryTimer();
    else this.encoder.readDisable(false);
  }

  onUpstreamDrain(): void {
    this.encoder.readDisable(false);
  }

  onUpstreamStarted(): void {
    if (this.requestComplete && this.upstream !== null) this.armTryTimer();
  }

  /** Releases the per-try accounting of the current host. */
  protected endTry(): void {
    const host = this.host;
    if (host === undefined) return;
    this.host = undefined;
    this.upstreamReady = false;
    host.activeRequests--;
    const cluster = this.cluster!;
    cluster.activeRequests--;
    cluster.stats.upstream_rq_active--;
    if (this.upstream === null) this.pool!.cancel(this);
  }

  /** Drops the current try: its stream is reset (never reused half-written). */
  protected abandonTry(): void {
    if (this.upstream !== null) {
      this.upstream.reset();
      this.upstream = null;
    }
    this.endTry();
  }

  protected endUpstreamRequest(up: UpstreamStream): void {
    if (this.trailers !== null) up.encodeTrailers(this.trailers);
    else up.encodeData(EMPTY, true);
  }

  // ---- the per-try timer ----

  protected armTryTimer(): void {
    const perTry = this.perTryTimeoutMs;
    // Once the response has started, only the route timeout applies (as in Envoy); a stream
    // still waiting for the upstream arms it when it starts (onUpstreamStarted).
    if (perTry > 0 && !this.done && !this.responseStarted && this.upstream?.waiting !== true) {
      if (this.tryTimer !== null) clearTimeout(this.tryTimer);
      this.tryTimer = setTimeout(onTryTimeout, Math.min(perTry, MAX_TIMER_MS), this);
    }
  }

  perTryTimerFired(): void {
    this.tryTimer = null;
    this.tryTimedOut();
  }

  protected clearTryTimer(): void {
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer);
      this.tryTimer = null;
    }
  }

  protected dropBody(): void {
    this.body = [];
    this.bodyBytes = 0;
    this.bodyWritten = 0;
  }
}

function onTryTimeout(s: UpstreamTryStream): void {
  s.perTryTimerFired();
}
