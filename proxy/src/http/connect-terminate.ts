/**
 * HTTP/1.1 CONNECT answered by the proxy itself (the local mesh's apps reach their sidecar
 * as an HTTP proxy; gRPC and TCP clients ask it for a tunnel with `CONNECT host:port`).
 * The connection manager asks connectTakeover() when a CONNECT head arrives; when it gives a
 * takeover, the codec holds the bytes that follow and hands the connection over:
 *
 *   TCP      a route matching CONNECT (`connect_matcher`) whose CONNECT upgrade entry has
 *            `connect_config` (Envoy's CONNECT termination): a host of the route's cluster is
 *            connected first, then `200` goes to the client and the tunnel's bytes are relayed
 *            as TCP, with the cluster's stats and Istio's TCP metrics. No host: 503, closed.
 *            When the proxy has a listener of the CONNECT's port with `bind_to_port: false`
 *            (Istio's `0.0.0.0_443`: SNI filter chains behind a tls_inspector), `200` goes
 *            at once and the tunnel is handed to that listener, the authority standing for
 *            the original destination (as Envoy's use_original_dst hands a captured
 *            connection over): the ClientHello's SNI picks the chain; no chain matches ->
 *            the route's cluster, as Envoy's passthrough chain sends a connection on to the
 *            destination the client dialled.
 *   HTTP     no route matches CONNECT, but a virtual host knows the authority and the
 *            connection manager allows CONNECT (`upgrade_configs: [{upgrade_type: CONNECT}]`):
 *            `200`, then the tunnel is taken as a new client connection of the same listener
 *            (HTTP/2 by its preface, else HTTP/1.1), so its requests are routed, retried,
 *            split and measured as any other, with the CONNECT authority standing for the
 *            destination the client dialled (as an internal listener would in Envoy).
 *
 * Any other CONNECT goes to a stream, which answers it without forwarding it (404 or 403).
 */
import type net from 'node:net';
import { matchRoute, pickWeightedCluster, selectVirtualHost, terminatesConnect, upgradeAllowed } from '@minimesh/config';
import type { HcmContext } from './hcm-context.js';
import type { RequestHeaders, ResponseHeaders } from './codec/headers.js';
import type { DownstreamUpgrade } from './codec/server-codec.js';
import { localReplyHead } from './local-reply-head.js';
import { connectToCluster, relayTcp } from '../tcp/tcp-cluster-connect.js';
import { tunnelIdleTimeoutMs } from '../router/upgrade.js';
import { log } from '../log.js';
import type { OriginalDst } from '../capture/original-dst.js';
import type { VirtualListenerLookup } from '../tcp/virtual-listener.js';

/** The codec side of a held CONNECT: writes a head and gives up the socket. */
export interface HeldConnect {
  upgrade(head: ResponseHeaders): DownstreamUpgrade;
}

/** What the takeover needs from the connection and its listener. */
export interface ConnectHost {
  readonly socket: net.Socket;
  /** Takes a socket as a new client connection of the listener (undefined: this listener cannot). */
  readonly adoptHttp: ((socket: net.Socket, originalDst?: string) => void) | undefined;
  /** The proxy's `bind_to_port: false` listeners (tcp/virtual-listener.ts), by the CONNECT's host and port. */
  readonly virtualListener?: VirtualListenerLookup;
}

/** `host:port` (IPv6 in brackets) as an original destination; undefined without a port. */
export function authorityDst(authority: string): OriginalDst | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(authority);
  if (m === null) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { address: (m[1] ?? m[2]!).toLowerCase(), port } : undefined;
}

export type ConnectTakeover = (held: HeldConnect) => void;

const ESTABLISHED: ResponseHeaders = { status: 200, names: [], values: [] };

