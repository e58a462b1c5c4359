/**
 * The proxy's counters and gauges, declared once in typed lists (as Envoy's ALL_*_STATS):
 * the hot path bumps plain number fields; the admin API renders them as Envoy does,
 * `cluster.<name>.upstream_rq_total: 3` on /stats and
 * `envoy_cluster_upstream_rq_total{envoy_cluster_name="<name>"} 3` on /stats/prometheus.
 */
import { eventLoopDelayLines } from './event-loop-delay.js';
import { BREAKER_GAUGES, breakerEntries, type BreakerState } from './circuit-breaker-stats.js';
import type { ConfigUpdateStats } from './config-update-stats.js';

/** Counters and gauges of one upstream cluster (`cluster.<name>.*`). */
export class ClusterStats {
  upstream_cx_total = 0;
  upstream_cx_http1_total = 0;
  upstream_cx_http2_total = 0;
  upstream_cx_active = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_connect_timeout = 0;
  upstream_cx_destroy = 0;
  upstream_cx_overflow = 0;
  upstream_cx_none_healthy = 0;
  upstream_cx_protocol_error = 0;
  upstream_rq_total = 0;
  upstream_rq_active = 0;
  upstream_rq_completed = 0;
  upstream_rq_1xx = 0;
  upstream_rq_2xx = 0;
  upstream_rq_3xx = 0;
  upstream_rq_4xx = 0;
  upstream_rq_5xx = 0;
  upstream_rq_pending_total = 0;
  upstream_rq_pending_active = 0;
  upstream_rq_pending_overflow = 0;
  /** Requests waiting for a connection that failed with it (Envoy's `upstream_rq_pending_failure_eject`). */
  upstream_rq_pending_failure_eject = 0;
  upstream_rq_timeout = 0;
  upstream_rq_per_try_timeout = 0;
  upstream_rq_rx_reset = 0;
  upstream_rq_tx_reset = 0;
  upstream_rq_retry = 0;
  upstream_rq_retry_success = 0;
  upstream_rq_retry_overflow = 0;
  upstream_rq_retry_limit_exceeded = 0;
  upstream_rq_cancelled = 0;
  /** TLS to the endpoints (transport sockets): handshakes done, and failed. */
  'ssl.handshake' = 0;
  'ssl.connection_error' = 0;
  /** Requests balanced over all hosts because too few were healthy (panic mode). */
  lb_healthy_panic = 0;
  /** `outlier_detection.*`, while the cluster has outlier detection. */
  outlier: OutlierStats | undefined = undefined;
  /** The live cluster's breaker counts (`circuit_breakers.*`, computed when rendered); set by the cluster. */
  breakers: (() => BreakerState) | undefined = undefined;

  /** Stats computed when rendered (see statEntries). */
  computedStats(): [string, number][] {
    return this.breakers === undefined ? [] : breakerEntries(this.breakers());
  }
  /** `update_*` (membership updates), once the cluster resolves names (DNS clusters). */
  updates: ConfigUpdateStats | undefined = undefined;

  /** Bumps `upstream_rq_<N>xx` (a switch: no string built per response). */
  countResponse(status: number): void {
    switch (responseClassField(status)) {
      case 1: this.upstream_rq_1xx++; break;
      case 2: this.upstream_rq_2xx++; break;
      case 3: this.upstream_rq_3xx++; break;
      case 4: this.upstream_rq_4xx++; break;
      default: this.upstream_rq_5xx++;
    }
  }
}

/** Envoy's outlier detection stats (`cluster.<name>.outlier_detection.*`). */
export class OutlierStats {
  ejections_active = 0;
  ejections_overflow = 0;
  ejections_enforced_total = 0;
  ejections_enforced_consecutive_5xx = 0;
  ejections_detected_consecutive_5xx = 0;
  ejections_enforced_consecutive_gateway_failure = 0;
  ejections_detected_consecutive_gateway_failure = 0;
  ejections_enforced_consecutive_local_origin_failure = 0;
  ejections_detected_consecutive_local_origin_failure = 0;
}

/** Counters of a listener that picks filter chains (`listener.<address>_<port>.*`). */
export class ListenerStats {
  no_filter_chain_match = 0;
  'ssl.handshake' = 0;
  'ssl.connection_error' = 0;
}

/** Which fields are gauges (the rest are counters). */
const GAUGES = new Set(['upstream_cx_active', 'upstream_rq_active', 'upstream_rq_pending_active', 'downstream_cx_active', 'downstream_rq_active', 'downstream_cx_upgrades_active', ...BREAKER_GAUGES]);

