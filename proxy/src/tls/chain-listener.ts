/**
 * A listener with several filter chains (Istio's PERMISSIVE / STRICT inbound shapes): each
 * connection's first bytes are peeked (TLS ClientHello: SNI and ALPN; plaintext: HTTP or not,
 * with http_inspector), the chain is picked as Envoy picks it, TLS is terminated with the
 * chain's secrets as they are at that moment, and the connection goes to the chain's HTTP
 * connection manager (codec by the negotiated ALPN) or tcp_proxy. No chain: closed.
 * Plain one-chain listeners never come here (listener.ts), so their path is unchanged.
 * A capture listener (virtualInbound, `use_original_dst`) matches the chains on the port the
 * client dialled before iptables redirected it (capture/chain-capture.ts), and its chains see
 * that original destination (routing, RBAC, ORIGINAL_DST clusters).
 */
import net from 'node:net';
import type { FilterChainRt, ListenerRt } from '@minimesh/config/runtime';
import { selectFilterChain } from '@minimesh/config';
import { bindServer } from '../listener.js';
import { HttpConnectionManager, type ListenerHandle } from '../http/connection-manager.js';
import type { HcmContext, ProxyState } from '../http/hcm-context.js';
import type { SecretStore } from '../security/secret-store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { log } from '../log.js';
import { rbacRuns } from '../security/rbac-filter.js';
import { serveTcpProxy } from '../tcp/serve-tcp-proxy.js';
import { ListenerStats, type StatsRegistry } from '../observability/stats.js';
import { inspectHttp, MAX_CLIENT_HELLO, peekClientHello } from './client-hello.js';
import { ChainTlsServer, codecForAlpn, type ServerTlsResult } from './downstream-tls.js';
import { capturedDestination, hostPort } from '../capture/chain-capture.js';
import type { OriginalDst } from '../capture/original-dst.js';
import type { VirtualListener } from '../tcp/virtual-listener.js';

/** Envoy's `listener_filters_timeout` default: then the connection goes on as plaintext without ALPN. */
export const LISTENER_FILTERS_TIMEOUT_MS = 15_000;

export interface ChainListenerDeps {
  readonly proxy: ProxyState;
  readonly secrets: SecretStore;
  readonly clusters: ClusterManager;
  readonly istio: IstioMetrics;
  /** Where the listener's counters are registered (absent: kept on the listener only). */
  readonly stats?: StatsRegistry;
  /** The HcmContext of an HCM (stats scope, access logs, ...). */
  context(hcm: NonNullable<FilterChainRt['hcm']>): HcmContext;
}


/** What a chain's connections read: its HCM contexts (by codec) or its tcp_proxy. */
interface ChainRuntime {
  readonly chain: FilterChainRt;
  readonly handles?: { readonly auto: ChainHandle; readonly h1: ChainHandle; readonly h2: ChainHandle };
  /** The chain's TLS termination (set when it has a transport socket). */
  tls?: ChainTlsServer;
}

class ChainHandle implements ListenerHandle {
  /** Its chain was replaced by a config update: its connections close after their response (Envoy drains them). */
  retired = false;
  constructor(
    readonly ctx: HcmContext,
    private readonly owner: ChainListener,
  ) {}
  get proxy(): ProxyState {
    return this.owner.deps.proxy;
  }
  get draining(): boolean {
    return this.retired || this.owner.draining;
  }
}

export class ChainListener implements VirtualListener {
  private readonly server: net.Server;
  private readonly connections = new Set<HttpConnectionManager>();
  private readonly sockets = new Set<net.Socket>();
  private chains: ChainRuntime[] = [];
  /** Captured connections' original destinations while their TLS handshake runs, by `remote address:port`. */
  private readonly pendingDst = new Map<string, OriginalDst>();
  /** `listener.<address>_<port>.*`: no_filter_chain_match, ssl.handshake, ssl.connection_error. */
  tlsStats = new ListenerStats();
  draining = false;

