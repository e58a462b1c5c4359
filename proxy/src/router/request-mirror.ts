/**
 * Request mirroring (Envoy's shadowing, a route's `request_mirror_policies`; Istio's VirtualService
 * `mirror`/`mirrors`): a copy of the request goes to each chosen shadow cluster, fire and forget.
 *
 * As in Envoy's buffered shadowing, the copy is sent once the whole request has arrived, with
 * the headers the router sent upstream and the Host (authority) suffixed `-shadow` before any
 * port (`reviews:9080` -> `reviews-shadow:9080`) unless `disable_shadow_host_suffix_append`.
 * A body larger than the cluster's buffer limit is not mirrored at all (the copy is dropped, as
 * Envoy drops its shadow policies when the buffer overflows). The shadow's response is read and
 * thrown away; it never delays, changes or fails the main request, and the route's timeout
 * bounds it. The shadow cluster's stats count it (`upstream_rq_total`, `upstream_rq_2xx`, ...).
 */
import type { MirrorPolicyRt } from '@minimesh/config';
import type { HeaderList, HttpProtocol, ResponseHeaders } from '../http/codec/headers.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import type { ConnectionPool, UpstreamRequestHeaders, UpstreamResponseDecoder, UpstreamStream } from '../upstream/upstream-codec.js';

/** `host[:port]` -> `host-shadow[:port]` (an IPv6 literal keeps its brackets). */
export function shadowHost(authority: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(:\d*)?$/.exec(authority);
  if (m === null) return `${authority}-shadow`;
  return `${m[1]}-shadow${m[2] ?? ''}`;
}

function shadowHead(up: UpstreamRequestHeaders, keepHost: boolean): UpstreamRequestHeaders {
  const names = up.names.slice();
  const values = up.values.slice();
  if (keepHost) return { ...up, names, values };
  const authority = shadowHost(up.authority);
  const i = names.indexOf('host');
  if (i >= 0) values[i] = authority;
  return { ...up, names, values, authority };
}

/** One request's shadows: they collect its body and go out when it is complete. */
export class RequestMirror {
  private readonly body: Buffer[] = [];
  private bytes = 0;
  private dropped = false;

  private constructor(
    private readonly targets: readonly { cluster: Cluster; head: UpstreamRequestHeaders }[],
    private readonly protocol: HttpProtocol,
    private readonly limitBytes: number,
    private readonly timeoutMs: number,
  ) {}

  /** The policies that roll this request in, or null when none does (or their clusters are gone). */
  static start(policies: readonly MirrorPolicyRt[], clusters: ClusterManager, head: UpstreamRequestHeaders, protocol: HttpProtocol, limitBytes: number, timeoutMs: number, random: () => number = Math.random): RequestMirror | null {
    const targets: { cluster: Cluster; head: UpstreamRequestHeaders }[] = [];
    for (const p of policies) {
      if (p.numerator <= 0 || Math.floor(random() * p.denominator) >= p.numerator) continue;
      const cluster = clusters.get(p.cluster);
      // The head as the router built it for the first try (later tries change its attempt count).
      if (cluster !== undefined) targets.push({ cluster, head: shadowHead(head, p.keepHost) });
    }
    return targets.length === 0 ? null : new RequestMirror(targets, protocol, limitBytes, timeoutMs);
  }

  /** Request body bytes (the main request has its own copy). */
  data(chunk: Buffer): void {
    if (this.dropped) return;
    this.bytes += chunk.length;
    if (this.bytes > this.limitBytes) {
      this.dropped = true;
      this.body.length = 0;
      return;
    }
    this.body.push(chunk);
  }

  /** The request is complete: the shadows go out. */
  end(trailers: HeaderList | null): void {
    if (this.dropped) return;
    this.dropped = true;
    for (const t of this.targets) new ShadowRequest(t.cluster, t.head, this.body, trailers, this.timeoutMs).send(this.protocol);
  }

  /** The main request ended before it was complete: nothing is mirrored. */
  cancel(): void {
    this.dropped = true;
    this.body.length = 0;
  }
}

/** A fire-and-forget request whose response is read and discarded. */
class ShadowRequest implements UpstreamResponseDecoder {
  private host: UpstreamHost | undefined;
  private pool: ConnectionPool | undefined;
  private stream: UpstreamStream | null = null;
  private gotStream = false;
  private timer: NodeJS.Timeout | null = null;
  private over = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly head: UpstreamRequestHeaders,
    private readonly body: readonly Buffer[],
    private readonly trailers: HeaderList | null,
    private readonly timeoutMs: number,
  ) {}

  send(protocol: HttpProtocol): void {
    const cluster = this.cluster;
    const host = cluster.pick(null);
    if (host === undefined || cluster.activeRequests >= cluster.config.circuitBreakers.maxRequests) return;
    this.host = host;
    host.activeRequests++;
    host.rqTotal++;
    cluster.activeRequests++;
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    if (this.timeoutMs > 0) this.timer = setTimeout(() => this.giveUp(), this.timeoutMs);
    this.pool = host.poolFor(protocol);
    if (this.pool.newStream(this, this.head.method === 'HEAD') === 'overflow') {
      cluster.stats.upstream_rq_pending_overflow++;
      this.release();
    }
  }

  onPoolConnecting(stream: UpstreamStream): void {
    this.stream = stream;
    this.gotStream = true;
  }

  onPoolReady(stream: UpstreamStream): void {
    this.stream = stream;
    this.gotStream = true;
    const body = this.body;
    if (body.length === 0 && this.trailers === null) {
      stream.encodeHeaders(this.head, true);
      return;
    }
    stream.encodeHeaders(this.head, false);
    const last = this.trailers === null ? body.length - 1 : -1;
    for (let i = 0; i < body.length; i++) stream.encodeData(body[i], i === last);
    if (this.trailers !== null) stream.encodeTrailers(this.trailers);
  }

  onUpstreamHeaders(head: ResponseHeaders, endStream: boolean): void {
    this.cluster.stats.countResponse(head.status);
    if (endStream) this.onUpstreamEnd();
  }

  onUpstreamData(): void {}
  onUpstreamTrailers(): void {}
  onUpstreamDrain(): void {}
  onUpstreamStarted(): void {}
  onUpstreamReadDone(): void {}

  onUpstreamEnd(): void {
    if (this.over) return;
    this.cluster.stats.upstream_rq_completed++;
    this.stream = null;
    this.release();
  }

  onUpstreamReset(): void {
    if (this.over) return;
    this.cluster.stats.upstream_rq_rx_reset++;
    this.stream = null;
    this.release();
  }

  onUpstreamUpgrade(_head: ResponseHeaders, socket: { destroy(): void }): void {
    socket.destroy();
    this.stream = null;
    this.release();
  }

  /** The route's timeout passed: the shadow is reset. */
  private giveUp(): void {
    this.timer = null;
    if (this.over) return;
    this.cluster.stats.upstream_rq_timeout++;
    if (this.stream !== null) {
      this.stream.reset();
      this.stream = null;
    }
    this.release();
  }

  private release(): void {
    if (this.over) return;
    this.over = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const cluster = this.cluster;
    cluster.activeRequests--;
    cluster.stats.upstream_rq_active--;
    if (this.host !== undefined) this.host.activeRequests--;
    if (!this.gotStream && this.pool !== undefined) this.pool.cancel(this);
  }
}
