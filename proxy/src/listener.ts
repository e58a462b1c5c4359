/**
 * An HTTP listener: a TCP server whose connections read the listener's current config.
 * A new config for the same address swaps `ctx`; requests already running keep theirs.
 */
import net from 'node:net';
import type { ListenerRt } from '@minimesh/config/runtime';
import { HttpConnectionManager, type ListenerHandle } from './http/connection-manager.js';
import type { HcmContext, ProxyState } from './http/hcm-context.js';
import type { StatsRegistry } from './observability/stats.js';
import { handleCaptured, type CaptureHost } from './capture/capture-connection.js';

/** Set in a worker of `--concurrency N` (workers/worker-main.ts): told of each server bound, for per-worker stats. */
export const bindHooks: { onBound?: (server: net.Server) => void } = {};

/** Binds a listener's server to its address, with an error naming the listener. */
export function bindServer(server: net.Server, config: ListenerRt): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`listener ${config.name}: cannot listen on ${config.address}:${config.port}: ${e.message}`));
    server.once('error', onError);
    server.listen({ host: config.address, port: config.port, backlog: 1024 }, () => {
      server.off('error', onError);
      bindHooks.onBound?.(server);
      resolve();
    });
  });
}

export class Listener implements ListenerHandle, CaptureHost {
  private readonly server: net.Server;
  private readonly connections = new Set<HttpConnectionManager>();
  /** Connections a capture listener proxies as plain TCP (see capture/). */
  private readonly tcpSockets = new Set<net.Socket>();
  /** Set by drain(): the listener was removed or replaced. */
  draining = false;

  constructor(
    public config: ListenerRt,
    public ctx: HcmContext,
    readonly proxy: ProxyState,
  ) {
    // allowHalfOpen: a captured TCP connection carries half-close (a client may send, shut
    // down its write side, then read); adoptHttp() turns it off again for HTTP connections.
    this.server = net.createServer({ noDelay: true, allowHalfOpen: config.capture !== undefined }, (socket) => {
      if (this.config.capture !== undefined) handleCaptured(socket, this);
      else this.adoptHttp(socket);
    });
  }

  adoptHttp(socket: net.Socket, originalDst?: string): void {
    // HTTP connections close as they always did: the client's FIN ends ours (Node reads the
    // property when the FIN arrives, so setting it here is enough).
    socket.allowHalfOpen = false;
    this.connections.add(new HttpConnectionManager(socket, this, (c) => this.connections.delete(c), originalDst));
  }

  /** The proxy's `bind_to_port: false` listener for an original destination (capture/). */
  readonly virtualListener = (address: string, port: number): ReturnType<NonNullable<ProxyState['virtualListener']>> => this.proxy.virtualListener?.(address, port);

  trackTcp(socket: net.Socket): void {
    this.tcpSockets.add(socket);
    socket.once('close', () => this.tcpSockets.delete(socket));
  }

  get stats(): StatsRegistry | undefined {
    return (this.proxy as ProxyState & { stats?: StatsRegistry }).stats;
  }

  listen(): Promise<void> {
    return bindServer(this.server, this.config);
  }

  /** The port actually bound (useful when the config says 0). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : this.config.port;
  }

  get activeConnections(): number {
    return this.connections.size + this.tcpSockets.size;
  }

  /** Stops accepting, closes idle keep-alive connections; busy ones close after their response. */
  drain(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.closeIfIdle();
    return closed;
  }

  /** Ends every connection at once (drain time is over). */
  closeAll(): void {
    for (const c of this.connections) c.destroy();
    for (const s of this.tcpSockets) s.destroy();
  }
}
