/**
 * Envoy's RBAC filters in the proxy: `envoy.filters.http.rbac` per request, in the connection
 * manager before routing, and `envoy.filters.network.rbac` per connection, before tcp_proxy
 * dials the upstream. The rules were compiled by @minimesh/config (compile-rbac.ts); this
 * builds what they look at (addresses, the client's identity, the request) and keeps Envoy's
 * stats (`<prefix>rbac.allowed`, `.denied`, `.shadow_allowed`, `.shadow_denied`).
 *
 * One difference from Envoy: its network filter decides on the connection's first bytes
 * (ONE_TIME_ON_FIRST_BYTE), after tcp_proxy has dialled the upstream; minimesh decides when the
 * connection is accepted (everything a rule can look at is known then) and a denied client is
 * closed before any upstream connection exists, so a server-first protocol leaks nothing.
 */
import tls from 'node:tls';
import net from 'node:net';
import type { HttpConnectionManagerRt, RequestView } from '@minimesh/config/runtime';
import { evaluateRbac, plainAddress, RBAC_DENIED_BODY, rbacDeniedDetails, type RbacFilterRt, type RbacInput } from '@minimesh/config';
import type { StatsRegistry } from '../observability/stats.js';
import type { LocalReply } from '../router/local-reply.js';

/** Envoy's RBAC filter stats (one set per prefix). */
export class RbacStats {
  allowed = 0;
  denied = 0;
  shadow_allowed = 0;
  shadow_denied = 0;
}

/** A compiled filter with its stats, ready to run. */
export interface RbacRun {
  readonly filter: RbacFilterRt;
  readonly stats: RbacStats;
  readonly shadowStats: RbacStats;
}

export function rbacRuns(filters: readonly RbacFilterRt[] | undefined, registry: StatsRegistry): readonly RbacRun[] | undefined {
  if (filters === undefined || filters.length === 0) return undefined;
  return filters.map((filter) => ({ filter, stats: registry.rbacScope(filter.statPrefix, () => new RbacStats(), filter.hcmStatPrefix), shadowStats: registry.rbacScope(filter.shadowStatPrefix, () => new RbacStats(), filter.hcmStatPrefix) }));
}

/** Runs the filters in order; the policy that denied (or undefined for `[none]`) when one denies, else `false`. */
export function runRbac(runs: readonly RbacRun[], input: RbacInput): { policy: string | undefined } | false {
  for (const r of runs) {
    const { rules, shadowRules } = r.filter;
    if (shadowRules !== undefined) {
      if (evaluateRbac(shadowRules, input).allowed) r.shadowStats.shadow_allowed++;
      else r.shadowStats.shadow_denied++;
    }
    if (rules === undefined) continue;
    const d = evaluateRbac(rules, input);
    if (d.allowed) {
      r.stats.allowed++;
      continue;
    }
    r.stats.denied++;
    return { policy: d.policy };
  }
  return false;
}

/** `address:port` -> its parts (IPv6 addresses keep their colons). */
export function splitHostPort(s: string): { ip: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i < 0) return { ip: s, port: 0 };
  return { ip: plainAddress(s.slice(0, i).replace(/^\[|\]$/g, '')), port: Number(s.slice(i + 1)) || 0 };
}

/**
 * The client address the connection manager trusts (Envoy's downstream remote address):
 * with `use_remote_address` the peer; otherwise the x-forwarded-for entry `xff_num_trusted_hops`
 * from the right, else the peer.
 */
export function trustedClientIp(hcm: HttpConnectionManagerRt, peer: string, view: RequestView): string {
  if (hcm.useRemoteAddress) return peer;
  const xff: string[] = [];
  for (let i = 0; i < view.headerNames.length; i++) if (view.headerNames[i] === 'x-forwarded-for') xff.push(...view.headerValues[i].split(','));
  const entries = xff.map((s) => s.trim()).filter((s) => s !== '');
  const pick = entries[entries.length - 1 - hcm.xffNumTrustedHops];
  // An entry that is not an IP address is not trusted either (Envoy's getLastAddressFromXFF).
  return pick !== undefined && net.isIP(plainAddress(pick)) !== 0 ? plainAddress(pick) : peer;
}

/** What a stream knows of its connection (proxy/src/http/active-stream.ts DownstreamInfo). */
interface Downstream {
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly originalDst?: string;
  readonly peerPrincipal?: string;
  readonly requestedServerName?: string;
}

/** The HTTP filter: a 403 local reply when a filter denies the request, else undefined. */
export function authorizeRequest(runs: readonly RbacRun[], hcm: HttpConnectionManagerRt, downstream: Downstream, view: RequestView, metadata?: Readonly<Record<string, unknown>>): LocalReply | undefined {
  const peer = plainAddress(downstream.remoteAddress);
  const local = splitHostPort(downstream.originalDst ?? downstream.localAddress);
  const input: RbacInput = {
    request: view,
    directRemoteIp: peer,
    remoteIp: trustedClientIp(hcm, peer, view),
    localIp: local.ip,
    localPort: local.port,
    principal: downstream.peerPrincipal,
    sni: downstream.requestedServerName ?? '',
    metadata,
  };
  const denied = runRbac(runs, input);
  if (denied === false) return undefined;
  return { status: 403, body: RBAC_DENIED_BODY, flag: undefined, details: rbacDeniedDetails(denied.policy) };
}

/** The client's URI SAN on a mutual-TLS socket whose certificate verified, else undefined. */
export function tlsPeerPrincipal(socket: net.Socket): string | undefined {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return undefined;
  const san = socket.getPeerX509Certificate()?.subjectAltName ?? '';
  const uri = san.split(', ').find((s) => s.startsWith('URI:'));
  return uri?.slice(4);
}

/** The network filter: true when the connection may go on. */
export function authorizeConnection(runs: readonly RbacRun[], socket: net.Socket, originalDst?: string): boolean {
  const peer = plainAddress(socket.remoteAddress ?? '');
  const local = originalDst !== undefined ? splitHostPort(originalDst) : { ip: plainAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
  const sni = socket instanceof tls.TLSSocket ? ((socket as tls.TLSSocket & { servername?: string | false }).servername || '') : '';
  const input: RbacInput = { request: undefined, directRemoteIp: peer, remoteIp: peer, localIp: local.ip, localPort: local.port, principal: tlsPeerPrincipal(socket), sni, metadata: undefined };
  return runRbac(runs, input) === false;
}
