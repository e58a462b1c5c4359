/**
 * A cluster's `transport_socket` and `transport_socket_matches` -> ClusterTlsRt, and the
 * endpoint metadata the matches read (`filter_metadata["envoy.transport_socket_match"]`,
 * Istio's `{tlsMode: istio}` on endpoints of workloads with a sidecar).
 */
import type { Cluster } from '@minimesh/api';
import { allowOnly, join, structToJson, type Errors } from './errors.js';
import { compileUpstreamTransportSocket } from './compile-tls.js';
import type { ClusterTlsRt, TransportSocketMatchRt, UpstreamTlsRt } from './tls-runtime.js';

export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';

export function compileClusterTls(c: Cluster, path: string, errors: Errors): { tls?: ClusterTlsRt } {
  const transportSocket = compileUpstreamTransportSocket(c.transport_socket, join(path, 'transport_socket'), errors);
  const matches: TransportSocketMatchRt[] = [];
  (c.transport_socket_matches ?? []).forEach((m, i) => {
    const mp = `${join(path, 'transport_socket_matches')}[${i}]`;
    allowOnly(m, mp, ['name', 'match', 'transport_socket'], errors);
    if (!m.name) errors.add(join(mp, 'name'), 'must not be empty');
    const match = stringMap(m.match, join(mp, 'match'), errors);
    matches.push({ name: m.name ?? '', match, tls: compileUpstreamTransportSocket(m.transport_socket, join(mp, 'transport_socket'), errors) });
  });
  if (transportSocket === undefined && matches.every((m) => m.tls === undefined)) return {};
  return { tls: { transportSocket, matches } };
}

/** The endpoint's socket-match metadata, when it has some. */
export function socketMatchOf(md: { filter_metadata?: Record<string, unknown> } | null | undefined, path: string, errors: Errors): { socketMatch?: Record<string, string> } {
  const s = md?.filter_metadata?.[TRANSPORT_SOCKET_MATCH_KEY];
  return s === undefined ? {} : { socketMatch: stringMap(s, join(path, `filter_metadata["${TRANSPORT_SOCKET_MATCH_KEY}"]`), errors) };
}

/** A Struct of string values (a match, or an endpoint's socket-match metadata). */
function stringMap(s: unknown, path: string, errors: Errors): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s ? structToJson(s) : {})) {
    if (typeof v === 'string') out[k] = v;
    else errors.add(join(path, k), 'only string values are supported by minimesh');
  }
  return out;
}

/**
 * The TLS toward an endpoint: the first transport socket match whose every key the endpoint's
 * metadata holds with the same value, else the cluster's `transport_socket` (undefined = plaintext).
 */
export function upstreamTlsFor(tls: ClusterTlsRt | undefined, socketMatch: Readonly<Record<string, string>> | undefined): UpstreamTlsRt | undefined {
  if (tls === undefined) return undefined;
  for (const m of tls.matches) {
    let ok = true;
    for (const k in m.match) if (socketMatch?.[k] !== m.match[k]) ok = false;
    if (ok) return m.tls;
  }
  return tls.transportSocket;
}
