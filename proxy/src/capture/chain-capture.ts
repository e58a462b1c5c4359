/**
 * The original destination of a connection accepted by a capture listener with filter chains
 * (virtualInbound with Istio's per-port chains): Envoy's `original_dst` listener filter runs
 * first, so the chains are matched on the port the client dialled, and the TLS inspector then
 * peeks the ClientHello of that connection. A connection for one of the proxy's own ports is
 * refused (never reachable from outside); one that iptables did not redirect keeps the
 * listener's own port (Istio's `virtualInbound-blackhole` chain matches it).
 */
import type net from 'node:net';
import type { ListenerRt } from '@minimesh/config/runtime';
import { getOriginalDst, type OriginalDst } from './original-dst.js';
import { PROXY_OWN_PORTS } from './capture-connection.js';

export type CapturedDestination = { readonly refuse: true } | { readonly refuse: false; readonly dst: OriginalDst | undefined };

/** `dst` is undefined when the listener does not capture, or the socket was not redirected. */
export function capturedDestination(socket: net.Socket, config: ListenerRt, getDst: (s: net.Socket) => OriginalDst | undefined = getOriginalDst): CapturedDestination {
  if (config.capture === undefined) return { refuse: false, dst: undefined };
  const dst = getDst(socket);
  if (dst !== undefined && (PROXY_OWN_PORTS.has(dst.port) || dst.port === config.port)) return { refuse: true };
  return { refuse: false, dst };
}

/** `address:port` as the connection manager and RBAC take it (IPv6 in brackets). */
export const hostPort = (d: OriginalDst): string => (d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`);
