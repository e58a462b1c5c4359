/**
 * The router's stream, the part that outlives a plain request: an upgrade the upstream
 * accepted (a 101 from HTTP/1.1, a 200 to an extended CONNECT from HTTP/2) becomes a byte
 * tunnel between the client's side and the upstream's, and the stream's maximum duration
 * (`max_stream_duration`) ends whatever the stream is doing when it elapses, as Envoy's
 * connection manager does: a 408 (request still arriving) or 504 reply, DEADLINE_EXCEEDED for
 * gRPC, or a reset once the response has started. RouterStream extends it.
 */
import type { ForwardActionRt } from '@minimesh/config/runtime';
import { getHeader, type ResponseHeaders } from '../http/codec/headers.js';
import { MAX_TIMER_MS } from '../http/active-stream.js';
import { startTunnel, type TunnelHandle, type TunnelResult, type TunnelSocket } from '../http/tunnel.js';
import { UpstreamTryStream } from './upstream-try.js';
import type { HeaderMutationLevel } from './header-mutation.js';
import { flagBit } from './response-flags.js';
import { tunnelIdleTimeoutMs, upgradeResponseHead } from './upgrade.js';
import type { LocalReply } from './local-reply.js';
import type { HeaderFormatSource } from './header-format.js';

/** gRPC DEADLINE_EXCEEDED. */
const DEADLINE_EXCEEDED = 4;
const MAX_DURATION_DETAILS = 'max_duration_timeout';

export abstract class UpgradableStream extends UpstreamTryStream {
  protected action: ForwardActionRt | undefined;
  protected responseMutations: readonly HeaderMutationLevel[] = [];
  /** Some response mutation has `%OPERATOR%` values (route-mutations.ts). */
  protected responseFormatted = false;
  private tunnel: TunnelHandle | null = null;
  private durationTimer: NodeJS.Timeout | null = null;

  /** The upgrade went through: the router's own timers stop (the tunnel has its idle timeout). */
  protected abstract onTunnelStart(): void;

  /** What `%OPERATOR%` header values read now (header-format.ts). */
  protected formatSource(): HeaderFormatSource {
    const host = this.lastHost;
    return { downstream: this.downstream, startTime: this.startTime, request: this.head, response: this.upstreamResponse, upstreamHost: host?.key, upstreamCluster: this.cluster?.config.name, responseCode: this.responseStatus };
  }

  /** The upstream switched protocols: the 101 (or 200 on HTTP/2) goes to the client, then bytes flow both ways. */
  onUpstreamUpgrade(head: ResponseHeaders, socket: TunnelSocket, pending: Buffer | null): void {
    const upgradeTo = this.encoder.upgrade;
    if (upgradeTo === undefined || this.done) {
      socket.destroy();
      return;
    }
    this.upstream = null;
    this.onTunnelStart();
    this.clearTryTimer();
    this.cluster!.stats.countResponse(101);
    this.upstreamResponse = head;
    this.responseStatus = 101;
    this.upstreamServiceTime = Math.round(performance.now() - this.requestEndMono);
    const ctx = this.ctx;
    const out = upgradeResponseHead(ctx, head, this.responseMutations, this.upstreamServiceTime, getHeader(this.head!, 'upgrade') ?? '', this.responseFormatted ? this.formatSource() : undefined);
    this.responseStarted = true;
    const down = upgradeTo.call(this.encoder, out);
    this.responseHeadBytes = down.headBytes;
    ctx.stats.downstream_cx_upgrades_total++;
    ctx.stats.downstream_cx_upgrades_active++;
    this.tunnel = startTunnel(down, { socket, pending }, tunnelIdleTimeoutMs(ctx.hcm, this.action!), (r) => this.tunnelDone(r));
  }

  private tunnelDone(r: TunnelResult): void {
    this.tunnel = null;
    this.ctx.stats.downstream_cx_upgrades_active--;
    this.bytesReceived += r.bytesUp;
    this.bytesSent += r.bytesDown;
    if (r.reason === 'idle-timeout') {
      this.flags |= flagBit('SI');
      this.details = 'stream_idle_timeout';
    }
    this.endTry();
    this.cluster!.stats.upstream_rq_completed++;
    this.finish(r.reason !== 'aborted');
  }

  // ---- max_stream_duration ----

  /** Arms the stream's duration limit: `ms` from the stream's start. */
  protected armStreamDuration(ms: number): void {
    const left = ms - (performance.now() - this.startMono);
    this.durationTimer = setTimeout(onMaxDuration, Math.min(Math.max(0, left), MAX_TIMER_MS), this);
  }

  protected clearStreamDuration(): void {
    if (this.durationTimer !== null) {
      clearTimeout(this.durationTimer);
      this.durationTimer = null;
    }
  }

  /** The stream lived its maximum duration (ConnectionManagerImpl::onStreamMaxDurationReached). */
  maxDurationReached(): void {
    this.durationTimer = null;
    if (this.done) return;
    this.ctx.stats.downstream_rq_max_duration_reached++;
    if (this.tunnel !== null) {
      this.details = MAX_DURATION_DETAILS;
      this.tunnel.abort();
      return;
    }
    if (this.responseStarted) {
      // Too late for a reply: the client's stream is reset.
      this.details = MAX_DURATION_DETAILS;
      this.abandonTry();
      this.finish(false);
      return;
    }
    const reply: LocalReply = {
      // Envoy's maybeRequestTimeoutCode: 504 once the request is in, 408 while it still arrives.
      status: this.requestComplete ? 504 : 408,
      body: 'downstream duration timeout',
      flag: undefined,
      details: MAX_DURATION_DETAILS,
      grpcStatus: DEADLINE_EXCEEDED,
    };
    this.localReply(reply);
  }
}

function onMaxDuration(s: UpgradableStream): void {
  s.maxDurationReached();
}
