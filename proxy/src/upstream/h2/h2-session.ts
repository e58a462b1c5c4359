/**
 * One HTTP/2 session to an endpoint (a `ClientHttp2Session`, h2c with prior knowledge unless
 * `createConnection` gives another transport), with the state its pool needs:
 *
 *   connecting  TCP connect and the server's first SETTINGS (within the connect timeout)
 *   ready       takes streams up to min(max_concurrent_streams, the server's
 *               SETTINGS_MAX_CONCURRENT_STREAMS), and up to max_requests_per_connection in its life
 *   draining    no new streams (GOAWAY received, request limit reached, idle, pool closing);
 *               closes once its last stream ends
 *   closed      gone; the pool forgets it
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { isIPv6 } from 'node:net';
import { H2UpstreamError, type H2Endpoint, type H2FailureReason, type H2PoolOptions } from './h2-types.js';

type OptionalOptions = 'createConnection' | 'localAddress' | 'onSessionOpened' | 'onSessionClosed';
export type ResolvedH2Options = Required<Omit<H2PoolOptions, OptionalOptions>> & Pick<H2PoolOptions, OptionalOptions>;

export type H2SessionState = 'connecting' | 'ready' | 'draining' | 'closed';

export interface H2SessionEvents {
  /** Became ready, got new SETTINGS, freed a stream slot or stopped taking streams: dispatch again. */
  onChange(s: H2Session): void;
  /** Closed. `failure` is set when it never became ready (connect failure or timeout). */
  onClosed(s: H2Session, failure: H2UpstreamError | undefined): void;
}

const UNLIMITED = 4294967295;

export class H2Session {
  state: H2SessionState = 'connecting';
  /** Streams open now. */
  active = 0;
  /** Streams opened in its life. */
  opened = 0;
  /** The smallest last-stream-id of the GOAWAYs received: streams above it were refused. */
  goawayLastStreamId: number | undefined;
  /** The GOAWAY's error code, when one came with an error. */
  goawayCode: number | undefined;
  readonly session: ClientHttp2Session;
  private connectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private becameReady = false;
  private error: Error | undefined;

  constructor(
    readonly id: number,
    readonly endpoint: H2Endpoint,
    private readonly o: ResolvedH2Options,
    private readonly ev: H2SessionEvents,
  ) {
    const host = isIPv6(endpoint.address) ? `[${endpoint.address}]` : endpoint.address;
    const create = o.createConnection;
    this.session = http2.connect(`http://${host}:${endpoint.port}`, {
      settings: { enablePush: false, initialWindowSize: o.initialStreamWindowSize, headerTableSize: o.headerTableSize },
      ...(create ? { createConnection: () => create(endpoint) } : {}),
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    });
    const s = this.session;
    s.on('connect', () => {
      if (o.initialConnectionWindowSize > 65535) s.setLocalWindowSize(o.initialConnectionWindowSize);
    });
    s.on('remoteSettings', () => {
      if (this.state === 'connecting') {
        this.state = 'ready';
        this.becameReady = true;
        clearTimeout(this.connectTimer);
        this.armIdle();
      }
      this.ev.onChange(this);
    });
    s.on('goaway', (code: number, lastStreamId: number) => {
      this.goawayLastStreamId = this.goawayLastStreamId === undefined ? lastStreamId : Math.min(this.goawayLastStreamId, lastStreamId);
      if (code !== http2.constants.NGHTTP2_NO_ERROR) this.goawayCode = code;
      this.stopTaking();
    });
    s.on('error', (err: Error) => {
      this.error ??= err;
    });
    s.on('close', () => this.onClose());
    if (o.connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        if (this.state !== 'connecting') return;
        this.timedOut = true;
        s.destroy(new Error(`no HTTP/2 session with ${endpoint.address}:${endpoint.port} within the ${o.connectTimeoutMs} ms connect timeout`));
      }, o.connectTimeoutMs);
      this.connectTimer.unref();
    }
  }

  /** Streams this session can take now. */
  get capacity(): number {
    if (this.state !== 'ready') return 0;
    const remote = this.session.remoteSettings.maxConcurrentStreams ?? UNLIMITED;
    let cap = Math.min(this.o.maxConcurrentStreams, remote) - this.active;
    if (this.o.maxRequestsPerSession > 0) cap = Math.min(cap, this.o.maxRequestsPerSession - this.opened);
    return Math.max(0, cap);
  }

  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says). */
  get remoteMaxConcurrentStreams(): number {
    return this.session.remoteSettings.maxConcurrentStreams ?? UNLIMITED;
  }

  /** Opens a stream; throws what `request()` throws (invalid headers). The pool checked `capacity`. */
  open(headers: OutgoingHttpHeaders, endStream: boolean): ClientHttp2Stream {
    const st = this.session.request(headers, { endStream, waitForTrailers: !endStream });
    this.active++;
    this.opened++;
    clearTimeout(this.idleTimer);
    if (this.o.maxRequestsPerSession > 0 && this.opened >= this.o.maxRequestsPerSession) this.stopTaking();
    st.once('close', () => {
      this.active--;
      if (this.state === 'draining' && this.active === 0) this.session.close();
      else this.armIdle();
      this.ev.onChange(this);
    });
    return st;
  }

  /** Takes no new stream; closes once the open ones end. */
  stopTaking(): void {
    if (this.state === 'closed' || this.state === 'draining') return;
    const wasConnecting = this.state === 'connecting';
    this.state = 'draining';
    clearTimeout(this.idleTimer);
    if (wasConnecting || this.active === 0) this.session.close();
    this.ev.onChange(this);
  }

  /** Closes now, resetting open streams. */
  destroy(): void {
    if (!this.session.destroyed) this.session.destroy();
  }

  /** Why a stream of this session that did not complete failed, from the session's side (undefined: look at the stream). */
  sessionFailure(): { reason: H2FailureReason; code: number | undefined; message: string } | undefined {
    if (this.goawayCode !== undefined) {
      const reason = this.goawayCode === http2.constants.NGHTTP2_PROTOCOL_ERROR ? 'protocol-error' : 'connection-termination';
      return { reason, code: this.goawayCode, message: `upstream sent GOAWAY with error code ${this.goawayCode}` };
    }
    if (this.error) {
      const code = (this.error as NodeJS.ErrnoException).code;
      if (code === 'ERR_HTTP2_ERROR' || code === 'ERR_HTTP2_SESSION_ERROR') return { reason: 'protocol-error', code: undefined, message: `upstream HTTP/2 session error: ${this.error.message}` };
      return { reason: 'connection-termination', code: undefined, message: `upstream connection failed: ${this.error.message}` };
    }
    return undefined;
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.state !== 'ready' || this.active > 0 || this.o.idleTimeoutMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.state === 'ready' && this.active === 0) this.stopTaking();
    }, this.o.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private onClose(): void {
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearTimeout(this.idleTimer);
    let failure: H2UpstreamError | undefined;
    if (!this.becameReady) {
      const where = `${this.endpoint.address}:${this.endpoint.port}`;
      failure = this.timedOut
        ? new H2UpstreamError('connect-timeout', `upstream connect timeout: ${this.error?.message ?? where}`, undefined, false, false)
        : new H2UpstreamError('connect-failure', `upstream connect failure to ${where}: ${this.error?.message ?? 'the connection closed before the server sent SETTINGS'}`, undefined, false, false);
    }
    this.ev.onClosed(this, failure);
  }
}
