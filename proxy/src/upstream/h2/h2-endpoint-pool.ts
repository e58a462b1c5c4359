/**
 * The sessions to one endpoint and the requests waiting for a stream on them.
 *
 * A request goes to the first ready session with room. When none has room, it waits (FIFO, at
 * most `maxPendingPerEndpoint`, then `overflow`), and a new session is opened unless the
 * sessions still connecting are expected to take every waiting request (a connecting session
 * counts for `maxConcurrentStreams` until the server's SETTINGS say otherwise) or
 * `maxSessionsPerEndpoint` sessions exist already (draining sessions count: they still hold a
 * connection, as under Envoy's max_connections). A session that fails before it is ready
 * fails the waiting requests with its reason when no other session can take them.
 */
import { H2Session, type ResolvedH2Options } from './h2-session.js';
import { H2UpstreamError, type H2Endpoint } from './h2-types.js';
import type { H2StreamOwner, H2UpstreamStream } from './h2-stream.js';

export class H2EndpointPool implements H2StreamOwner {
  readonly sessions: H2Session[] = [];
  private readonly queue: H2UpstreamStream[] = [];
  private closing = false;

  constructor(
    readonly endpoint: H2Endpoint,
    private readonly o: ResolvedH2Options,
    private readonly nextSessionId: () => number,
    /** No session and no waiting request left: the owner may forget this pool. */
    private readonly onIdle: (p: H2EndpointPool) => void,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  get activeStreams(): number {
    return this.sessions.reduce((n, s) => n + s.active, 0);
  }

  submit(st: H2UpstreamStream): void {
    if (this.closing) {
      st.fail(new H2UpstreamError('connection-termination', 'the upstream pool is closing', undefined, false, false));
      return;
    }
    if (this.queue.length === 0) {
      const s = this.pick();
      if (s && st.attach(s)) return;
    }
    if (this.queue.length >= this.o.maxPendingPerEndpoint) {
      st.fail(new H2UpstreamError('overflow', `upstream overflow: ${this.queue.length} requests already wait for an HTTP/2 stream to ${this.endpoint.address}:${this.endpoint.port} (max_pending_requests ${this.o.maxPendingPerEndpoint})`, undefined, false, false));
      return;
    }
    this.queue.push(st);
    this.dispatch();
  }

  unqueue(st: H2UpstreamStream): void {
    const i = this.queue.indexOf(st);
    if (i >= 0) this.queue.splice(i, 1);
    this.checkIdle();
  }

  /** Graceful: no new streams, sessions close after their last stream; waiting requests fail. */
  close(): void {
    this.closing = true;
    for (const st of this.queue.splice(0)) st.fail(new H2UpstreamError('connection-termination', 'the upstream pool closed', undefined, false, false));
    for (const s of [...this.sessions]) s.stopTaking();
    this.checkIdle();
  }

  /** Now: every session reset. */
  destroy(): void {
    this.close();
    for (const s of [...this.sessions]) s.destroy();
  }

  private pick(): H2Session | undefined {
    for (const s of this.sessions) if (s.capacity > 0) return s;
    return undefined;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const s = this.pick();
      if (!s) break;
      const st = this.queue.shift()!;
      if (!st.attach(s)) this.queue.unshift(st);
    }
    if (this.queue.length === 0 || this.closing) return;
    const perSession = this.o.maxRequestsPerSession > 0 ? Math.min(this.o.maxConcurrentStreams, this.o.maxRequestsPerSession) : this.o.maxConcurrentStreams;
    let expected = this.sessions.filter((s) => s.state === 'connecting').length * perSession;
    while (this.queue.length > expected && this.sessions.length < this.o.maxSessionsPerEndpoint) {
      this.open();
      expected += perSession;
    }
  }

  private open(): void {
    const s = new H2Session(this.nextSessionId(), this.endpoint, this.o, {
      onChange: () => this.dispatch(),
      onClosed: (closed, failure) => this.onSessionClosed(closed, failure),
    });
    this.sessions.push(s);
    this.o.onSessionOpened?.(this.endpoint);
  }

  private onSessionClosed(s: H2Session, failure: H2UpstreamError | undefined): void {
    const i = this.sessions.indexOf(s);
    if (i >= 0) this.sessions.splice(i, 1);
    this.o.onSessionClosed?.(this.endpoint);
    const others = this.sessions.some((x) => x.state === 'ready' || x.state === 'connecting');
    if (failure && !others) {
      for (const st of this.queue.splice(0)) st.fail(new H2UpstreamError(failure.reason, failure.message, failure.h2Code, false, false));
    } else {
      this.dispatch();
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.sessions.length === 0 && this.queue.length === 0) this.onIdle(this);
  }
}