/** Whether the proxy answers this CONNECT itself, and how (see above); undefined: a stream answers it. */
export function connectTakeover(head: RequestHeaders, ctx: HcmContext, host: ConnectHost): ConnectTakeover | undefined {
  const hcm = ctx.hcm;
  const vh = selectVirtualHost(hcm.routeConfig, head.authority);
  if (vh === undefined) return undefined;
  const route = matchRoute(vh, { method: head.method, path: '', authority: head.authority, headerNames: head.names, headerValues: head.values });
  if (route !== undefined) {
    const action = route.action;
    if (action.kind !== 'forward' || !terminatesConnect(action.upgradeConfigs) || !upgradeAllowed(hcm.upgradeConfigs, action.upgradeConfigs, 'connect')) return undefined;
    const name = (action.clusters.length === 1 ? action.clusters[0] : pickWeightedCluster(action, Math.random())).name;
    const cluster = ctx.clusters.get(name);
    if (cluster === undefined) return undefined;
    const tcp = (socket: net.Socket, onConnected: (upstream: net.Socket, upstreamHost: Parameters<Parameters<typeof connectToCluster>[3]>[1]) => void, onFail: (reason: string) => void): void =>
      connectToCluster(cluster, 1, () => socket.destroyed, onConnected, onFail);
    const relay = (socket: net.Socket, upstream: net.Socket, upstreamHost: Parameters<Parameters<typeof connectToCluster>[3]>[1], pending: Buffer | null): void => {
      const scope = ctx.istioStats;
      relayTcp(socket, upstream, cluster, tunnelIdleTimeoutMs(hcm, action), scope === undefined ? undefined : { metrics: ctx.istio, stats: scope.stats }, pending, upstreamHost, ctx.istio);
    };
    const dst = authorityDst(head.authority);
    const virtual = dst === undefined ? undefined : host.virtualListener?.(dst.address, dst.port);
    if (virtual !== undefined && dst !== undefined) {
      // A listener of the CONNECT's port (bind_to_port: false, e.g. SNI chains for a TLS port)
      // takes the tunnel; when none of its chains match, the route's cluster does.
      return (held) => {
        const down = held.upgrade(ESTABLISHED);
        ctx.stats.downstream_cx_upgrades_total++;
        const socket = host.socket;
        socket.removeAllListeners('data');
        socket.removeAllListeners('timeout');
        socket.removeAllListeners('drain');
        socket.pause();
        if (down.pending !== null && down.pending.length > 0) socket.unshift(down.pending);
        virtual.handoff(socket, dst, (s) =>
          tcp(
            s,
            (upstream, upstreamHost) => relay(s, upstream, upstreamHost, null),
            () => s.destroy(),
          ),
        );
      };
    }
    return (held) => {
      const socket = host.socket;
      connectToCluster(
        cluster,
        1,
        () => socket.destroyed,
        (upstream, upstreamHost) => {
          const down = held.upgrade(ESTABLISHED);
          ctx.stats.downstream_cx_upgrades_total++;
          ctx.stats.downstream_cx_upgrades_active++;
          socket.once('close', () => ctx.stats.downstream_cx_upgrades_active--);
          relay(socket, upstream, upstreamHost, down.pending);
        },
        (reason) => {
          log.debug({ authority: head.authority, cluster: name, reason }, 'CONNECT: no upstream connection');
          const body = reason === 'no_healthy_upstream' ? 'no healthy upstream' : 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
          const reply = localReplyHead(ctx, 503, body, { connection: 'close' });
          held.upgrade(reply);
          socket.end(body);
        },
        head.authority,
      );
    };
  }
  const adopt = host.adoptHttp;
  if (adopt === undefined || !upgradeAllowed(hcm.upgradeConfigs, undefined, 'connect')) return undefined;
  return (held) => {
    const down = held.upgrade(ESTABLISHED);
    ctx.stats.downstream_cx_upgrades_total++;
    const socket = host.socket; // an HTTP/1.1 connection: the codec gave up this very socket
    // The tunnel is a new client connection: the codec that read the CONNECT lets go of it.
    socket.removeAllListeners('data');
    socket.removeAllListeners('timeout');
    socket.removeAllListeners('drain');
    if (down.pending !== null && down.pending.length > 0) socket.unshift(down.pending);
    adopt(socket, head.authority);
    socket.resume();
  };
}
