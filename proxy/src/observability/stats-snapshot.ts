/**
 * The stats registry as plain data, for `--concurrency N`: each worker process sends a
 * snapshot of its registry to the primary over IPC, the primary sums them (mergeStatsSnapshots)
 * and renders the sum through a registry rebuilt from it (registryFromSnapshot), so /stats and
 * /stats/prometheus show one set of stats, as Envoy's do over its worker threads. Counters and
 * gauges are both summed (a gauge such as `upstream_cx_active` is the sum of each worker's);
 * the server's own state (`live`, `uptime`) is the primary's. Pure functions, no I/O.
 */
import { ClusterStats, HttpStats, ListenerStats, OutlierStats, StatsRegistry, statEntries } from './stats.js';

type Numbers = Record<string, number>;

/** One process's stats, structured-clone and JSON safe. */
export interface StatsSnapshot {
  readonly clusters: Record<string, { readonly stats: Numbers; readonly outlier?: Numbers }>;
  readonly http: Record<string, Numbers>;
  /** Filters' scopes by full prefix; `hcm`: the connection manager prefix (the Prometheus label). */
  readonly rbac: Record<string, { readonly stats: Numbers; readonly hcm?: string }>;
  readonly listeners: Record<string, Numbers>;
  /** Per-worker listener stats (Envoy's `listener.<address>.worker_<N>.*`), by `<address>|<N>`. */
  readonly perWorker: Record<string, Numbers>;
  readonly totalConnections: number;
}

function numbers(o: object): Numbers {
  return Object.fromEntries(statEntries(o));
}

/** The registry's numbers as plain data. */
export function snapshotStats(r: StatsRegistry): StatsSnapshot {
  const clusters: Record<string, { stats: Numbers; outlier?: Numbers }> = {};
  for (const [name, s] of r.clusters) clusters[name] = { stats: numbers(s), ...(s.outlier !== undefined ? { outlier: numbers(s.outlier) } : {}) };
  const http: Record<string, Numbers> = {};
  for (const [prefix, s] of r.http) http[prefix] = numbers(s);
  const rbac: Record<string, { stats: Numbers; hcm?: string }> = {};
  for (const [prefix, s] of r.rbac) {
    const hcm = r.rbacHcmOf(prefix);
    rbac[prefix] = { stats: numbers(s), ...(hcm !== undefined ? { hcm } : {}) };
  }
  const listeners: Record<string, Numbers> = {};
  for (const [name, s] of r.listeners) listeners[name] = numbers(s);
  const perWorker: Record<string, Numbers> = {};
  for (const [key, s] of r.perWorker) perWorker[key] = { ...s };
  return { clusters, http, rbac, listeners, perWorker, totalConnections: r.server.total_connections };
}

function addInto(into: Numbers, from: Numbers): void {
  for (const k in from) into[k] = (into[k] ?? 0) + from[k];
}

/** The sum of several snapshots: every counter and gauge added by name. */
export function mergeStatsSnapshots(list: readonly StatsSnapshot[]): StatsSnapshot {
  const clusters: Record<string, { stats: Numbers; outlier?: Numbers }> = {};
  const http: Record<string, Numbers> = {};
  const rbac: Record<string, { stats: Numbers; hcm?: string }> = {};
  const listeners: Record<string, Numbers> = {};
  const perWorker: Record<string, Numbers> = {};
  let totalConnections = 0;
  for (const s of list) {
    for (const [name, c] of Object.entries(s.clusters)) {
      const into = (clusters[name] ??= { stats: {} });
      addInto(into.stats, c.stats);
      if (c.outlier !== undefined) addInto((into.outlier ??= {}), c.outlier);
    }
    for (const [prefix, h] of Object.entries(s.http)) addInto((http[prefix] ??= {}), h);
    for (const [prefix, f] of Object.entries(s.rbac)) {
      const into = (rbac[prefix] ??= { stats: {}, ...(f.hcm !== undefined ? { hcm: f.hcm } : {}) });
      addInto(into.stats, f.stats);
    }
    for (const [name, l] of Object.entries(s.listeners)) addInto((listeners[name] ??= {}), l);
    for (const [key, w] of Object.entries(s.perWorker)) addInto((perWorker[key] ??= {}), w);
    totalConnections += s.totalConnections;
  }
  return { clusters, http, rbac, listeners, perWorker, totalConnections };
}

/**
 * What a worker that exited leaves to the sum: its counters as last seen (so the summed
 * counters never go down when a worker is forked again), without its gauges (`*_active`: what
 * it held is gone with it) or its per-worker entries (the new worker takes the index afresh).
 */
export function retiredStats(s: StatsSnapshot): StatsSnapshot {
  const counters = (n: Numbers): Numbers => Object.fromEntries(Object.entries(n).filter(([k]) => !k.endsWith('_active') && !k.startsWith('circuit_breakers.')));
  const clusters: Record<string, { stats: Numbers; outlier?: Numbers }> = {};
  for (const [name, c] of Object.entries(s.clusters)) clusters[name] = { stats: counters(c.stats), ...(c.outlier !== undefined ? { outlier: counters(c.outlier) } : {}) };
  const http: Record<string, Numbers> = {};
  for (const [prefix, h] of Object.entries(s.http)) http[prefix] = counters(h);
  return { clusters, http, rbac: s.rbac, listeners: s.listeners, perWorker: {}, totalConnections: s.totalConnections };
}

/**
 * A registry holding a snapshot's numbers, to render with the registry's own /stats and
 * /stats/prometheus code; `server` (live, uptime start) is taken from the caller's registry.
 */
export function registryFromSnapshot(s: StatsSnapshot, server: StatsRegistry['server']): StatsRegistry {
  const r = new StatsRegistry();
  for (const [name, c] of Object.entries(s.clusters)) {
    const cs = Object.assign(r.cluster(name), c.stats) as ClusterStats;
    if (c.outlier !== undefined) cs.outlier = Object.assign(new OutlierStats(), c.outlier);
  }
  for (const [prefix, h] of Object.entries(s.http)) Object.assign(r.httpScope(prefix), h) as HttpStats;
  for (const [prefix, f] of Object.entries(s.rbac)) r.rbacScope(prefix, () => ({ ...f.stats }), f.hcm);
  for (const [name, l] of Object.entries(s.listeners)) Object.assign(r.listener(name), l) as ListenerStats;
  for (const [key, w] of Object.entries(s.perWorker)) r.perWorker.set(key, { ...w });
  r.server.live = server.live;
  r.server.uptime_start = server.uptime_start;
  r.server.total_connections = s.totalConnections;
  return r;
}
