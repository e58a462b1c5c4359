/**
 * A filter chain that ends in `envoy.filters.network.tcp_proxy` -> TcpProxyRt: the
 * connection's bytes go to one cluster, unparsed (Istio's listeners for `tcp-`, `mongo-`,
 * ... ports). An `istio.stats` network filter before it records Istio's TCP metrics
 * (`istio_tcp_*`), reporter by the listener's direction.
 */
import { TYPE_URL, unpackAny, type ListenerFilterConfig, type TcpProxy } from '@minimesh/api';
import { METADATA_EXCHANGE_FILTER, STATS_FILTER } from '@minimesh/mesh';
import { durationMs, wrapped } from './duration.js';
import { allowOnly, join, type Errors } from './errors.js';
import { compileIstioStats } from './compile-telemetry-filters.js';
import type { IstioStatsRt } from './telemetry-runtime.js';
import { compileNetworkRbac, NETWORK_RBAC_FILTER } from './compile-rbac.js';
import type { RbacFilterRt } from './rbac-runtime.js';
import { compileTcpMetadataExchange, type TcpMetadataExchangeRt } from './compile-tcp-metadata-exchange.js';

export type { TcpMetadataExchangeRt } from './compile-tcp-metadata-exchange.js';

export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';

export interface TcpProxyRt {
  readonly statPrefix: string;
  /** The one cluster every connection goes to (with `weightedClusters`: the first of them). */
  readonly cluster: string;
  /** `weighted_clusters`: each connection picks one by weight (pickTcpCluster). */
  readonly weightedClusters?: readonly { readonly name: string; readonly weight: number }[];
  /** `idle_timeout`: no bytes either way for this long closes both sides (default 1 h, 0 = none). */
  readonly idleTimeoutMs: number;
  /** `max_connect_attempts` (default 1): hosts tried before the connection is given up. */
  readonly maxConnectAttempts: number;
  /** Istio's TCP metrics (an `istio.stats` network filter before tcp_proxy). */
  readonly stats: IstioStatsRt | undefined;
  /** `envoy.filters.network.rbac` filters, in order (checked before the upstream is dialled). */
  readonly rbac?: readonly RbacFilterRt[];
  /** An `istio.metadata_exchange` network filter: the exchange runs when TLS negotiated its ALPN. */
  readonly peerExchange?: TcpMetadataExchangeRt;
}

/** Whether a filter is tcp_proxy (by name or by its typed config). */
export function isTcpProxyFilter(f: ListenerFilterConfig): boolean {
  return f.name === TCP_PROXY_FILTER || f.typed_config?.type_url === TYPE_URL.TcpProxy;
}

/** `filters` of one chain whose last filter is tcp_proxy; `path` names the chain's `filters`. */
export function compileTcpProxyChain(filters: readonly ListenerFilterConfig[], path: string, errors: Errors, direction: 'INBOUND' | 'OUTBOUND'): TcpProxyRt | undefined {
  let stats: IstioStatsRt | undefined;
  const rbac: RbacFilterRt[] = [];
  let peerExchange: TcpMetadataExchangeRt | undefined;
  for (let i = 0; i < filters.length - 1; i++) {
    const f = filters[i];
    const fp = `${path}[${i}]`;
    allowOnly(f, fp, ['name', 'typed_config'], errors, ['config_type']);
    if (f.name === STATS_FILTER) stats = compileIstioStats(f.typed_config, join(fp, 'typed_config'), errors, direction);
    else if (f.name === NETWORK_RBAC_FILTER || f.typed_config?.type_url === TYPE_URL.NetworkRbac) {
      const r = compileNetworkRbac(f.typed_config, fp, errors);
      if (r) rbac.push(r);
    } else if (f.name === METADATA_EXCHANGE_FILTER) peerExchange = compileTcpMetadataExchange(f.typed_config, join(fp, 'typed_config'), errors);
    else errors.add(fp, `network filter ${JSON.stringify(f.name)} is not supported by minimesh before ${TCP_PROXY_FILTER} (only ${METADATA_EXCHANGE_FILTER}, ${STATS_FILTER} and ${NETWORK_RBAC_FILTER})`);
  }
  const last = filters[filters.length - 1];
  const lp = `${path}[${filters.length - 1}]`;
  allowOnly(last, lp, ['name', 'typed_config'], errors, ['config_type']);
  if (last.typed_config?.type_url !== TYPE_URL.TcpProxy) {
    errors.add(join(lp, 'typed_config'), `expected ${TYPE_URL.TcpProxy}`);
    return undefined;
  }
  const tp = unpackAny<TcpProxy>(last.typed_config);
  const p = join(lp, 'typed_config');
  allowOnly(tp, p, ['stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout', 'max_connect_attempts'], errors, ['cluster_specifier'], {
    access_log: 'access logs of tcp_proxy are not supported by minimesh yet',
    tunneling_config: 'tunneling_config (CONNECT to the upstream) is not supported by minimesh',
  });
  if (!tp.stat_prefix) errors.add(join(p, 'stat_prefix'), 'must not be empty');
  const weighted = compileWeightedClusters(tp.weighted_clusters, join(p, 'weighted_clusters'), errors);
  if (!tp.cluster && weighted === undefined) errors.add(join(p, 'cluster'), 'must not be empty (or give weighted_clusters)');
  const attempts = wrapped(tp.max_connect_attempts, 1);
  if (attempts < 1) errors.add(join(p, 'max_connect_attempts'), 'must be at least 1');
  return {
    statPrefix: tp.stat_prefix ?? '',
    cluster: weighted?.[0].name ?? tp.cluster ?? '',
    ...(weighted !== undefined ? { weightedClusters: weighted } : {}),
    idleTimeoutMs: durationMs(tp.idle_timeout, 3_600_000, join(p, 'idle_timeout'), errors),
    maxConnectAttempts: attempts,
    stats,
    ...(rbac.length > 0 ? { rbac } : {}),
    ...(peerExchange !== undefined ? { peerExchange } : {}),
  };
}

function compileWeightedClusters(w: TcpProxy['weighted_clusters'], path: string, errors: Errors): TcpProxyRt['weightedClusters'] {
  if (!w) return undefined;
  allowOnly(w, path, ['clusters'], errors);
  const out = (w.clusters ?? []).map((c, i) => {
    allowOnly(c, `${join(path, 'clusters')}[${i}]`, ['name', 'weight'], errors);
    if (!c.name) errors.add(`${join(path, 'clusters')}[${i}].name`, 'must not be empty');
    return { name: c.name ?? '', weight: c.weight ?? 0 };
  });
  if (out.length === 0) errors.add(join(path, 'clusters'), 'at least one cluster is required');
  else if (out.every((c) => c.weight === 0)) errors.add(join(path, 'clusters'), 'the weights must not all be 0');
  return out.length > 0 ? out : undefined;
}

/** The cluster of one connection: `cluster`, or one of `weightedClusters` picked by weight (`rand` in [0, 1)). */
export function pickTcpCluster(tp: TcpProxyRt, rand: number = Math.random()): string {
  const w = tp.weightedClusters;
  if (w === undefined) return tp.cluster;
  const total = w.reduce((n, c) => n + c.weight, 0);
  let at = rand * total;
  for (const c of w) {
    if (at < c.weight) return c.name;
    at -= c.weight;
  }
  return w[w.length - 1].name;
}