/** Counters and gauges of one HTTP connection manager (`http.<stat_prefix>.*`). */
export class HttpStats {
  downstream_cx_total = 0;
  downstream_cx_active = 0;
  downstream_cx_destroy_remote = 0;
  downstream_cx_protocol_error = 0;
  downstream_cx_idle_timeout = 0;
  downstream_cx_drain_close = 0;
  downstream_cx_rx_bytes_total = 0;
  downstream_cx_tx_bytes_total = 0;
  downstream_cx_upgrades_total = 0;
  downstream_cx_upgrades_active = 0;
  downstream_rq_ws_on_non_ws_route = 0;
  downstream_rq_total = 0;
  downstream_rq_active = 0;
  downstream_rq_completed = 0;
  downstream_rq_1xx = 0;
  downstream_rq_2xx = 0;
  downstream_rq_3xx = 0;
  downstream_rq_4xx = 0;
  downstream_rq_5xx = 0;
  downstream_rq_timeout = 0;
  downstream_rq_max_duration_reached = 0;
  downstream_rq_header_timeout = 0;
  downstream_rq_rx_reset = 0;
  downstream_rq_too_large = 0;
  no_route = 0;
  no_cluster = 0;
  rq_redirect = 0;
  rq_direct_response = 0;

  /** Bumps `downstream_rq_<N>xx`. */
  countResponse(status: number): void {
    switch (responseClassField(status)) {
      case 1: this.downstream_rq_1xx++; break;
      case 2: this.downstream_rq_2xx++; break;
      case 3: this.downstream_rq_3xx++; break;
      case 4: this.downstream_rq_4xx++; break;
      default: this.downstream_rq_5xx++;
    }
  }
}

type StatFields<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];

/** The numeric fields of a stats object (what /stats lists). */
export function statEntries(s: object): [string, number][] {
  const out = Object.entries(s).filter((e): e is [string, number] => typeof e[1] === 'number');
  if (s instanceof ClusterStats) out.push(...s.computedStats());
  return out;
}
export type ClusterStat = StatFields<ClusterStats>;
export type HttpStat = StatFields<HttpStats>;

/** Bumps `<prefix>_rq_Nxx`. */
export function responseClassField(status: number): 1 | 2 | 3 | 4 | 5 {
  const c = Math.floor(status / 100);
  return (c < 1 ? 5 : c > 5 ? 5 : c) as 1 | 2 | 3 | 4 | 5;
}

/** Everything the admin API lists. Scopes are registered once per config. */
export class StatsRegistry {
  readonly clusters = new Map<string, ClusterStats>();
  readonly http = new Map<string, HttpStats>();
  /** HTTP and network filters' stats by full prefix (`http.<hcm>.rbac.`, `tcp.rbac.`, `http.<hcm>.jwt_authn.`). */
  readonly rbac = new Map<string, object>();
  readonly listeners = new Map<string, ListenerStats>();
  readonly server = { total_connections: 0, live: 1, uptime_start: Date.now() };
  /**
   * With `--concurrency N`: Envoy's per-worker listener stats, by `<address>_<port>|<worker>`
   * (`downstream_cx_total`, `downstream_cx_active`); the primary fills it from its workers.
   */
  readonly perWorker = new Map<string, Record<string, number>>();

  cluster(name: string): ClusterStats {
    let s = this.clusters.get(name);
    if (s === undefined) this.clusters.set(name, (s = new ClusterStats()));
    return s;
  }

  /** `address_port` names the listener, as Envoy's stat prefix does. */
  listener(name: string): ListenerStats {
    let s = this.listeners.get(name);
    if (s === undefined) this.listeners.set(name, (s = new ListenerStats()));
    return s;
  }

  httpScope(prefix: string): HttpStats {
    let s = this.http.get(prefix);
    if (s === undefined) this.http.set(prefix, (s = new HttpStats()));
    return s;
  }

  /** The connection manager of an HTTP RBAC prefix (its Prometheus label). */
  private readonly rbacHcm = new Map<string, string>();

  rbacScope<T extends object>(prefix: string, make: () => T, hcmPrefix?: string): T {
    let s = this.rbac.get(prefix) as T | undefined;
    if (s === undefined) this.rbac.set(prefix, (s = make()));
    if (hcmPrefix !== undefined) this.rbacHcm.set(prefix, hcmPrefix);
    return s;
  }

  /** The connection manager prefix of an HTTP filter scope (undefined: a network filter's). */
  rbacHcmOf(prefix: string): string | undefined {
    return this.rbacHcm.get(prefix);
  }

