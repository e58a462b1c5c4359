/**
 * Upgrades (WebSocket and others) at the router: which requests ask for one, whether their
 * route and cluster let them, and the replies Envoy gives when they do not. An HTTP/2
 * extended CONNECT (`:protocol websocket`) reaches the router already in HTTP/1.1 form
 * (GET with `upgrade` and `connection: upgrade`, as Envoy's codec converts it).
 */
import { upgradeAllowed } from '@minimesh/config';
import type { ForwardActionRt, HttpConnectionManagerRt } from '@minimesh/config/runtime';
import { getJoinedHeader, getHeader, hasHeader, type RequestHeaders } from '../http/codec/headers.js';
import type { LocalReply } from './local-reply.js';
import type { HcmContext } from '../http/hcm-context.js';
import type { HttpProtocol, ResponseHeaders } from '../http/codec/headers.js';
import type { Cluster } from '../upstream/cluster.js';
import { buildDownstreamResponseHead } from './downstream-response-head.js';
import type { HeaderMutationLevel } from './header-mutation.js';
import type { HeaderFormatSource } from './header-format.js';
import { log } from '../log.js';

/** The upgrade a request asks for: its `Upgrade` header as sent, with its type lower-cased. */
export interface RequestedUpgrade {
  /** The `Upgrade` header value as the client sent it (forwarded as is). */
  readonly value: string;
  /** Lower case, as `upgrade_configs` are compared (`websocket`). */
  readonly type: string;
}

/**
 * A request with `Connection: upgrade` and an `Upgrade` header asks for an upgrade (Envoy's
 * Utility::isUpgrade): an HTTP/1.1 one, or an HTTP/2 extended CONNECT in its converted form
 * (a plain HTTP/2 request can carry neither header; the router asks only when the codec can
 * upgrade). An HTTP/1.0 request does not (its `Upgrade` header is dropped as hop-by-hop). A
 * request with a body is not upgraded either: its body keeps its HTTP framing, so no byte of
 * it can turn into tunnel data.
 */
export function requestedUpgrade(head: RequestHeaders): RequestedUpgrade | undefined {
  if (head.protocol === 'HTTP/1.0' || hasHeader(head, 'transfer-encoding')) return undefined;
  const length = getHeader(head, 'content-length');
  if (length !== undefined && length.trim() !== '0') return undefined;
  const value = getHeader(head, 'upgrade');
  if (value === undefined || value.trim() === '') return undefined;
  const connection = getJoinedHeader(head, 'connection');
  if (connection === undefined || !/(^|,)\s*upgrade\s*(,|$)/i.test(connection)) return undefined;
  return { value: value.trim(), type: value.trim().toLowerCase() };
}

/** Envoy's answer to an upgrade its route does not allow: 403, `upgrade_failed`, connection closed. */
export const UPGRADE_REFUSED: LocalReply = { status: 403, body: '', flag: undefined, details: 'upgrade_failed' };

/**
 * An upgrade towards a cluster that speaks HTTP/2 upstream needs extended CONNECT (RFC 8441),
 * which the cluster's `http2_protocol_options.allow_connect` turns on; without it, a 503.
 */
export const UPGRADE_OVER_H2_REFUSED: LocalReply = {
  status: 503,
  body: 'upgrade failed: the upstream cluster speaks HTTP/2 and its http2_protocol_options.allow_connect is off (no extended CONNECT)',
  flag: undefined,
  details: 'upgrade_failed{http2_extended_connect_not_supported}',
};

/** Whether the request's upgrade may go ahead on this route (the route's entry wins, else the HCM's). */
export function routeAllowsUpgrade(hcm: HttpConnectionManagerRt, action: ForwardActionRt, type: string): boolean {
  return upgradeAllowed(hcm.upgradeConfigs, action.upgradeConfigs, type);
}

/** The idle timeout of a tunnel: the route's `idle_timeout`, else the HCM's `stream_idle_timeout`. */
export function tunnelIdleTimeoutMs(hcm: HttpConnectionManagerRt, action: ForwardActionRt): number {
  return action.idleTimeoutMs > 0 ? action.idleTimeoutMs : hcm.streamIdleTimeoutMs;
}

/**
 * Why an upgrade may not go ahead (the reply to send), or undefined when it may: the route
 * must allow its type, and a cluster that speaks HTTP/2 upstream (for this request) must
 * allow extended CONNECT. Counts and logs a refusal.
 */
export function refuseUpgrade(
  ctx: HcmContext,
  action: ForwardActionRt,
  cluster: Cluster,
  upgrade: RequestedUpgrade,
  protocol: HttpProtocol,
): LocalReply | undefined {
  if (!routeAllowsUpgrade(ctx.hcm, action, upgrade.type)) {
    ctx.stats.downstream_rq_ws_on_non_ws_route++;
    return UPGRADE_REFUSED;
  }
  const c = cluster.config;
  const h2 = c.upstreamProtocol === 'http2' || (c.upstreamProtocol === 'downstream' && protocol === 'HTTP/2');
  if (h2 && c.upstreamHttp2?.allowConnect !== true) {
    log.warn(
      { cluster: c.name, upgrade: upgrade.type },
      'upgrade refused: the cluster speaks HTTP/2 upstream and its http2_protocol_options.allow_connect is off (no extended CONNECT)',
    );
    return UPGRADE_OVER_H2_REFUSED;
  }
  return undefined;
}

/** The 101 head for the client: the upstream's, through the response rules, with its upgrade headers. */
export function upgradeResponseHead(
  ctx: HcmContext,
  head: ResponseHeaders,
  mutations: readonly HeaderMutationLevel[],
  upstreamServiceTimeMs: number,
  requested: string,
  format?: HeaderFormatSource,
): ResponseHeaders {
  const out = buildDownstreamResponseHead({
    head,
    hcm: ctx.hcm,
    serverName: ctx.serverName,
    mutations,
    format,
    upstreamServiceTimeMs,
    metadataExchange: ctx.hcm.telemetry.metadataExchange,
    peerHeaders: undefined,
  });
  out.names.push('connection', 'upgrade');
  out.values.push('upgrade', getHeader(head, 'upgrade') ?? requested);
  return out;
}