  constructor(
    public config: ListenerRt,
    readonly deps: ChainListenerDeps,
  ) {
    this.update(config);
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  /** A new config for the same address: new connections use its chains. */
  update(config: ListenerRt): void {
    for (const rt of this.chains) for (const h of Object.values(rt.handles ?? {})) h.retired = true;
    this.config = config;
    this.chains = (config.filterChains ?? []).map((chain) => {
      const rt: ChainRuntime = { chain, ...this.handlesOf(chain) };
      if (chain.tls !== undefined) rt.tls = new ChainTlsServer(chain.tls, this.deps.secrets, rt.handles ? 'http' : 'tcp', (r) => this.onTls(rt, r), chain.tcpProxy?.peerExchange?.protocol);
      return rt;
    });
  }

  private handlesOf(chain: FilterChainRt): Pick<ChainRuntime, 'handles'> {
    if (chain.hcm === undefined) return {};
    const ctx = this.deps.context(chain.hcm);
    const auto = new ChainHandle(ctx, this);
    if (chain.hcm.codecType !== 'AUTO') return { handles: { auto, h1: auto, h2: auto } };
    const h1 = new ChainHandle({ ...ctx, hcm: { ...ctx.hcm, codecType: 'HTTP1' } }, this);
    const h2 = new ChainHandle({ ...ctx, hcm: { ...ctx.hcm, codecType: 'HTTP2' } }, this);
    return { handles: { auto, h1, h2 } };
  }

  private onTls(rt: ChainRuntime, r: ServerTlsResult | string): void {
    if (typeof r === 'string') {
      this.tlsStats['ssl.connection_error']++;
      log.debug({ listener: this.config.name, reason: r }, 'TLS handshake failed');
      return;
    }
    this.tlsStats['ssl.handshake']++;
    this.sockets.add(r.socket);
    r.socket.once('close', () => this.sockets.delete(r.socket));
    const key = remoteKey(r.socket);
    const dst = this.pendingDst.get(key);
    this.pendingDst.delete(key);
    this.serve(r.socket, rt, r.socket.alpnProtocol, r.peerPrincipal, dst);
  }

  /** A connection another listener hands over (`bind_to_port: false`: tcp/virtual-listener.ts). */
  handoff(socket: net.Socket, dst: OriginalDst, fallback?: (socket: net.Socket) => void): void {
    this.accept(socket, { dst, fallback });
    socket.resume(); // the giver may have paused it: the inspectors read its first bytes
  }

  private accept(socket: net.Socket, given?: { readonly dst: OriginalDst; readonly fallback?: (socket: net.Socket) => void }): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    const captured = given !== undefined ? { refuse: false as const, dst: given.dst } : capturedDestination(socket, this.config);
    if (captured.refuse) {
      socket.destroy();
      return;
    }
    const dst = captured.dst;
    const fallback = given?.fallback;
    const listed = this.config.inspectors ?? { tls: false, http: false };
    // http_inspector only where a plain-text chain of this port matches on what it says
    // (Istio's auto ports): elsewhere a server-first protocol must not wait for client bytes.
    const inspectors = { tls: listed.tls, http: listed.http && this.sniffsHttp(dst?.port ?? socket.localPort ?? this.config.port) };
    if (!inspectors.tls && !inspectors.http) return this.dispatch(socket, undefined, 'raw_buffer', '', [], onError, dst, fallback);
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (tp: string, sni: string, alpn: readonly string[]): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      this.dispatch(socket, buf, tp, sni, alpn, onError, dst, fallback);
    };
    const onData = (d: Buffer): void => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      if (inspectors.tls) {
        const r = peekClientHello(buf);
        if (r.kind === 'more' && buf.length < MAX_CLIENT_HELLO) return;
        if (r.kind === 'tls') return finish('tls', r.serverName, r.alpn);
      }
      if (!inspectors.http) return finish('raw_buffer', '', []);
      const h = inspectHttp(buf);
      if (h !== 'more') finish('raw_buffer', '', h);
    };
    const onEnd = (): void => finish('raw_buffer', '', []);
    const timer = setTimeout(() => finish('raw_buffer', '', []), LISTENER_FILTERS_TIMEOUT_MS);
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  private sniffsHttp(port: number): boolean {
    return this.chains.some(({ chain: { match: m } }) => m.transportProtocol !== 'tls' && m.applicationProtocols.length > 0 && (m.destinationPort === undefined || m.destinationPort === port));
  }

  private dispatch(socket: net.Socket, initial: Buffer | undefined, transportProtocol: string, serverName: string, alpn: readonly string[], onError: () => void, dst?: OriginalDst, fallback?: (socket: net.Socket) => void): void {
    if (socket.destroyed) return;
    const rt = selectFilterChain(this.chains.map((c) => ({ match: c.chain.match, rt: c })), {
      destinationPort: dst?.port ?? socket.localPort ?? this.config.port,
      serverName,
      transportProtocol,
      applicationProtocols: alpn,
    })?.rt;
    if (rt === undefined && fallback !== undefined) {
      log.debug({ listener: this.config.name, serverName }, 'no filter chain matches the handed-over connection: its fallback takes it');
      if (initial !== undefined && initial.length > 0) socket.unshift(initial);
      socket.off('error', onError);
      this.sockets.delete(socket);
      fallback(socket);
      return;
    }
    if (rt === undefined) {
      this.tlsStats.no_filter_chain_match++;
      log.debug({ listener: this.config.name, transportProtocol, serverName, alpn }, 'no filter chain matches the connection: closed');
      socket.destroy();
      return;
    }
    if (initial !== undefined && initial.length > 0) socket.unshift(initial);
    socket.off('error', onError);
    if (rt.tls === undefined) return this.serve(socket, rt, undefined, undefined, dst);
    if (dst !== undefined) {
      const key = remoteKey(socket);
      this.pendingDst.set(key, dst);
      socket.once('close', () => this.pendingDst.delete(key));
    }
    rt.tls.accept(socket);
  }

  private serve(socket: net.Socket, rt: ChainRuntime, alpn: string | false | null | undefined, peerPrincipal: string | undefined, dst?: OriginalDst): void {
    if (rt.handles !== undefined) {
      socket.allowHalfOpen = false;
      const codec = codecForAlpn(alpn);
      const handle = codec === 'HTTP2' ? rt.handles.h2 : codec === 'HTTP1' ? rt.handles.h1 : rt.handles.auto;
      const c = new HttpConnectionManager(socket, handle, (x) => this.connections.delete(x), dst === undefined ? undefined : hostPort(dst));
      c.peerPrincipal = peerPrincipal;
      this.connections.add(c);
      // The HTTP/2 session reads the socket itself; the other codecs read its 'data' (it was paused to peek).
      if (handle.ctx.hcm.codecType !== 'HTTP2') socket.resume();
      return;
    }
    // The chain's network RBAC (Istio's TCP AuthorizationPolicies) decides before anything is dialled.
    const tcpProxy = rt.chain.tcpProxy!;
    const rbac = this.deps.stats === undefined ? undefined : rbacRuns(tcpProxy.rbac, this.deps.stats);
    serveTcpProxy(socket, tcpProxy, rbac, { clusters: this.deps.clusters, istio: this.deps.istio, listenerName: this.config.name }, peerPrincipal, dst);
  }

  async listen(): Promise<void> {
    // bind_to_port: false: handed connections only (tcp/virtual-listener.ts).
    if (this.config.bindToPort !== false) await bindServer(this.server, this.config);
    // Named by the address it is bound to (a port 0 in the config is the one given).
    if (this.deps.stats !== undefined) this.tlsStats = this.deps.stats.listener(`${this.config.address}_${this.port}`);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : this.config.port;
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  drain(): Promise<void> {
    this.draining = true;
    const closed = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    for (const c of this.connections) c.closeIfIdle();
    return closed;
  }

  closeAll(): void {
    for (const c of this.connections) c.destroy();
    for (const s of this.sockets) s.destroy();
  }
}

/** The key a TLS socket shares with the raw socket it wraps. */
const remoteKey = (s: net.Socket): string => `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}`;