  /** Envoy's `/stats` text: `name: value`, sorted. */
  renderText(filter?: RegExp): string {
    const lines: string[] = [];
    for (const [name, s] of this.clusters) {
      for (const [k, v] of statEntries(s)) lines.push(`cluster.${name}.${k}: ${v}`);
      if (s.outlier !== undefined) for (const [k, v] of statEntries(s.outlier)) lines.push(`cluster.${name}.outlier_detection.${k}: ${v}`);
      if (s.updates !== undefined) for (const [k, v] of statEntries(s.updates)) lines.push(`cluster.${name}.${k}: ${v}`);
    }
    for (const [prefix, s] of this.http) {
      for (const [k, v] of statEntries(s)) lines.push(`http.${prefix}.${k}: ${v}`);
    }
    for (const [prefix, s] of this.rbac) for (const [k, v] of statEntries(s)) lines.push(`${prefix}${k}: ${v}`);
    for (const [name, s] of this.listeners) for (const [k, v] of statEntries(s)) lines.push(`listener.${name}.${k}: ${v}`);
    for (const [key, s] of this.perWorker) {
      const [name, worker] = key.split('|');
      for (const [k, v] of Object.entries(s)) lines.push(`listener.${name}.worker_${worker}.${k}: ${v}`);
    }
    lines.push(`server.live: ${this.server.live}`);
    lines.push(`server.uptime: ${Math.floor((Date.now() - this.server.uptime_start) / 1000)}`);
    lines.push(`server.total_connections: ${this.server.total_connections}`);
    lines.push(...eventLoopDelayLines());
    lines.sort();
    return (filter ? lines.filter((l) => filter.test(l.slice(0, l.indexOf(':')))) : lines).join('\n') + '\n';
  }

  /** Envoy's `/stats/prometheus`: tag-extracted names, one TYPE line per metric. */
  renderPrometheus(): string {
    const families = new Map<string, { type: string; samples: string[] }>();
    const add = (metric: string, type: string, labels: string, value: number): void => {
      let f = families.get(metric);
      if (f === undefined) families.set(metric, (f = { type, samples: [] }));
      f.samples.push(`${metric}{${labels}} ${value}`);
    };
    for (const [name, s] of this.clusters) {
      const label = `envoy_cluster_name="${escapeLabel(name)}"`;
      for (const [k, v] of statEntries(s)) {
        const m = /^upstream_rq_([1-5])xx$/.exec(k);
        if (m !== null) add('envoy_cluster_upstream_rq_xx', 'counter', `envoy_response_code_class="${m[1]}",${label}`, v);
        else add(`envoy_cluster_${k.replace(/\./g, '_')}`, GAUGES.has(k) ? 'gauge' : 'counter', label, v);
      }
      if (s.outlier !== undefined) for (const [k, v] of statEntries(s.outlier)) add(`envoy_cluster_outlier_detection_${k}`, k === 'ejections_active' ? 'gauge' : 'counter', label, v);
      if (s.updates !== undefined) for (const [k, v] of statEntries(s.updates)) add(`envoy_cluster_${k}`, 'counter', label, v);
    }
    for (const [prefix, s] of this.http) {
      const label = `envoy_http_conn_manager_prefix="${escapeLabel(prefix)}"`;
      for (const [k, v] of statEntries(s)) {
        const m = /^downstream_rq_([1-5])xx$/.exec(k);
        if (m !== null) add('envoy_http_downstream_rq_xx', 'counter', `envoy_response_code_class="${m[1]}",${label}`, v);
        else add(`envoy_http_${k}`, GAUGES.has(k) ? 'gauge' : 'counter', label, v);
      }
    }
    for (const [prefix, s] of this.rbac) {
      // `http.<hcm>.rbac.<rules prefix>X` -> envoy_http_rbac_<rules prefix>X{envoy_http_conn_manager_prefix}; `tcp.rbac.X` -> envoy_tcp_rbac_X.
      const hcm = this.rbacHcm.get(prefix);
      const rest = hcm !== undefined ? prefix.slice(`http.${hcm}.`.length) : prefix;
      for (const [k, v] of statEntries(s)) {
        const metric = `envoy_${hcm !== undefined ? 'http_' : ''}${rest.replace(/[^a-zA-Z0-9_]/g, '_')}${k}`;
        add(metric, 'counter', hcm !== undefined ? `envoy_http_conn_manager_prefix="${escapeLabel(hcm)}"` : '', v);
      }
    }
    for (const [name, s] of this.listeners) for (const [k, v] of statEntries(s)) add(`envoy_listener_${k.replace('.', '_')}`, 'counter', `envoy_listener_address="${escapeLabel(name)}"`, v);
    for (const [key, s] of this.perWorker) {
      const [name, worker] = key.split('|');
      for (const [k, v] of Object.entries(s)) add(`envoy_listener_worker_${k}`, k.endsWith('_active') ? 'gauge' : 'counter', `envoy_listener_address="${escapeLabel(name)}",envoy_worker_id="${worker}"`, v);
    }
    const out: string[] = [];
    for (const [metric, f] of [...families].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      out.push(`# TYPE ${metric} ${f.type}`, ...f.samples);
    }
    out.push('# TYPE envoy_server_live gauge', `envoy_server_live{} ${this.server.live}`);
    out.push('# TYPE envoy_server_uptime gauge', `envoy_server_uptime{} ${Math.floor((Date.now() - this.server.uptime_start) / 1000)}`);
    return out.join('\n') + '\n';
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
