/**
 * A listener's `filter_chains` with their `filter_chain_match` and transport sockets, and
 * its `listener_filters` (tls_inspector, http_inspector) -> FilterChainRt[] and
 * ListenerInspectorsRt. The chain's filters (one HCM, or tcp_proxy) are compiled by the caller.
 */
import type { FilterChain, FilterChainMatch, ListenerFilter } from '@minimesh/api';
import { TYPE_URL } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { compileDownstreamTransportSocket } from './compile-tls.js';
import type { DownstreamTlsRt, FilterChainMatchRt, ListenerInspectorsRt } from './tls-runtime.js';

export const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
export const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';
export const ORIGINAL_DST_FILTER = 'envoy.filters.listener.original_dst';

export const ANY_CHAIN_MATCH: FilterChainMatchRt = { destinationPort: undefined, serverNames: [], transportProtocol: '', applicationProtocols: [] };

/** Whether a chain needs per-connection selection (a match or TLS) rather than the plain one-chain listener. */
export function chainNeedsSelection(fc: FilterChain): boolean {
  return fc.filter_chain_match != null || fc.transport_socket != null;
}

export function compileFilterChainMatch(m: FilterChainMatch | null | undefined, path: string, errors: Errors): FilterChainMatchRt {
  if (!m) return ANY_CHAIN_MATCH;
  const nyi = 'is not supported by minimesh yet';
  allowOnly(m, path, ['destination_port', 'transport_protocol', 'application_protocols', 'server_names'], errors, [], {
    prefix_ranges: `prefix_ranges ${nyi}`,
    source_prefix_ranges: `source_prefix_ranges ${nyi}`,
    direct_source_prefix_ranges: `direct_source_prefix_ranges ${nyi}`,
    source_ports: `source_ports ${nyi}`,
    address_suffix: `address_suffix ${nyi}`,
    suffix_len: `suffix_len ${nyi}`,
  });
  if (m.source_type && m.source_type !== 'ANY') errors.add(join(path, 'source_type'), `source_type ${nyi}`);
  const port = m.destination_port?.value;
  if (port !== undefined && (port < 1 || port > 65535)) errors.add(join(path, 'destination_port'), 'must be 1 to 65535');
  const tp = m.transport_protocol ?? '';
  if (tp !== '' && tp !== 'tls' && tp !== 'raw_buffer') errors.add(join(path, 'transport_protocol'), `must be "tls" or "raw_buffer" (got ${JSON.stringify(tp)})`);
  const serverNames = (m.server_names ?? []).map((n, i) => {
    if (n === '' || (n.includes('*') && !n.startsWith('*.'))) errors.add(`${join(path, 'server_names')}[${i}]`, `must be a name or a leading wildcard *.domain (got ${JSON.stringify(n)})`);
    return n.toLowerCase();
  });
  return { destinationPort: port, serverNames, transportProtocol: tp, applicationProtocols: m.application_protocols ?? [] };
}

/** A chain's match and TLS; the caller adds its filters. */
export function compileChainHead(fc: FilterChain, path: string, errors: Errors): { name: string; match: FilterChainMatchRt; tls: DownstreamTlsRt | undefined } {
  return {
    name: fc.name ?? '',
    match: compileFilterChainMatch(fc.filter_chain_match, join(path, 'filter_chain_match'), errors),
    tls: compileDownstreamTransportSocket(fc.transport_socket, join(path, 'transport_socket'), errors),
  };
}

/** Envoy refuses two chains with the same match ("multiple filter chains with the same matching rules"). */
export function checkDistinctMatches(matches: readonly FilterChainMatchRt[], path: string, errors: Errors): void {
  const seen = new Map<string, number>();
  matches.forEach((m, i) => {
    const key = JSON.stringify([m.destinationPort ?? 0, [...m.serverNames].sort(), m.transportProtocol, [...m.applicationProtocols].sort()]);
    const prev = seen.get(key);
    if (prev !== undefined) errors.add(`${path}[${i}].filter_chain_match`, `the same matching rules as filter_chains[${prev}]`);
    else seen.set(key, i);
  });
}

/**
 * `listener_filters`: tls_inspector and http_inspector feed chain matching; original_dst is
 * what `use_original_dst` does. A chain matching on TLS, SNI or ALPN turns the TLS inspector
 * on even when the config does not list it (Envoy adds it for such listeners).
 */
export function compileListenerFilters(lf: readonly ListenerFilter[] | undefined, matches: readonly FilterChainMatchRt[], path: string, errors: Errors): ListenerInspectorsRt {
  let tls = false;
  let http = false;
  (lf ?? []).forEach((f, i) => {
    const fp = `${path}[${i}]`;
    allowOnly(f, fp, ['name', 'typed_config'], errors, ['config_type']);
    const url = f.typed_config?.type_url;
    if (f.name === TLS_INSPECTOR || url === TYPE_URL.TlsInspector) tls = true;
    else if (f.name === HTTP_INSPECTOR || url === TYPE_URL.HttpInspector) http = true;
    else if (f.name !== ORIGINAL_DST_FILTER) errors.add(fp, `listener filter ${JSON.stringify(f.name)} is not supported by minimesh (only ${TLS_INSPECTOR}, ${HTTP_INSPECTOR}, ${ORIGINAL_DST_FILTER})`);
  });
  tls ||= matches.some((m) => m.transportProtocol === 'tls' || m.serverNames.length > 0 || (m.applicationProtocols.length > 0 && m.transportProtocol !== 'raw_buffer'));
  return { tls, http };
}
